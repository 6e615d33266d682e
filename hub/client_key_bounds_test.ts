import assert from "node:assert/strict";
import { decodeErrorBody, decodeReceipt, VeenError } from "../core/mod.ts";
import { errorCode, type HttpResult, startTestHub, submit, Writer } from "../tests/fixture.ts";
import { checkClientKeyBounds, nextFirstSeen } from "./client_key_bounds.ts";
import { type DiskStoreOptions, openDiskStore } from "./disk_store.ts";
import { fsck } from "./fsck.ts";
import type { RunningHub } from "./hub.ts";

const T = 1_700_000_000; // hub time in seconds at a writer's first MSG

function refusedRotate(r: HttpResult): void {
  assert.deepEqual([r.status, errorCode(r)], [403, "E.AUTH"]);
  assert.match(decodeErrorBody(r.body)!.detail, /rotate client key$/);
}

const seqOf = (r: HttpResult) => decodeReceipt(r.body).streamSeq;

Deno.test("checkClientKeyBounds: count refused at >= max, lifetime refused past max, unknown first_seen unchecked", () => {
  const b = { maxLifetimeSec: 100, maxMsgs: 3 };
  checkClientKeyBounds(b, { seq: 2, firstSeen: T }, T + 100);
  const code = (f: () => void) => assert.throws(f, (e) => e instanceof VeenError && e.code === "E.AUTH");
  code(() => checkClientKeyBounds(b, { seq: 3, firstSeen: T }, T));
  code(() => checkClientKeyBounds(b, { seq: 1, firstSeen: T }, T + 101));
  checkClientKeyBounds(b, { seq: 1, firstSeen: null }, T + 1_000_000);
  checkClientKeyBounds({ maxLifetimeSec: null, maxMsgs: null }, { seq: 1e9, firstSeen: 0 }, T);
  assert.equal(nextFirstSeen(1, 5, T), T, "client_seq 1 starts the clock");
  assert.equal(nextFirstSeen(2, 5, T), 5);
  assert.equal(nextFirstSeen(2, null, T), T, "an unknown first_seen is adopted");
});

/** A hub on `dir` with the bounds and a settable clock (seconds). */
async function boundedHub(
  dir: string,
  clock: { sec: number },
  o: { maxMsgs?: number; maxLife?: number; hooks?: NonNullable<DiskStoreOptions["testHooks"]> } = {},
): Promise<RunningHub> {
  const store = o.hooks === undefined ? undefined : await openDiskStore(dir, { testHooks: o.hooks });
  return await startTestHub(dir, {
    maxMsgsPerClientIdPerLabel: o.maxMsgs ?? null,
    maxClientIdLifetimeSec: o.maxLife ?? null,
  }, { now: () => clock.sec * 1000 + 999, ...(store === undefined ? {} : { store }) });
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-kex-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("max_msgs_per_client_id_per_label: the Nth MSG is admitted, the N+1th is E.AUTH without taking a seq; restart keeps the count", async () => {
  await withDir(async (dir) => {
    const clock = { sec: T };
    let hub = await boundedHub(dir, clock, { maxMsgs: 3 });
    const w = new Writer("t/kex-count", 1);
    const other = new Writer("t/kex-count", 2);
    try {
      for (let i = 1; i <= 3; i++) assert.equal(seqOf(await submit(hub.url, w.msg())), i);
      refusedRotate(await submit(hub.url, w.msg({ clientSeq: 4 })));
      // The refusal took no stream_seq: the next MSG on the label is 4.
      assert.equal(seqOf(await submit(hub.url, other.msg())), 4);
      // Per label: the same key starts at 0 on another label.
      const elsewhere = new Writer("t/kex-count-2", 1);
      assert.equal((await submit(hub.url, elsewhere.msg())).status, 200);
    } finally {
      await hub.close();
    }
    hub = await boundedHub(dir, clock, { maxMsgs: 3 });
    try {
      refusedRotate(await submit(hub.url, w.msg({ clientSeq: 4 })));
    } finally {
      await hub.close();
    }
  });
});

Deno.test("max_client_id_lifetime_sec: admitted at exactly first_seen + max, E.AUTH one second later; restart keeps first_seen", async () => {
  await withDir(async (dir) => {
    const clock = { sec: T };
    let hub = await boundedHub(dir, clock, { maxLife: 100 });
    const w = new Writer("t/kex-life", 1);
    try {
      assert.equal((await submit(hub.url, w.msg())).status, 200);
      clock.sec = T + 100;
      assert.equal((await submit(hub.url, w.msg())).status, 200, "exactly at the limit");
      clock.sec = T + 101;
      refusedRotate(await submit(hub.url, w.msg({ clientSeq: 3 })));
      // A new key (or the same key on a fresh label) starts its own clock.
      assert.equal((await submit(hub.url, new Writer("t/kex-life", 2).msg())).status, 200);
    } finally {
      await hub.close();
    }
    hub = await boundedHub(dir, clock, { maxLife: 100 });
    try {
      refusedRotate(await submit(hub.url, w.msg({ clientSeq: 3 })));
    } finally {
      await hub.close();
    }
  });
});

Deno.test("client key bounds: the log-tail replay after a crash and a lost index rebuild first_seen and the count from the log", async () => {
  await withDir(async (dir) => {
    const clock = { sec: T };
    const hooks: NonNullable<DiskStoreOptions["testHooks"]> = {};
    let hub = await boundedHub(dir, clock, { maxLife: 100, maxMsgs: 3, hooks });
    const w = new Writer("t/kex-crash", 1);
    try {
      assert.equal((await submit(hub.url, w.msg())).status, 200);
      await hub.settled(); // client_seq 1 is in the index row
      clock.sec = T + 10;
      hooks.crashBeforeIndex = true; // client_seq 2 is durable in the log, never indexed
      assert.equal((await submit(hub.url, w.msg())).status, 503);
    } finally {
      await hub.close();
    }
    clock.sec = T + 50;
    hub = await boundedHub(dir, clock, { maxLife: 100, maxMsgs: 4 });
    try {
      // The replay of client_seq 2 keeps the row's first_seen T (not its own hub_ts T + 10).
      assert.equal(seqOf(await submit(hub.url, w.msg())), 3, "client_seq 2 was replayed");
      clock.sec = T + 101;
      refusedRotate(await submit(hub.url, w.msg({ clientSeq: 4 })));
    } finally {
      await hub.close();
    }
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith("index.kv")) await Deno.remove(`${dir}/${e.name}`);
    }
    clock.sec = T + 100;
    hub = await boundedHub(dir, clock, { maxLife: 100, maxMsgs: 5 });
    try {
      assert.equal(
        seqOf(await submit(hub.url, w.msg({ clientSeq: 4 }))),
        4,
        "at the limit after the rebuild",
      );
      clock.sec = T + 101;
      const r = await submit(hub.url, w.msg({ clientSeq: 5 }));
      refusedRotate(r);
      assert.match(decodeErrorBody(r.body)!.detail, /max_client_id_lifetime_sec is 100/);
    } finally {
      await hub.close();
    }
    assert.equal((await fsck(dir)).ok, true);
  });
});

Deno.test("client key bounds: rows written before first_seen existed load; the next admitted MSG starts the clock", async () => {
  await withDir(async (dir) => {
    const clock = { sec: T };
    let hub = await boundedHub(dir, clock);
    const w = new Writer("t/kex-old", 1);
    try {
      assert.equal((await submit(hub.url, w.msg())).status, 200);
      clock.sec = T + 7;
      assert.equal((await submit(hub.url, w.msg())).status, 200);
    } finally {
      await hub.close();
    }
    const store = await openDiskStore(dir);
    assert.deepEqual(
      await store.clientUsage(w.label, w.key.public),
      { seq: 2, firstSeen: T },
      "the row's first_seen",
    );
    await store.close();
    const kv = await Deno.openKv(`${dir}/index.kv`);
    // fsck: a first_seen later than the row's entry is an inconsistency.
    for await (const e of kv.list<unknown[]>({ prefix: ["client"] })) {
      await kv.set(e.key, [...e.value.slice(0, 3), T + 8]);
    }
    const bad = await fsck(dir);
    assert.equal(bad.ok, false);
    assert.match(bad.error!.what, /first_seen is not a uint at or before its hub_ts/);
    // Rewrite every client row in the old 3-element form [client_seq, stream_seq, leaf_hash].
    let rows = 0;
    for await (const e of kv.list<unknown[]>({ prefix: ["client"] })) {
      assert.equal(e.value.length, 4);

      await kv.set(e.key, e.value.slice(0, 3));
      rows++;
    }
    kv.close();
    assert.equal(rows, 1);
    assert.equal((await fsck(dir)).ok, true, "fsck accepts an old row");

    clock.sec = T + 10_000;
    hub = await boundedHub(dir, clock, { maxLife: 100 });
    try {
      assert.equal(seqOf(await submit(hub.url, w.msg())), 3, "unknown first_seen: admitted, and adopted");
      clock.sec = T + 10_100;
      assert.equal((await submit(hub.url, w.msg())).status, 200);
      clock.sec = T + 10_101;
      refusedRotate(await submit(hub.url, w.msg({ clientSeq: 5 })));
    } finally {
      await hub.close();
    }
  });
});
