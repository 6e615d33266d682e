import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { rotateHubKey } from "../hub/hub_key_rotation.ts";
import { startRealHub } from "./testing/real_hub.ts";
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
