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
  let entered!: () => void;
  const committing = new Promise<void>((r) => (entered = r));
  const orig = store.commit.bind(store);
  store.commit = async (b) => {
    entered();
    await gate;
    return orig(b);
  };
  const hub = await startHub(testConfig(dir), { logger: quietLogger(), store });
  try {
    let answered = false;
    const p = submit(hub.url, new Writer("t/gate").msg()).then((r) => ((answered = true), r));
    await committing;
    // A whole request and answer on the same hub after the commit began: a released receipt would be out by now.
    assert.equal((await http(hub.url + "/readyz")).status, 200);
    assert.equal(answered, false, "no receipt before the commit is durable");
    release();
    assert.equal((await p).status, 200);
    assert.equal((await http(hub.url + "/readyz")).status, 200);
  } finally {
    release();
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evicted client cursors are reloaded from the store: sequence rules hold past the cache size", async () => {
  const { Sequencer } = await import("./sequencer.ts");
  const { Metrics } = await import("./metrics.ts");
  const { CryptoPool } = await import("./crypto_pool.ts");
  const { decodeMsg, encodeMsg, signingKeyFromSeed } = await import("../core/mod.ts");
  const { VeenError } = await import("../core/mod.ts");
  const store = new MemoryStore();
  const hub = signingKeyFromSeed(new Uint8Array(32).fill(1));
  const crypto = await CryptoPool.start(hub.secret, 0);
  const seq = new Sequencer(store, crypto, new Metrics(), {
    batchMax: 4,
    batchWaitMs: 0,
    queueMax: 1000,
    clientCacheMax: 2,
    onFatal: () => {},
  });
  const writers = Array.from({ length: 10 }, (_, i) => new Writer("t/evict", 50 + i));
  const first = writers.map((w) => w.msg());
  for (let round = 0; round < 3; round++) {
    for (const w of writers) {
      const m = round === 0 ? first[writers.indexOf(w)]! : w.msg();
      await seq.submit(decodeMsg(encodeMsg(m)), encodeMsg(m), undefined, Date.now());
    }
  }
  const codeOf = async (p: Promise<unknown>) => {
    try {
      await p;
      return "ok";
    } catch (e) {
      return e instanceof VeenError ? e.code : String(e);
    }
  };
  const w0 = writers[0]!;
  assert.equal(
    await codeOf(seq.submit(decodeMsg(encodeMsg(first[0]!)), encodeMsg(first[0]!), undefined, Date.now())),
    "E.DUP", // an exact replay; this store keeps every entry (the disk store answers E.SEQ past its window)
  );
  const last = w0.msg({ clientSeq: 3, tag: 200 }); // a used client_seq with other bytes
  assert.equal(
    await codeOf(seq.submit(decodeMsg(encodeMsg(last)), encodeMsg(last), undefined, Date.now())),
    "E.SEQ",
  );
  const skip = w0.msg({ clientSeq: 5 });
  assert.equal(
    await codeOf(seq.submit(decodeMsg(encodeMsg(skip)), encodeMsg(skip), undefined, Date.now())),
    "E.SEQ",
  );
  const next = w0.msg({ clientSeq: 4 });
  assert.equal(
    await codeOf(seq.submit(decodeMsg(encodeMsg(next)), encodeMsg(next), undefined, Date.now())),
    "ok",
  );
  assert.equal(store.stats().entries, 31);
  crypto.close();
});

Deno.test("a RECEIPT signature that fails refuses its batch with E.UNAVAILABLE and stores nothing", async () => {
  const { Sequencer } = await import("./sequencer.ts");
  const { Metrics } = await import("./metrics.ts");
  const { CryptoPool } = await import("./crypto_pool.ts");
  const { decodeMsg, encodeMsg, signingKeyFromSeed, VeenError } = await import("../core/mod.ts");
  const store = new MemoryStore();
  const crypto = await CryptoPool.start(signingKeyFromSeed(new Uint8Array(32).fill(2)).secret, 0);
  crypto.signInto = (_d, slots, k) => slots.fail(k, new Error("signer gone"));
  let fatal: unknown;
  const seq = new Sequencer(store, crypto, new Metrics(), {
    batchMax: 8,
    batchWaitMs: 0,
    queueMax: 100,
    onFatal: (e) => (fatal = e),
  });
  const w = new Writer("t/signfail");
  const msgs = [w.msg(), w.msg(), w.msg()];
  const results = await Promise.allSettled(
    msgs.map((m) => seq.submit(decodeMsg(encodeMsg(m)), encodeMsg(m), undefined, Date.now())),
  );
  for (const r of results) {
    assert.equal(r.status, "rejected");
    const e = (r as PromiseRejectedResult).reason;
    assert.ok(e instanceof VeenError && e.code === "E.UNAVAILABLE", String(e));
  }
  assert.match(String((fatal as Error).message), /signer gone/);
  assert.equal(store.stats().entries, 0);
  assert.equal(seq.healthy, false);
});

Deno.test("group commit delay: a busy hub's next batch fills for batch_wait_ms; at rest, full or with few on the way it is cut at once", async () => {
  const { groupCommitWait } = await import("./sequencer.ts");
  const busy = { pending: 10, upstream: 200, batchMax: 256, batchWaitMs: 4, sinceCutMs: 1 };
  assert.equal(groupCommitWait(busy), 3, "200 submissions on their way: fill until 4 ms after the last cut");
  assert.equal(groupCommitWait({ ...busy, sinceCutMs: 4 }), 0);
  assert.equal(groupCommitWait({ ...busy, sinceCutMs: 10 }), 0);
  assert.equal(groupCommitWait({ ...busy, pending: 256 }), 0, "a full batch goes at once");
  assert.equal(groupCommitWait({ ...busy, upstream: 63 }), 0, "few on their way: nothing to wait for");
  assert.equal(groupCommitWait({ ...busy, upstream: 64 }), 3);
  assert.equal(groupCommitWait({ ...busy, upstream: 0 }), 0, "a hub at rest commits at once");
  assert.equal(groupCommitWait({ ...busy, batchWaitMs: 0 }), 0, "batch_wait_ms 0 switches the delay off");
  assert.equal(groupCommitWait({ ...busy, sinceCutMs: Infinity }), 0, "the first batch goes at once");
});
