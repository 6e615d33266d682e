import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { rotateHubKey } from "../hub/hub_key_rotation.ts";
import { startRealHub } from "./testing/real_hub.ts";
import { encodeState, type PreviousHubKey, readState as readClientState } from "./client_state.ts";
import { newClient, runCli, tempDir } from "./testing/run.ts";

const pinOf = async (c: string) =>
  Object.values(JSON.parse(await Deno.readTextFile(`${c}/state.json`)).pins)[0];

Deno.test("a client moves its hub-key pin only through a CHECKPOINT signed by the old and the new key", async () => {
  const t = await tempDir();
  try {
    const dir = `${t.path}/hub`;
    let hub = await startRealHub(dir, { checkpointEvery: 2 });
    const oldPk = toHex(hub.hubPk);
    const inWindow = await newClient(t.path, "in-window");
    const late = await newClient(t.path, "late");
    for (const c of [inWindow, late]) {
      assert.equal(
        (await runCli(["bench", "send", "--hub", dir, "--client", c, "--stream", "rot", "--count", "1"]))
          .code,
        0,
      );
    }
    // Receipts from before the rotation verify only under the old key: the clients catch up before it.
    for (const c of [inWindow, late]) {
      assert.equal((await runCli(["resync", "--hub", dir, "--client", c, "--stream", "rot"])).code, 0);
    }
    await hub.close();
    const now = Math.floor(Date.now() / 1000);
    const { current } = await rotateHubKey(dir, 3600, now);

    // After the window: the hub's CHECKPOINTs carry only the new key's signature; the pin does not move.
    hub = await startRealHub(dir, { now: () => (now + 7200) * 1000 });
    let r = await runCli(["verify-state", "--hub", dir, "--client", late, "--stream", "rot"]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /E\.SIG: Hub key changed .* no CHECKPOINT signed by both keys/);
    assert.equal((await pinOf(late) as { hub_pk: string }).hub_pk, oldPk);
    await hub.close();

    // In the window: the head's CHECKPOINT carries both signatures; the client accepts the new key and goes on.
    hub = await startRealHub(dir, { checkpointEvery: 2 });
    r = await runCli([
      "bench",
      "send",
      "--hub",
      dir,
      "--client",
      inWindow,
      "--stream",
      "rot",
      "--count",
      "1",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await pinOf(inWindow) as { hub_pk: string }).hub_pk, toHex(current));
    r = await runCli(["verify-state", "--hub", dir, "--client", inWindow, "--stream", "rot"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await hub.close();
  } finally {
    await t.cleanup();
  }
});

Deno.test("after a rotation a client reads old-key items it had not fetched, up to the rotation CHECKPOINT only", async () => {
  const t = await tempDir();
  try {
    const reader = await newClient(t.path, "reader");
    const writer = await newClient(t.path, "writer");
    const dir = `${t.path}/hub`;
    let hub = await startRealHub(dir, { checkpointEvery: 2 });
    const oldPk = toHex(hub.hubPk);
    const send = (c: string, n: number) =>
      runCli(["bench", "send", "--hub", dir, "--client", c, "--stream", "rot", "--count", String(n)]);
    assert.equal((await send(reader, 1)).code, 0);
    assert.equal((await runCli(["resync", "--hub", dir, "--client", reader, "--stream", "rot"])).code, 0);
    assert.equal((await send(writer, 3)).code, 0); // stream_seq 2..4, signed by the old key, unseen by reader
    await hub.close();
    const { current } = await rotateHubKey(dir, 3600, Math.floor(Date.now() / 1000));
    hub = await startRealHub(dir, { checkpointEvery: 2 });
    try {
      // Stream re-pins through the rotation CHECKPOINT (upto_seq 4) and verifies the old key's items 1..4.
      const streamAll = () =>
        runCli(["stream", "--hub", dir, "--client", reader, "--stream", "rot", "--json"]);
      let r = await streamAll();
      assert.equal(r.code, 0, r.stderr);
      const state = () => readClientState(reader);
      const entry = Object.values((await state()).hubs)[0]!;
      assert.equal(entry.hub_pk, toHex(current));
      const label = Object.keys(entry.labels)[0]!;
      assert.deepEqual(entry.previous_keys, [{ hub_pk: oldPk, upto_seq: { [label]: 4 } }]);
      assert.equal(entry.labels[label]!.last_stream_seq, 4);
      // New items are the new key's; a resync from scratch verifies the old and the new ones.
      assert.equal((await send(writer, 1)).code, 0);
      r = await runCli(["resync", "--hub", dir, "--client", reader, "--stream", "rot", "--from-scratch"]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /divergence/);
      assert.match(r.stdout, /replayed: 5/);
      assert.equal((await runCli(["stream", "--hub", dir, "--client", reader, "--stream", "rot"])).code, 0);

      // The old key only up to its bound: with the bound lowered to 2, item 3 is refused.
      const edit = async (f: (p: PreviousHubKey) => void) => {
        const s = await state();
        f(Object.values(s.hubs)[0]!.previous_keys![0]!);
        await Deno.writeTextFile(`${reader}/state.json`, encodeState(s));
      };
      await edit((p) => (p.upto_seq[label] = 2));
      r = await runCli([
        "stream",
        "--hub",
        dir,
        "--client",
        reader,
        "--stream",
        "rot",
        "--from",
        "1",
        "--to",
        "2",
      ]);
      assert.equal(r.code, 0, r.stderr);
      r = await runCli(["stream", "--hub", dir, "--client", reader, "--stream", "rot", "--from", "1"]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /E\.SIG: RECEIPT\.hub_sig does not verify under the hub key/);
      // A key that was never pinned is refused.
      await edit((p) => {
        p.hub_pk = "ab".repeat(32);
        p.upto_seq[label] = 4;
      });
      r = await runCli(["stream", "--hub", dir, "--client", reader, "--stream", "rot", "--from", "1"]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /E\.SIG: RECEIPT\.hub_sig does not verify under the hub key/);
    } finally {
      await hub.close();
    }
  } finally {
    await t.cleanup();
  }
});
