import assert from "node:assert/strict";
import { MemoryStore } from "./memory_store.ts";
import { errorCode, http, quietLogger, submit, testConfig, Writer } from "../tests/fixture.ts";
import { startHub } from "./hub.ts";

Deno.test("a failed commit refuses the batch with E.UNAVAILABLE, poisons the hub and stops it", async () => {
  const dir = await Deno.makeTempDir();
  const store = new MemoryStore();
  let fatal: unknown;
  const hub = await startHub(testConfig(dir), { logger: quietLogger(), store, onFatal: (e) => (fatal = e) });
  try {
    const w = new Writer("t/fail");
    assert.equal((await submit(hub.url, w.msg())).status, 200);
    store.failNextCommit = new Error("disk on fire");
    const r = await submit(hub.url, w.msg());
    assert.deepEqual([r.status, errorCode(r)], [503, "E.UNAVAILABLE"]);
    assert.ok(fatal instanceof Error);
    await hub.finished;
    assert.equal(store.stats().entries, 1, "nothing of the failed batch was stored");
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("receipts are released only after the store's commit resolves", async () => {
  const dir = await Deno.makeTempDir();
  const store = new MemoryStore();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const orig = store.commit.bind(store);
  store.commit = async (b) => {
    await gate;
    return orig(b);
  };
  const hub = await startHub(testConfig(dir), { logger: quietLogger(), store });
  try {
    let answered = false;
    const p = submit(hub.url, new Writer("t/gate").msg()).then((r) => ((answered = true), r));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(answered, false, "no receipt before the commit is durable");
    release();
    assert.equal((await p).status, 200);
    assert.equal((await http(hub.url + "/readyz")).status, 200);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});
