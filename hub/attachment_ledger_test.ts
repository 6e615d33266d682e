import assert from "node:assert/strict";
import { H, toHex } from "../core/mod.ts";
import { prng, rejectsCode } from "../tests/util.ts";
import {
  AttachmentLedger,
  type AttachmentPolicy,
  KvLedgerBackend,
  type LedgerBackend,
  type LedgerChange,
  MemoryLedgerBackend,
} from "./attachment_ledger.ts";
import { AttachmentStore } from "./attachment_store.ts";

const T = 1_700_000_000;
const A = new Uint8Array(32).fill(0xaa);
const B = new Uint8Array(32).fill(0xbb);
const POLICY: AttachmentPolicy = { quotaBytes: 1000, pendingMaxBytes: 1500, graceSec: 100 };

/** Files in a map, with the count of removals. */
class Files {
  readonly maxBytes = 800;
  readonly m = new Map<string, Uint8Array>();
  removed = 0;
  put(bytes: Uint8Array) {
    this.m.set(toHex(H(bytes)), bytes);
    return Promise.resolve(H(bytes));
  }
  remove(coid: Uint8Array) {
    this.removed++;
    this.m.delete(toHex(coid));
    return Promise.resolve();
  }
  has(bytes: Uint8Array): boolean {
    return this.m.has(toHex(H(bytes)));
  }
}

/** A backend whose next `apply` fails (as if the process died between deleting files and the KV commit). */
class FailingBackend extends MemoryLedgerBackend {
  failNext = false;
  override apply(c: LedgerChange): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error("injected KV failure"));
    }
    return super.apply(c);
  }
}

const blob = (seed: number, n: number) => prng(seed).bytes(n);

/** Runs `f` against the map backend and against the Deno KV backend on a temp database. */
async function eachBackend(
  f: (open: () => Promise<LedgerBackend>, name: string) => Promise<void>,
): Promise<void> {
  const mem = new MemoryLedgerBackend();
  await f(() => Promise.resolve(mem), "memory");
  const dir = await Deno.makeTempDir({ prefix: "veen-ledger-" });
  const kvs: Deno.Kv[] = [];
  try {
    await f(async () => {
      for (const k of kvs.splice(0)) k.close(); // one open database at a time, like a hub restart
      const kv = await Deno.openKv(`${dir}/index.kv`);
      kvs.push(kv);
      return new KvLedgerBackend(kv);
    }, "kv");
  } finally {
    for (const k of kvs) k.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("attachment ledger: empty and oversize uploads are E.SIZE; the quota is per owner (E.RATE); the pending cap is hub-wide (E.UNAVAILABLE)", async () => {
  await eachBackend(async (open, name) => {
    const files = new Files();
    const l = await AttachmentLedger.open(await open(), files, POLICY);
    await rejectsCode(() => l.put(new Uint8Array(0), A, T), "E.SIZE");
    await rejectsCode(() => l.put(new Uint8Array(801), A, T), "E.SIZE");
    await l.put(blob(1, 600), A, T);
    const q = await rejectsCode(() => l.put(blob(2, 401), A, T), "E.RATE");
    assert.match(q.detail, /quota/, name);
    await l.put(blob(2, 400), A, T); // exactly the quota
    // Owner B has its own quota, but all pending bytes together stop at 1500.
    const p = await rejectsCode(() => l.put(blob(3, 501), B, T + 10), "E.UNAVAILABLE");
    assert.equal(p.retryAfter, 90, name); // until the oldest wait lapses
    await l.put(blob(3, 500), B, T + 10);
    assert.deepEqual(l.status(), { pending: 3, pending_bytes: 1500, waits: 3 }, name);
    // The same bytes again are one file and charge nothing.
    await l.put(blob(1, 600), A, T + 20);
    await l.put(blob(1, 600), null, T + 20);
    assert.deepEqual(l.status(), { pending: 3, pending_bytes: 1500, waits: 4 }, name);
    assert.equal(files.m.size, 3);
  });
});

Deno.test("attachment ledger: a MSG of the owner claims its earlier uploads; unclaimed ones are collected after the grace period", async () => {
  await eachBackend(async (open, name) => {
    const files = new Files();
    let l = await AttachmentLedger.open(await open(), files, POLICY);
    const a1 = blob(11, 100), a2 = blob(12, 100), b1 = blob(13, 100), anon = blob(14, 100);
    await l.put(a1, A, T);
    await l.put(b1, B, T);
    await l.put(anon, null, T);
    assert.equal(l.waiting(A), true);
    assert.equal(l.waiting(null), true);
    // A MSG with auth_ref A at T + 5 claims a1 only; an upload after its hub_ts is not claimed by it.
    await l.put(a2, A, T + 6);
    await l.claim([{ owner: A, seg: 3, hubTs: T + 5 }]);
    await l.claim([{ owner: null, seg: 3, hubTs: T + 5 }]);
    assert.deepEqual(l.status(), { pending: 2, pending_bytes: 200, waits: 2 }, name);
    // Reopen (a restart): the waits and the pending bytes come back from the backend.
    l = await AttachmentLedger.open(await open(), files, POLICY);
    assert.deepEqual(l.status(), { pending: 2, pending_bytes: 200, waits: 2 }, name);
    // Grace: nothing lapses before T + 100; at T + 100 b1 goes, at T + 106 a2.
    assert.deepEqual(await l.collect(T + 99), { lapsed: 0, collected: 0, bytes: 0 });
    assert.deepEqual(await l.collect(T + 100), { lapsed: 1, collected: 1, bytes: 100 });
    assert.equal(files.has(b1), false);
    assert.equal(files.has(a1) && files.has(a2) && files.has(anon), true);
    assert.deepEqual(await l.collect(T + 106), { lapsed: 1, collected: 1, bytes: 100 });
    assert.equal(files.has(a2), false);
    assert.equal(files.has(a1), true, "claimed attachments stay");
    // B's charge was returned: B can store a full quota again.
    await l.put(blob(15, 800), B, T + 200);
    await rejectsCode(() => l.put(blob(16, 201), B, T + 200), "E.RATE");
  });
});

Deno.test("attachment ledger: retention of the claiming MSG's payload segment collects the attachment; a re-upload waits to claim it again", async () => {
  await eachBackend(async (open, name) => {
    const files = new Files();
    let l = await AttachmentLedger.open(await open(), files, POLICY);
    const x = blob(21, 300), y = blob(22, 300);
    await l.put(x, A, T);
    await l.put(y, A, T);
    await l.claim([{ owner: A, seg: 2, hubTs: T }, { owner: A, seg: 2, hubTs: T }]);
    // y is uploaded again by B, and B's MSG lands in segment 5: y now lives as long as segment 5.
    await l.put(y, B, T + 1);
    await l.claim([{ owner: B, seg: 5, hubTs: T + 1 }]);
    assert.deepEqual(await l.collect(T + 1000, 2), { lapsed: 0, collected: 0, bytes: 0 }, name);
    assert.deepEqual(await l.collect(T + 1000, 3), { lapsed: 0, collected: 1, bytes: 300 }, name);
    assert.equal(files.has(x), false);
    assert.equal(files.has(y), true);
    l = await AttachmentLedger.open(await open(), files, POLICY);
    assert.deepEqual(await l.collect(T + 1000, 6), { lapsed: 0, collected: 1, bytes: 300 }, name);
    assert.equal(files.m.size, 0);
    // Both charges went back to A (the first uploader): A can use its whole quota again.
    await l.put(blob(23, 800), A, T + 2000);
    // A re-upload after the claim of a still-retained segment: the file survives the drop of its old segment
    // while the new upload waits, and is pending (collected after the grace) unless claimed again.
    const z = blob(24, 100);
    await l.put(z, B, T + 2000);
    await l.claim([{ owner: B, seg: 7, hubTs: T + 2000 }]);
    await l.put(z, B, T + 2050);
    assert.deepEqual(await l.collect(T + 2060, 8), { lapsed: 0, collected: 0, bytes: 0 }, name);
    assert.equal(files.has(z), true);
    assert.deepEqual(await l.collect(T + 2150, 8), { lapsed: 2, collected: 2, bytes: 900 }, name);
    assert.equal(files.m.size, 0);
  });
});

Deno.test("attachment ledger: a failure between deleting files and committing the rows is finished by the next pass", async () => {
  const backend = new FailingBackend();
  const files = new Files();
  let l = await AttachmentLedger.open(backend, files, POLICY);
  const a = blob(31, 100), b = blob(32, 100);
  await l.put(a, A, T);
  await l.put(b, A, T);
  await l.claim([{ owner: A, seg: 1, hubTs: T }]);
  const c = blob(33, 100);
  await l.put(c, A, T + 10);
  backend.failNext = true;
  await assert.rejects(() => l.collect(T + 500, 2), /injected/);
  assert.equal(files.has(c), false, "the file went first");
  assert.equal(backend.rowMap.size, 3, "the rows are still there");
  // A restart reloads the rows; the next pass deletes them (the files are already gone) and frees the charge.
  l = await AttachmentLedger.open(backend, files, POLICY);
  assert.deepEqual(await l.collect(T + 500, 2), { lapsed: 1, collected: 3, bytes: 300 });
  assert.equal(backend.rowMap.size + backend.waitMap.size + backend.ownerMap.size, 0);
  assert.equal([...backend.segMap.values()].reduce((n, m) => n + m.size, 0), 0);
  // An upload whose file write fails is not charged.
  const broken = {
    maxBytes: 800,
    put: () => Promise.reject(new Error("disk full")),
    remove: () => Promise.resolve(),
  };
  const l2 = await AttachmentLedger.open(backend, broken, POLICY);
  await assert.rejects(() => l2.put(blob(34, 100), A, T), /disk full/);
  assert.deepEqual(l2.status(), { pending: 0, pending_bytes: 0, waits: 0 });
  assert.equal(backend.rowMap.size + backend.ownerMap.size, 0);
});

Deno.test("attachment ledger: AttachmentStore.remove deletes the file and tolerates a missing one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-ledger-" });
  try {
    const st = await AttachmentStore.open(`${dir}/attachments`);
    const bytes = blob(41, 10);
    const coid = await st.put(bytes);
    await st.remove(coid);
    assert.equal(await st.has(coid), false);
    await st.remove(coid);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
