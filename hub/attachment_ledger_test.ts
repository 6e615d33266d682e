import assert from "node:assert/strict";
import { authRef, encodeCapToken, H, issueCapToken, streamIdFor, toHex } from "../core/mod.ts";
import {
  errorCode,
  http,
  type HttpResult,
  postCbor,
  startTestHub,
  submit,
  Writer,
} from "../tests/fixture.ts";
import { fill, Gen, labelN } from "../tests/store_gen.ts";
import { prng, rejectsCode } from "../tests/util.ts";
import {
  AttachmentLedger,
  type AttachmentPolicy,
  decodeAttachmentRow,
  KvLedgerBackend,
  type LedgerBackend,
  type LedgerChange,
  MemoryLedgerBackend,
} from "./attachment_ledger.ts";
import { AttachmentStore } from "./attachment_store.ts";
import { type DiskStoreOptions, openDiskStore } from "./disk_store.ts";
import { fsck } from "./fsck.ts";
import { writeRetentionPolicy } from "./retention.ts";

const T = 1_700_000_000;
const A = new Uint8Array(32).fill(0xaa);
const B = new Uint8Array(32).fill(0xbb);
const POLICY: AttachmentPolicy = {
  quotaBytes: 1000,
  pendingMaxBytes: 1500,
  graceSec: 100,
  claimMarginSec: 0,
  blockBytes: 1,
};

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

Deno.test("attachment ledger: collection waits the claim margin past the grace, so a MSG sequenced inside the grace still claims after a slow commit", async () => {
  await eachBackend(async (open, name) => {
    const files = new Files();
    const l = await AttachmentLedger.open(await open(), files, { ...POLICY, claimMarginSec: 30 });
    const a = blob(21, 100), b = blob(22, 100);
    await l.put(a, A, T);
    await l.put(b, B, T);
    // A's MSG is sequenced at T + 99 (inside the grace); its commit is durable only after a pass at T + 120 ran.
    assert.deepEqual(await l.collect(T + 120), { lapsed: 0, collected: 0, bytes: 0 }, name);
    await l.claim([{ owner: A, seg: 1, hubTs: T + 99 }]);
    assert.deepEqual(await l.collect(T + 130), { lapsed: 1, collected: 1, bytes: 100 }, name);
    assert.equal(files.has(a), true, "claimed in time");
    assert.equal(files.has(b), false, "unclaimed: collected at grace + margin");
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

// ---------------------------------------------------------------- POST /attachments on a real hub

const DAY = 86_400_000;

/** POST /attachments with an optional veen-auth-ref header. */
function upload(url: string, body: Uint8Array, ref?: Uint8Array | string): Promise<HttpResult> {
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  if (ref !== undefined) headers["veen-auth-ref"] = typeof ref === "string" ? ref : toHex(ref);
  return http(`${url}/attachments`, { method: "POST", body: body as BodyInit, headers });
}

const fetched = async (url: string, bytes: Uint8Array) =>
  (await http(`${url}/attachments/${toHex(H(bytes))}`)).status;

Deno.test("attachment ledger: puts write through attachments/tmp, which a start empties (interrupted uploads); fsck warns of leftovers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-ledger-" });
  try {
    let hub = await startTestHub(dir);
    const bytes = blob(42, 10);
    assert.equal((await upload(hub.url, bytes)).status, 200);
    await hub.close();
    assert.deepEqual([...Deno.readDirSync(`${dir}/attachments/tmp`)], [], "a put leaves nothing in tmp/");
    Deno.writeFileSync(`${dir}/attachments/tmp/${toHex(H(bytes))}.left`, new Uint8Array(5));
    const rep = await fsck(dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
    assert.match(
      rep.warnings.map((w) => `${w.file}: ${w.what}`).join("\n"),
      /attachments\/tmp\/.*interrupted upload/,
    );
    hub = await startTestHub(dir);
    assert.deepEqual([...Deno.readDirSync(`${dir}/attachments/tmp`)], []);
    assert.equal(await fetched(hub.url, bytes), 200);
    await hub.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /attachments with admission: the auth_ref header is required, its rate and byte quota apply, unclaimed uploads are collected after the grace period, claimed ones with their payload segment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-att-hub-" });
  const clock = { now: 1_700_000_000_000 };
  const o = {
    admission: "on" as const,
    segmentBytes: 2048,
    attachmentQuotaBytes: 8192, // two 4 KiB blocks
    attachmentGraceSec: 600,
    limits: { maxAttachmentBytes: 2000 },
  };
  const start = () => startTestHub(dir, o, { now: () => clock.now, retentionIntervalMs: 0 });
  let hub = await start();
  try {
    const w = new Writer("att/hub", 51);
    const cap = (ttl: number, rate: { perSec: number; burst: number }, streams = ["att/hub"]) =>
      issueCapToken({
        issuerSecret: hub.hubKey.secret,
        issuerPk: hub.hubKey.public,
        subjectPk: w.key.public,
        streamIds: streams.map(streamIdFor),
        ttl,
        rate,
      });
    const tok = cap(30 * 86400, { perSec: 100, burst: 100 });
    const ref = authRef(tok);
    // No header, a malformed one, an auth_ref the hub does not know: 403 E.AUTH, before the body is stored.
    const x = blob(61, 1500), y = blob(62, 1500);
    for (
      const r of [await upload(hub.url, x), await upload(hub.url, x, "zz"), await upload(hub.url, x, ref)]
    ) {
      assert.deepEqual([r.status, errorCode(r)], [403, "E.AUTH"]);
    }
    assert.equal(await fetched(hub.url, x), 404);
    assert.equal((await postCbor(hub.url, "/authorize", encodeCapToken(tok))).status, 200);
    let r = await upload(hub.url, new Uint8Array(0), ref);
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"], "empty attachment");
    assert.equal((await upload(hub.url, x, ref)).status, 200);
    assert.equal((await upload(hub.url, x, ref)).status, 200, "the same bytes again: one file, no charge");
    assert.equal((await upload(hub.url, y, ref)).status, 200);
    r = await upload(hub.url, blob(63, 1), ref);
    assert.deepEqual([r.status, errorCode(r)], [429, "E.RATE"], "quota of two blocks used up");
    // A MSG with the same auth_ref claims x and y.
    assert.equal((await submit(hub.url, w.msg({ authRef: ref }))).status, 200);
    // An upload that no MSG claims: collected once the grace period has passed, not before.
    const z = blob(64, 100);
    const other = cap(30 * 86400, { perSec: 1, burst: 1 }, ["att/other"]);
    assert.equal((await postCbor(hub.url, "/authorize", encodeCapToken(other))).status, 200);
    assert.equal((await upload(hub.url, z, authRef(other))).status, 200);
    r = await upload(hub.url, blob(65, 10), authRef(other));
    assert.deepEqual([r.status, errorCode(r)], [429, "E.RATE"], "the auth_ref's rate applies to uploads");
    assert.equal(r.headers.get("retry-after"), "1");
    clock.now += 599_000;
    await hub.retentionPass();
    assert.equal(await fetched(hub.url, z), 200);
    // Across a restart: the waits are in the index.
    await hub.close();
    clock.now += 301_000; // past the grace and the 300 s claim margin
    hub = await start(); // the start-up pass collects z
    assert.equal(await fetched(hub.url, z), 404);
    assert.equal(await fetched(hub.url, x), 200, "claimed attachments stay");
    assert.equal(await fetched(hub.url, y), 200);
    // Retention: once the claiming MSG's payload segment is dropped, x and y go and the quota is free again.
    for (let i = 0; i < 40; i++) assert.equal((await submit(hub.url, w.msg({ authRef: ref }))).status, 200);
    await writeRetentionPolicy(dir, { receiptsDays: null, payloadsDays: 1, checkpointsDays: null });
    clock.now += 2 * DAY;
    await hub.retentionPass();
    assert.equal(await fetched(hub.url, x), 404);
    assert.equal(await fetched(hub.url, y), 404);
    assert.equal((await upload(hub.url, blob(66, 2000), ref)).status, 200);
    // An expired capability: E.CAP as for a MSG.
    clock.now += 31 * DAY;
    r = await upload(hub.url, blob(67, 10), ref);
    assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
  } finally {
    await hub.close();
  }
  try {
    const rep = await fsck(dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /attachments without admission: anonymous uploads are bounded by the hub-wide pending cap (503) and claimed by a MSG without auth_ref", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-att-hub-" });
  const clock = { now: 1_700_000_000_000 };
  const hub = await startTestHub(dir, { admission: "off", attachmentPendingBytes: 8192 }, {
    now: () => clock.now,
    retentionIntervalMs: 0,
  });
  try {
    const a = blob(71, 6000), b = blob(72, 6000);
    assert.equal((await upload(hub.url, a)).status, 200);
    let r = await upload(hub.url, b);
    assert.deepEqual([r.status, errorCode(r)], [503, "E.UNAVAILABLE"]);
    assert.equal(r.headers.get("retry-after"), "3900", "grace (3600 s) and claim margin (300 s)");
    r = await upload(hub.url, new Uint8Array(0));
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"]);
    // A MSG without auth_ref claims the anonymous upload: it is no longer pending, so b fits.
    assert.equal((await submit(hub.url, new Writer("att/open", 52).msg())).status, 200);
    assert.equal((await upload(hub.url, b)).status, 200);
    const info = JSON.parse(new TextDecoder().decode((await http(`${hub.url}/info`)).body));
    assert.deepEqual(info.attachments, { pending: 1, pending_bytes: 8192, waits: 1 });
    clock.now += 3900_000; // the grace and the claim margin
    await hub.retentionPass();
    assert.equal(await fetched(hub.url, a), 200);
    assert.equal(await fetched(hub.url, b), 404);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DiskStore: a claim lost in a crash is made again by the replay of the log tail", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-att-store-" });
  try {
    const hooks: NonNullable<DiskStoreOptions["testHooks"]> = {};
    const attachments = { graceSec: 100 };
    let store = await openDiskStore(dir, { testHooks: hooks, attachments });
    const gen = new Gen(9);
    const labels = [labelN(0)];
    await fill(store, gen, labels, 10);
    const bytes = blob(81, 50);
    const coid = await store.putAttachment(bytes, { owner: null, nowSec: 1_600_000_000 });
    assert.deepEqual(store.attachmentStatus(), { pending: 1, pending_bytes: 4096, waits: 1 });
    hooks.crashBeforeIndex = true;
    await rejectsCode(() => store.commit(gen.batch(labels, 2)), "E.UNAVAILABLE"); // seq 12 has no auth_ref
    await store.close();
    // The claim reached the index before the crash: undo it, as if the process died between the log write and it.
    const kv = await Deno.openKv(`${dir}/index.kv`);
    const row = decodeAttachmentRow((await kv.get(["att", coid])).value)!;
    assert.ok(row.seg >= 0, "claimed");
    await kv.atomic().set(["att", coid], [row.len, row.owner, -1, row.at]).delete(["att_seg", row.seg, coid])
      .set(["att_wait", row.owner, coid], row.at).commit();
    kv.close();
    store = await openDiskStore(dir, { attachments });
    try {
      assert.equal(store.stats().replayedAtOpen, 2);
      assert.deepEqual(store.attachmentStatus(), { pending: 0, pending_bytes: 0, waits: 0 });
      assert.deepEqual(await store.collectAttachments(1_800_000_000_000), {
        lapsed: 0,
        collected: 0,
        bytes: 0,
      });
      assert.deepEqual(await store.getAttachment(coid), bytes);
    } finally {
      await store.close();
    }
    assert.ok((await fsck(dir)).warnings.every((w) => !/attachment/.test(w.what)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("attachment ledger: collection works in chunks and skips an upload whose file is still being written", async () => {
  await eachBackend(async (open, name) => {
    const files = new Files();
    const l = await AttachmentLedger.open(await open(), files, { ...POLICY, quotaBytes: 10_000 });
    for (let i = 0; i < 150; i++) await l.put(blob(100 + i, 3), A, T);
    await l.claim([{ owner: A, seg: 4, hubTs: T }]);
    for (let i = 0; i < 150; i++) await l.put(blob(300 + i, 3), B, T);
    assert.deepEqual(await l.collect(T + 100, 5), { lapsed: 150, collected: 300, bytes: 900 }, name);
    assert.equal(files.m.size, 0);
    // A slow file write: its wait is not lapsed while the write runs.
    let release!: () => void;
    let writing!: () => void;
    const started = new Promise<void>((r) => (writing = r));
    const slow = {
      maxBytes: 800,
      put: async (bytes: Uint8Array) => {
        const go = new Promise<void>((r) => (release = r));
        writing();
        await go;
        return files.put(bytes);
      },
      remove: (coid: Uint8Array) => files.remove(coid),
    };
    const l2 = await AttachmentLedger.open(await open(), slow, POLICY);
    const bytes = blob(99, 10);
    const putting = l2.put(bytes, A, T);
    await started;
    assert.deepEqual(await l2.collect(T + 1000), { lapsed: 0, collected: 0, bytes: 0 }, name);
    release();
    await putting;
    assert.equal(files.has(bytes), true);
    assert.deepEqual(await l2.collect(T + 1000), { lapsed: 1, collected: 1, bytes: 10 }, name);
  });
});

Deno.test("attachment ledger: one attachment waits for at most 64 owners at once; charges count whole blocks", async () => {
  const files = new Files();
  const l = await AttachmentLedger.open(new MemoryLedgerBackend(), files, {
    ...POLICY,
    quotaBytes: 8192,
    pendingMaxBytes: 8192,
    blockBytes: 4096,
  });
  const owner = (i: number) => new Uint8Array(32).fill(i);
  const bytes = blob(91, 10);
  for (let i = 0; i < 64; i++) await l.put(bytes, owner(i), T);
  await l.put(bytes, owner(0), T + 1); // a waiting owner may upload again
  await rejectsCode(() => l.put(bytes, owner(64), T), "E.RATE");
  assert.deepEqual(l.status(), { pending: 1, pending_bytes: 4096, waits: 64 });
});
