import assert from "node:assert/strict";
import { decodeCheckpoint, hasWitness, toHex, verifyCheckpointSig } from "../core/mod.ts";
import { http, startTestHub, submit, Writer } from "../tests/fixture.ts";
import { fsckMain, hubMain } from "./commands.ts";
import { captureIo } from "../cmd/mod.ts";
import { HUB_KEY_FILE, loadOrCreateHubKey } from "./hub_key.ts";
import { PREVIOUS_KEYS_FILE, readPreviousKeys, rotateHubKey } from "./hub_key_rotation.ts";

const T0 = 1_800_000_000;

async function latest(url: string, label: Uint8Array) {
  const r = await http(`${url}/checkpoint_latest?label=${toHex(label)}`);
  assert.equal(r.status, 200);
  return decodeCheckpoint(r.body);
}

Deno.test("rotate-key keeps the old key; in the window CHECKPOINTs carry old and new signatures, after it only the new", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-rotate-" });
  try {
    const w = new Writer("t/rotate");
    let hub = await startTestHub(dir, { checkpointEvery: 2 }, { now: () => T0 * 1000 });
    const oldPk = hub.hubKey.public;
    for (let i = 0; i < 2; i++) assert.equal((await submit(hub.url, w.msg())).status, 200);
    await hub.settled();
    assert.equal((await latest(hub.url, w.label)).witnessSigs, undefined);
    // Refused while the hub runs (it holds the data dir lock).
    await assert.rejects(rotateHubKey(dir, 3600, T0), /in use/);
    await hub.close();

    const r = await rotateHubKey(dir, 3600, T0 + 10);
    assert.deepEqual(r.old, oldPk);
    const prev = await readPreviousKeys(dir);
    assert.deepEqual(prev.map((p) => [toHex(p.key.public), p.rotatedAt, p.windowSec]), [[
      toHex(oldPk),
      T0 + 10,
      3600,
    ]]);
    assert.deepEqual((await loadOrCreateHubKey(dir)).key.public, r.current);
    // A second rotation inside the window is refused and changes nothing.
    const before = await Deno.readFile(`${dir}/${HUB_KEY_FILE}`);
    await assert.rejects(rotateHubKey(dir, 3600, T0 + 20), /rotation window .* is open until/);
    assert.deepEqual(await Deno.readFile(`${dir}/${HUB_KEY_FILE}`), before);

    // In the window: the head is re-checkpointed at start, hub_sig by the new key, witness sigs by both keys.
    hub = await startTestHub(dir, { checkpointEvery: 2 }, { now: () => (T0 + 100) * 1000 });
    assert.equal(
      JSON.parse(new TextDecoder().decode((await http(hub.url + "/info")).body)).hub_pk,
      toHex(r.current),
    );
    let cp = await latest(hub.url, w.label);
    assert.equal(cp.uptoSeq, 2);
    assert.ok(verifyCheckpointSig(cp, r.current));
    assert.ok(hasWitness(cp, oldPk) && hasWitness(cp, r.current));
    for (let i = 0; i < 2; i++) assert.equal((await submit(hub.url, w.msg())).status, 200);
    await hub.settled();
    cp = await latest(hub.url, w.label);
    assert.equal(cp.uptoSeq, 4);
    assert.ok(hasWitness(cp, oldPk) && hasWitness(cp, r.current));
    await hub.close();

    // After the window the old key is retired: new CHECKPOINTs carry no signature of it.
    hub = await startTestHub(dir, { checkpointEvery: 2 }, { now: () => (T0 + 3700) * 1000 });
    for (let i = 0; i < 2; i++) assert.equal((await submit(hub.url, w.msg())).status, 200);
    await hub.settled();
    cp = await latest(hub.url, w.label);
    assert.equal(cp.uptoSeq, 6);
    assert.ok(verifyCheckpointSig(cp, r.current));
    assert.equal(cp.witnessSigs, undefined);
    await hub.close();

    // fsck accepts the entries and CHECKPOINTs signed by the old key.
    const io = captureIo({});
    assert.equal(await fsckMain(["--data-dir", dir], io), 0, io.stdout() + io.stderr());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a rotation cut short after the old key was listed leaves the old key current and can be redone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-rotate-" });
  try {
    const { key: old } = await loadOrCreateHubKey(dir);
    const oldFile = await Deno.readFile(`${dir}/${HUB_KEY_FILE}`);
    await rotateHubKey(dir, 60, T0);
    // The crash: hub_key.previous lists the old key, hub_key was never replaced.
    await Deno.writeFile(`${dir}/${HUB_KEY_FILE}`, oldFile, { mode: 0o600 });
    const hub = await startTestHub(dir, {}, { now: () => (T0 + 1) * 1000 });
    try {
      assert.deepEqual(hub.hubKey.public, old.public);
    } finally {
      await hub.close();
    }
    const r = await rotateHubKey(dir, 60, T0 + 2);
    assert.deepEqual(r.old, old.public);
    const prev = await readPreviousKeys(dir);
    assert.deepEqual(prev.map((p) => toHex(p.key.public)), [toHex(old.public)]);
    assert.ok((await Deno.stat(`${dir}/${PREVIOUS_KEYS_FILE}`)).mode! & 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotate-key --key-file (spec 000 veen-hub-keys-next): installs, is a no-op again, refuses a previous key", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-rotate-next-" });
  const keyOf = async (name: string) => {
    const d = `${root}/${name}`;
    await Deno.mkdir(d);
    await loadOrCreateHubKey(d);
    return { file: `${d}/${HUB_KEY_FILE}`, bytes: await Deno.readFile(`${d}/${HUB_KEY_FILE}`) };
  };
  const [first, next, bad] = [await keyOf("k1"), await keyOf("k2"), `${root}/bad`];
  await Deno.writeFile(bad, first.bytes.map((b, i) => i === first.bytes.length - 1 ? b ^ 1 : b));
  const dir = `${root}/data`;
  await Deno.mkdir(dir);
  const run = async (file: string, env: Record<string, string> = {}) => {
    const io = captureIo(env);
    const code = await hubMain(["rotate-key", "--data-dir", dir, "--key-file", file, "--json"], io);
    const out = io.out.join("");
    return { code, out: out === "" ? undefined : JSON.parse(out), err: io.err.join("") };
  };
  try {
    const installed = await run(first.file);
    assert.equal(installed.code, 0, installed.err);
    assert.equal(installed.out.rotated, false);
    assert.deepEqual(await Deno.readFile(`${dir}/${HUB_KEY_FILE}`), first.bytes);
    const again = await run(first.file);
    assert.deepEqual([again.code, again.out.rotated], [0, false]);
    assert.deepEqual(await readPreviousKeys(dir), []);
    const rotated = await run(next.file, { VEEN_ROTATION_WINDOW_SEC: "600" });
    assert.deepEqual([rotated.code, rotated.out.rotated], [0, true]);
    assert.equal(rotated.out.window_until - rotated.out.rotated_at, 600, "the hub's rotation_window_sec");
    assert.deepEqual(
      await Deno.readFile(`${dir}/${HUB_KEY_FILE}`),
      next.bytes,
      "byte for byte: cmp sees no change",
    );
    const prev = await readPreviousKeys(dir);
    assert.deepEqual(prev.map((p) => p.windowSec), [600]);
    const back = await run(first.file);
    assert.equal(back.code, 4);
    assert.equal(back.out.code, "E.AUTH");
    assert.match(
      back.out.detail,
      /^Key file holds [0-9a-f]{16}, a previous key of this hub: refusing to rotate back$/,
    );
    const corrupt = await run(bad);
    assert.notEqual(corrupt.code, 0);
    assert.deepEqual(await Deno.readFile(`${dir}/${HUB_KEY_FILE}`), next.bytes);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
