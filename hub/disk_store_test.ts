import assert from "node:assert/strict";
import {
  H,
  inclusionProof,
  MmrAccumulator,
  nodeCountForLeaves,
  toHex,
  type VeenError,
  verifyInclusion,
} from "../core/mod.ts";
import { prng, rejectsCode, snapshotDir } from "../tests/util.ts";
import { StorageDamage } from "./storage_damage.ts";
import { encodeFrame } from "./frame.ts";
import { scanTail } from "./log_tail.ts";
import { fill, Gen, labelN } from "../tests/store_gen.ts";
import { type DiskStore, type DiskStoreOptions, openDiskStore } from "./disk_store.ts";
import { readSegmentIndex } from "./segment_index.ts";
import { scanLog } from "./segment_reader.ts";
import type { AdmissionRecord } from "./store.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Checks every item, head and (sampled or all) proofs of the store against the generator. */
async function checkAgainst(store: DiskStore, gen: Gen, proofs: "all" | "some" = "some"): Promise<void> {
  let total = 0;
  for (const [hex, list] of gen.byLabel) {
    if (list.length === 0) continue;
    const label = list[0]!.label;
    const head = store.head(label)!;
    assert.ok(head, `head of ${hex}`);
    const acc = gen.accs.get(hex)!;
    assert.equal(head.seq, list.length);
    assert.deepEqual(head.root, acc.root());
    assert.deepEqual(head.peaks, acc.peaks());
    assert.equal(head.lastHubTs, list.at(-1)!.hubTs);
    for (let from = 1; from <= list.length; from += 256) {
      const items = await store.readRange(label, from, list.length, 256);
      assert.equal(items.length, Math.min(256, list.length - from + 1));
      items.forEach((it, i) => {
        const e = list[from - 1 + i]!;
        assert.equal(it.streamSeq, e.streamSeq);
        assert.deepEqual(it.receipt, e.receipt);
        assert.deepEqual(it.msg, e.msg);
      });
    }
    const reader = store.nodeReader(label);
    const step = proofs === "all" ? 1 : Math.max(1, Math.floor(list.length / 25));
    for (let seq = 1; seq <= list.length; seq += step) {
      const proof = await inclusionProof(reader, seq, head.seq);
      assert.deepEqual(proof.leafHash, list[seq - 1]!.leafHash);
      assert.ok(verifyInclusion(proof, head.root, { seq, size: head.seq }), `proof ${hex}/${seq}`);
    }
    total += list.length;
  }
  assert.equal(store.stats().entries, total);
}

async function allNodes(store: DiskStore, label: Uint8Array): Promise<Uint8Array[]> {
  const n = nodeCountForLeaves(store.head(label)!.seq);
  return await store.nodeReader(label).readHashes(Array.from({ length: n }, (_, i) => i));
}

Deno.test("DiskStore: commit then reopen returns identical heads, items and node hashes", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1, 2, 3, 4].map(labelN);
    const gen = new Gen(1);
    let store = await openDiskStore(dir);
    await fill(store, gen, labels, 1000);
    await checkAgainst(store, gen);
    const heads = [...store.heads()];
    const nodes = await Promise.all(labels.map((l) => allNodes(store, l)));
    const items = await store.readRange(labels[2]!, 1, 1000, 1000);
    const stats = store.stats();
    await store.close();

    store = await openDiskStore(dir);
    assert.deepEqual(
      [...store.heads()].sort((a, b) => toHex(a.label) < toHex(b.label) ? -1 : 1),
      heads.sort((a, b) => toHex(a.label) < toHex(b.label) ? -1 : 1),
    );
    assert.deepEqual(await Promise.all(labels.map((l) => allNodes(store, l))), nodes);
    assert.deepEqual(await store.readRange(labels[2]!, 1, 1000, 1000), items);
    const s2 = store.stats();
    assert.equal(s2.entries, stats.entries);
    assert.equal(s2.logBytes, stats.logBytes);
    assert.equal(s2.replayedAtOpen, 0);
    await checkAgainst(store, gen);
    // Appends continue after the reopen.
    await fill(store, gen, labels, 130);
    await checkAgainst(store, gen);
    await store.close();
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(`${dir}/receipts`).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(`${dir}/mmr`).mode! & 0o777, 0o700);
  });
});

Deno.test("DiskStore: inclusion proofs over nodeReader verify for every leaf, at the head and older sizes", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1, 2, 3].map(labelN);
    const gen = new Gen(2);
    let store = await openDiskStore(dir);
    await fill(store, gen, labels, 3200, 50);
    await checkAgainst(store, gen, "all");
    await store.close();
    store = await openDiskStore(dir);
    // Proofs at an older size verify against the root the accumulator had then.
    const list = gen.byLabel.get(toHex(labels[1]!))!;
    const acc = new MmrAccumulator();
    const reader = store.nodeReader(labels[1]!);
    for (const e of list.slice(0, 333)) acc.append(e.leafHash);
    for (let seq = 1; seq <= 333; seq++) {
      const p = await inclusionProof(reader, seq, 333);
      assert.ok(verifyInclusion(p, acc.root()!, { seq, size: 333 }));
    }
    await rejectsCode(async () => await reader.readHashes([nodeCountForLeaves(list.length)]), "E.NOT_FOUND");
    assert.equal((await reader.readHashes([nodeCountForLeaves(list.length) - 1])).length, 1);
    await store.close();
  });
});

Deno.test("DiskStore: entries logged but not indexed (crash before the KV commit) are re-indexed on open", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1, 2].map(labelN);
    const gen = new Gen(3);
    const hooks: NonNullable<DiskStoreOptions["testHooks"]> = {};
    let store = await openDiskStore(dir, { testHooks: hooks });
    await fill(store, gen, labels, 300);
    hooks.crashBeforeIndex = true;
    const lost = gen.batch(labels, 64);
    await rejectsCode(() => store.commit(lost), "E.UNAVAILABLE");
    assert.equal(store.stats().entries, 300);
    // The store now refuses writes until reopened.
    hooks.crashBeforeIndex = false;
    await rejectsCode(() => store.commit([]), "E.UNAVAILABLE");
    await rejectsCode(() => store.putCheckpoint(labels[0]!, 1, 0, new Uint8Array(3)), "E.UNAVAILABLE");
    await store.close();

    store = await openDiskStore(dir);
    assert.equal(store.stats().replayedAtOpen, 64);
    await checkAgainst(store, gen, "all");
    const last = lost.at(-1)!;
    assert.equal(
      (await store.accepted(last.label, last.clientId, last.clientSeq))?.streamSeq,
      last.streamSeq,
    );
    assert.equal(await store.lastClientSeq(last.label, last.clientId), last.clientSeq);
    await fill(store, gen, labels, 100);
    await store.close();
    store = await openDiskStore(dir);
    assert.equal(store.stats().replayedAtOpen, 0);
    await checkAgainst(store, gen);
    await store.close();
  });
});

Deno.test("DiskStore: a torn last record is truncated on open and earlier entries are intact", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1].map(labelN);
    const gen = new Gen(4);
    const hooks: NonNullable<DiskStoreOptions["testHooks"]> = {};
    let store = await openDiskStore(dir, { testHooks: hooks });
    await fill(store, gen, labels, 256);
    hooks.crashBeforeIndex = true;
    const lost = gen.batch(labels, 10);
    await rejectsCode(() => store.commit(lost), "E.UNAVAILABLE");
    await store.close();
    // Tear the last receipts record (the power failed mid-write).
    const rPath = `${dir}/receipts/00000000.cborseq`;
    await Deno.truncate(rPath, Deno.statSync(rPath).size - 30);
    gen.dropLast(lost.at(-1)!.label);
    const repairs: string[] = [];
    store = await openDiskStore(dir, { onRepair: (w) => repairs.push(w) });
    assert.equal(store.stats().replayedAtOpen, 9);
    assert.ok(repairs.some((r) => /torn/.test(r)), repairs.join("\n"));
    await checkAgainst(store, gen, "all");
    // Writing resumes at the cut.
    await fill(store, gen, labels, 70);
    await store.close();
    store = await openDiskStore(dir);
    await checkAgainst(store, gen);
    const scanned = [];
    for await (const r of scanLog(dir)) scanned.push(r);
    assert.equal(scanned.length, 256 + 9 + 70);
    await store.close();
  });
});

Deno.test("DiskStore: a flipped byte in the last record past the index is refused and changes nothing; a short tail is cut into quarantine/", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1, 2].map(labelN);
    const gen = new Gen(5);
    const hooks: NonNullable<DiskStoreOptions["testHooks"]> = {};
    let store = await openDiskStore(dir, { testHooks: hooks });
    await fill(store, gen, labels, 200);
    hooks.crashBeforeIndex = true;
    const lost = gen.batch(labels, 5);
    await rejectsCode(() => store.commit(lost), "E.UNAVAILABLE");
    await store.close();
    const pPath = `${dir}/payloads/00000000.cborseq`;
    const good = await Deno.readFile(pPath);
    const bytes = good.slice();
    bytes[bytes.length - 20]! ^= 0x40;
    await Deno.writeFile(pPath, bytes);
    // A torn checkpoint tail as well: the refusal must not cut it either (a refused start changes no byte).
    const ckPath = `${dir}/checkpoints.cborseq`;
    const ckGood = await Deno.readFile(ckPath).catch(() => new Uint8Array(0));
    await Deno.writeFile(ckPath, new Uint8Array([0x82, 0x58, 0x40, 1, 2]), { append: true });
    const before = await snapshotDir(dir);
    const repairs: string[] = [];
    const err = await openDiskStore(dir, { onRepair: (w) => repairs.push(w) }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof StorageDamage, String(err));
    assert.equal(err.file, "payloads/00000000.cborseq");
    assert.match(err.why, /checksum/);
    assert.equal(repairs.length, 0);
    assert.deepEqual(await snapshotDir(dir), before);
    await Deno.writeFile(ckPath, ckGood);
    // The same record cut short (a write the crash interrupted): the unsynced end is cut, kept in quarantine/.
    await Deno.writeFile(pPath, good.subarray(0, good.length - 20));
    gen.dropLast(lost.at(-1)!.label);
    store = await openDiskStore(dir, { onRepair: (w) => repairs.push(w) });
    assert.ok(repairs.some((r) => /torn log tail.*short/.test(r)), repairs.join("\n"));
    const [q] = [...Deno.readDirSync(`${dir}/quarantine`)].filter((e) => e.name.startsWith("payloads-"));
    assert.deepEqual(
      Deno.readFileSync(`${dir}/quarantine/${q!.name}`),
      good.subarray(Number(/-(\d+)-\d+\.bin$/.exec(q!.name)![1]), good.length - 20),
    );
    await checkAgainst(store, gen, "all");
    await store.close();
  });
});

Deno.test("DiskStore: a torn write of a MSG that embeds valid frames and records is cut, not refused", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1].map(labelN);
    const gen = new Gen(11);
    const hooks: NonNullable<DiskStoreOptions["testHooks"]> = {};
    let store = await openDiskStore(dir, { testHooks: hooks });
    await fill(store, gen, labels, 40);
    // A client's MSG bytes holding whole frames: an empty one, and a copy of a real receipts record frame.
    const rPath = `${dir}/receipts/00000000.cborseq`;
    const receipts = await Deno.readFile(rPath);
    const last = scanTail(receipts, 0).frames.at(-1)!;
    const lastRecord = receipts.subarray(last.offset, last.offset + last.length);
    const lost = gen.batch(labels, 1);
    lost[0]!.msg = new Uint8Array([
      ...new Uint8Array(64).fill(5),
      ...encodeFrame(new Uint8Array(0)),
      ...lastRecord,
      1,
      2,
    ]);
    hooks.crashBeforeIndex = true;
    await rejectsCode(() => store.commit(lost), "E.UNAVAILABLE");
    await store.close();
    // The crash tore the payload write inside the embedded frames.
    const pPath = `${dir}/payloads/00000000.cborseq`;
    const size = (await Deno.stat(pPath)).size;
    await Deno.truncate(pPath, size - 40);
    gen.dropLast(lost[0]!.label);
    const repairs: string[] = [];
    store = await openDiskStore(dir, { onRepair: (w) => repairs.push(w) });
    assert.ok(repairs.some((r) => /torn log tail/.test(r)), repairs.join("\n"));
    await checkAgainst(store, gen, "all");
    await store.close();
  });
});

Deno.test("DiskStore: node files longer than the index are truncated on open, orphans removed", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1].map(labelN);
    const gen = new Gen(6);
    let store = await openDiskStore(dir);
    await fill(store, gen, labels, 100);
    await store.close();
    const p0 = `${dir}/mmr/${toHex(labels[0]!)}.nodes`;
    const want = nodeCountForLeaves(50) * 32;
    assert.equal(Deno.statSync(p0).size, want);
    await Deno.writeFile(p0, new Uint8Array(96).fill(0xee), { append: true });
    const orphan = `${dir}/mmr/${toHex(labelN(9))}.nodes`;
    await Deno.writeFile(orphan, new Uint8Array(64));
    const repairs: string[] = [];
    store = await openDiskStore(dir, { onRepair: (w) => repairs.push(w) });
    assert.equal(Deno.statSync(p0).size, want);
    assert.throws(() => Deno.statSync(orphan), Deno.errors.NotFound);
    assert.equal(repairs.length, 2);
    await checkAgainst(store, gen, "all");
    await fill(store, gen, labels, 20);
    await checkAgainst(store, gen, "all");
    await store.close();
  });
});

Deno.test("DiskStore: node files lost past the index refuse to open with E.UNAVAILABLE", async () => {
  await withDir(async (dir) => {
    const gen = new Gen(7);
    let store = await openDiskStore(dir);
    await fill(store, gen, [labelN(0)], 10);
    await store.close();
    await Deno.truncate(`${dir}/mmr/${toHex(labelN(0))}.nodes`, 32);
    await rejectsCode(() => openDiskStore(dir), "E.UNAVAILABLE");
    await Deno.remove(`${dir}/pos/${toHex(labelN(0))}.pos`);
    await rejectsCode(() => openDiskStore(dir), "E.UNAVAILABLE");
    // Deleting the derived state rebuilds it from the log.
    await Deno.remove(`${dir}/mmr`, { recursive: true });
    for (const f of Deno.readDirSync(dir)) {
      if (f.name.startsWith("index.kv")) Deno.removeSync(`${dir}/${f.name}`);
    }
    store = await openDiskStore(dir);
    assert.equal(store.stats().replayedAtOpen, 10);
    await checkAgainst(store, gen, "all");
    await store.close();
  });
});

Deno.test("DiskStore: segments rotate by size, reads span segments, sidecars describe them", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1, 2].map(labelN);
    const gen = new Gen(8);
    let store = await openDiskStore(dir, { segmentBytes: 32 * 1024 });
    await fill(store, gen, labels, 1500, 40);
    const segs = store.stats().segments;
    assert.ok(segs >= 10, `segments ${segs}`);
    await checkAgainst(store, gen);
    // One page spanning many segments.
    const items = await store.readRange(labels[0]!, 1, 500, 500);
    assert.equal(items.length, 500);
    await store.close();
    for (let s = 0; s < segs - 1; s++) {
      const idx = await readSegmentIndex(`${dir}/payloads`, s);
      assert.ok(idx && idx.records > 0, `sidecar ${s}`);
    }
    store = await openDiskStore(dir, { segmentBytes: 32 * 1024 });
    assert.equal(store.stats().segments, segs);
    await checkAgainst(store, gen);
    let n = 0;
    for await (const r of scanLog(dir)) assert.equal(r.rec, n++);
    assert.equal(n, 1500);
    await store.close();
  });
});

Deno.test("DiskStore: batches over the KV atomic limits are split and stay consistent", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1, 2, 3, 4, 5, 6, 7].map(labelN);
    const gen = new Gen(9);
    let store = await openDiskStore(dir, { kvLimits: { maxMutations: 16 } });
    await fill(store, gen, labels, 640);
    await store.flushIndex();
    // a 64-entry batch over 8 labels touches ~56 client rows + 8 heads + the marker: at least 5 atomics of 16
    assert.ok(store.stats().kvAtomics >= 5, `atomics ${store.stats().kvAtomics}`);
    await checkAgainst(store, gen);
    await store.close();
    store = await openDiskStore(dir);
    await checkAgainst(store, gen);
    await store.close();
  });
});

Deno.test("DiskStore: overlapping commits are pipelined in call order", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1, 2].map(labelN);
    const gen = new Gen(14);
    const hooks: NonNullable<DiskStoreOptions["testHooks"]> = {};
    let store = await openDiskStore(dir, { testHooks: hooks, segmentBytes: 64 * 1024 });
    const batches = Array.from({ length: 20 }, () => gen.batch(labels, 37));
    await Promise.all(batches.map((b) => store.commit(b)));
    await checkAgainst(store, gen, "all");
    // A batch that does not continue the *written* state is refused, without failing the ones in flight.
    const next = gen.batch(labels, 10);
    const settled = await Promise.allSettled([
      store.commit(next.slice(0, 5)),
      store.commit(next.slice(0, 5)), // the same seqs again
      store.commit(next.slice(5)),
    ]);
    assert.deepEqual(settled.map((x) => x.status), ["fulfilled", "rejected", "fulfilled"]);
    assert.equal(((settled[1] as PromiseRejectedResult).reason as VeenError).code, "E.SEQ");
    await checkAgainst(store, gen);
    // The index is written behind the log: a failed index stage does not undo durable batches (their receipts
    // may be out), it refuses later writes, and a reopen indexes the durable batches from the log.
    await store.commit(gen.batch(labels, 8));
    await store.flushIndex();
    hooks.failIndexStage = true;
    const b = gen.batch(labels, 8);
    const c = gen.batch(labels, 8);
    const settled2 = await Promise.allSettled([store.commit(b), store.commit(c)]);
    // c is durable too unless b's failed index stage ran before c's write stage (then c was refused unwritten).
    assert.equal(settled2[0]!.status, "fulfilled");
    const cWritten = settled2[1]!.status === "fulfilled";
    await rejectsCode(() => store.flushIndex(), "E.UNAVAILABLE");
    await rejectsCode(() => store.commit(gen.batch(labels, 1)), "E.UNAVAILABLE");
    gen.dropLast(labels[0]!);
    await store.close();
    store = await openDiskStore(dir);
    assert.equal(store.stats().replayedAtOpen, cWritten ? 16 : 8);
    if (!cWritten) gen.forget(c);
    await checkAgainst(store, gen, "all");
    await store.close();
  });
});

Deno.test("DiskStore: commit refuses non-contiguous or malformed batches without failing the store", async () => {
  await withDir(async (dir) => {
    const label = labelN(0);
    const gen = new Gen(10);
    const store = await openDiskStore(dir);
    await fill(store, gen, [label], 5);
    const e = gen.entry(label);
    await rejectsCode(() => store.commit([{ ...e, streamSeq: 9 }]), "E.SEQ");
    await rejectsCode(() => store.commit([{ ...e, newNodes: [] }]), "E.SIZE");
    await rejectsCode(() => store.commit([{ ...e, peaks: [] }]), "E.SIZE");
    await store.commit([e]);
    await checkAgainst(store, gen);
    assert.deepEqual(await store.readRange(label, 0, 100, 2).then((x) => x.map((i) => i.streamSeq)), [1, 2]);
    assert.deepEqual(await store.readRange(label, 5, 3, 10), []);
    assert.deepEqual(await store.readRange(labelN(5), 1, 3, 10), []);
    assert.equal(await store.lastClientSeq(labelN(5), new Uint8Array(32)), 0);
    assert.equal(await store.accepted(label, new Uint8Array(32), 1), undefined);
    await store.close();
    await rejectsCode(() => store.readRange(label, 1, 1, 1), "E.UNAVAILABLE");
  });
});

Deno.test("DiskStore: last client_seq and last entries are right from cache and after a reopen; old ones fall out of the window", async () => {
  await withDir(async (dir) => {
    const label = labelN(0);
    const gen = new Gen(11);
    let store = await openDiskStore(dir, { clientCacheSize: 2, entryCacheSize: 2 });
    await fill(store, gen, [label], 100);
    const list = gen.byLabel.get(toHex(label))!;
    const check = async () => {
      for (let c = 0; c < 7; c++) {
        const mine = list.filter((e) => e.clientId[0] === c);
        assert.equal(await store.lastClientSeq(label, new Uint8Array(32).fill(c)), mine.at(-1)!.clientSeq);
      }
      // Each client's last entry is always found; older ones only while in the recent-entries window (size 2).
      for (let c = 0; c < 7; c++) {
        const e = list.filter((x) => x.clientId[0] === c).at(-1)!;
        const a = await store.accepted(label, e.clientId, e.clientSeq);
        assert.equal(a?.streamSeq, e.streamSeq);
        assert.deepEqual(a?.leafHash, e.leafHash);
      }
      const old = list.find((x) =>
        list.some((y) => y.clientId[0] === x.clientId[0] && y.clientSeq > x.clientSeq + 10)
      )!;
      assert.equal(await store.accepted(label, old.clientId, old.clientSeq), undefined);
    };
    await check();
    await store.close();
    store = await openDiskStore(dir);
    await check();
    await store.close();
  });
});

Deno.test("DiskStore: checkpoints and admissions round-trip, survive reopen and a torn tail", async () => {
  await withDir(async (dir) => {
    const a = labelN(0);
    const b = labelN(1);
    let store = await openDiskStore(dir);
    const cp = (n: number) => new Uint8Array(40).fill(n);
    await store.putCheckpoint(a, 10, 1, cp(1));
    await store.putCheckpoint(a, 20, 1, cp(2));
    await store.putCheckpoint(a, 30, 2, cp(3));
    await store.putCheckpoint(b, 5, 7, cp(4));
    const adm: AdmissionRecord = {
      authRef: new Uint8Array(32).fill(0xa1),
      capToken: new Uint8Array(120).fill(3),
      subjectPk: new Uint8Array(32).fill(4),
      streamIds: [new Uint8Array(32).fill(5), new Uint8Array(32).fill(6)],
      ttl: 3600,
      perSec: null,
      burst: 10,
      issuedAt: 1_700_000_000,
      expiresAt: 1_700_003_600,
      capRoot: new Uint8Array(32).fill(7),
    };
    await store.putAdmission(adm);
    await store.putAdmission({ ...adm, authRef: new Uint8Array(32).fill(0xa2), perSec: 5, burst: null });
    const check = async () => {
      assert.deepEqual(await store.latestCheckpoint(a), cp(3));
      assert.deepEqual(await store.latestCheckpoint(b), cp(4));
      assert.equal(await store.latestCheckpoint(labelN(2)), undefined);
      assert.deepEqual(await store.checkpointsByEpoch(a, 1, 1, 10), [cp(1), cp(2)]);
      assert.deepEqual(await store.checkpointsByEpoch(a, 0, 5, 2), [cp(1), cp(2)]);
      assert.deepEqual(await store.checkpointsByEpoch(a, 2, 9, 10), [cp(3)]);
      assert.deepEqual(await store.getAdmission(adm.authRef), adm);
      assert.equal((await store.getAdmission(new Uint8Array(32).fill(0xa2)))?.perSec, 5);
      assert.equal(await store.getAdmission(new Uint8Array(32)), undefined);
    };
    await check();
    await store.close();
    // A torn tail on both files (crash mid-append) is cut on open.
    await Deno.writeFile(`${dir}/checkpoints.cborseq`, new Uint8Array([0x82, 0x58, 0x40, 1, 2]), {
      append: true,
    });
    await Deno.writeFile(`${dir}/admissions.cborseq`, new Uint8Array([0x82]), { append: true });
    const repairs: string[] = [];
    store = await openDiskStore(dir, { onRepair: (w) => repairs.push(w) });
    assert.equal(repairs.length, 2);
    await check();
    await store.putCheckpoint(a, 40, 3, cp(5));
    assert.deepEqual(await store.latestCheckpoint(a), cp(5));
    await store.close();
    store = await openDiskStore(dir);
    assert.deepEqual(await store.latestCheckpoint(a), cp(5));
    assert.deepEqual(await store.checkpointsByEpoch(a, 3, 3, 10), [cp(5)]);
    await store.close();
  });
});

const admission = (ref: number, issuedAt: number, ttl = 3600): AdmissionRecord => ({
  authRef: new Uint8Array(32).fill(ref),
  capToken: new Uint8Array(120).fill(3),
  subjectPk: new Uint8Array(32).fill(4),
  streamIds: [new Uint8Array(32).fill(5)],
  ttl,
  perSec: null,
  burst: null,
  issuedAt,
  expiresAt: issuedAt + ttl,
  capRoot: new Uint8Array(32).fill(7),
});

Deno.test("DiskStore: an admission record that would not read back is refused before anything is written", async () => {
  await withDir(async (dir) => {
    let store = await openDiskStore(dir);
    const max = Number.MAX_SAFE_INTEGER;
    await rejectsCode(() => store.putAdmission(admission(1, 1_700_000_000, max)), "E.SIZE");
    await rejectsCode(() => store.putAdmission({ ...admission(1, 5), perSec: 0.5 }), "E.SIZE");
    assert.equal(await store.getAdmission(new Uint8Array(32).fill(1)), undefined);
    await store.putAdmission(admission(2, 1_700_000_000, max - 1_700_000_000));
    await store.close();
    store = await openDiskStore(dir);
    assert.equal((await store.getAdmission(new Uint8Array(32).fill(2)))?.expiresAt, max);
    assert.equal(await store.getAdmission(new Uint8Array(32).fill(1)), undefined);
    await store.close();
  });
});

Deno.test("DiskStore: a cap root keeps its least issued_at; an index without root rows gets them at open", async () => {
  await withDir(async (dir) => {
    let store = await openDiskStore(dir);
    const root = new Uint8Array(32).fill(7);
    await store.putAdmission(admission(1, 500));
    await store.putAdmission(admission(2, 400));
    await store.putAdmission(admission(3, 600));
    assert.equal(await store.capRootIssuedAt(root), 400);
    await store.close();
    // An index written before cap roots were indexed.
    const kv = await Deno.openKv(`${dir}/index.kv`);
    const rows = [];
    for await (const e of kv.list({ prefix: ["adm_root"] })) rows.push(e.key);
    assert.equal(rows.length, 1);
    await kv.atomic().delete(rows[0]!).delete(["meta", "adm_roots"]).commit();
    kv.close();
    store = await openDiskStore(dir);
    assert.equal(await store.capRootIssuedAt(root), 400);
    assert.equal(await store.capRootIssuedAt(new Uint8Array(32)), undefined);
    await store.close();
  });
});

Deno.test("DiskStore: attachments round-trip and respect the size cap", async () => {
  await withDir(async (dir) => {
    let store = await openDiskStore(dir, { maxAttachmentBytes: 4096 });
    const bytes = prng(12).bytes(4096);
    assert.deepEqual(await store.putAttachment(bytes), H(bytes));
    assert.deepEqual(await store.getAttachment(H(bytes)), bytes);
    assert.equal(await store.getAttachment(H(new Uint8Array(1))), undefined);
    const big = new Uint8Array(4097);
    await rejectsCode(() => store.putAttachment(big), "E.SIZE");
    await store.close();
    store = await openDiskStore(dir);
    assert.deepEqual(await store.getAttachment(H(bytes)), bytes);
    await store.close();
  });
});

Deno.test("DiskStore: reopening after 20k entries reads only the unindexed tail of the log", async () => {
  await withDir(async (dir) => {
    const labels = [0, 1, 2, 3, 4, 5, 6, 7].map(labelN);
    const gen = new Gen(13);
    const hooks: NonNullable<DiskStoreOptions["testHooks"]> = {};
    let store = await openDiskStore(dir, { testHooks: hooks });
    await fill(store, gen, labels, 20_000);
    const logBytes = store.stats().logBytes;
    assert.ok(logBytes > 10_000_000, `log bytes ${logBytes}`);
    await store.close();

    // Clean shutdown: nothing to replay, no log bytes read.
    let t0 = performance.now();
    store = await openDiskStore(dir, { testHooks: hooks });
    const cleanMs = performance.now() - t0;
    assert.equal(store.stats().logBytesRead, 0);
    assert.equal(store.stats().entries, 20_000);

    // Crash before indexing one batch: exactly that batch is read back, twice (judged read-only first, then
    // replayed).
    hooks.crashBeforeIndex = true;
    const lost = gen.batch(labels, 64);
    await rejectsCode(() => store.commit(lost), "E.UNAVAILABLE");
    hooks.crashBeforeIndex = false;
    await store.close();
    const tailBytes = store.stats().logBytes - logBytes;
    t0 = performance.now();
    store = await openDiskStore(dir);
    const crashMs = performance.now() - t0;
    const read = store.stats().logBytesRead;
    assert.ok(read <= 2 * tailBytes, `read ${read} of a ${tailBytes}-byte tail`);
    assert.ok(read >= 2 * tailBytes * 0.9, `read ${read} of a ${tailBytes}-byte tail`);
    assert.equal(store.stats().replayedAtOpen, 64);
    console.log(
      `open after 20k entries: clean ${cleanMs.toFixed(1)} ms, with a 64-entry tail ${crashMs.toFixed(1)} ms`,
    );
    await checkAgainst(store, gen);
    await store.close();
  });
});

Deno.test("DiskStore: after kill -9 mid-commit every acknowledged entry is there and the store is consistent", async () => {
  await withDir(async (dir) => {
    const storeUrl = new URL("./disk_store.ts", import.meta.url).href;
    const mmrUrl = new URL("../core/mod.ts", import.meta.url).href;
    const child = `
      import { openDiskStore } from "${storeUrl}";
      import { H, MmrAccumulator } from "${mmrUrl}";
      const store = await openDiskStore(${JSON.stringify(dir)}, { segmentBytes: 256 * 1024 });
      const labels = [0, 1, 2].map((i) => H(new Uint8Array([0x6b, i])));
      const accs = labels.map(() => new MmrAccumulator());
      for (let b = 0; ; b++) {
        const batch = [];
        for (let i = 0; i < 32; i++) {
          const li = (b + i) % 3;
          const leaf = H(new Uint8Array([b & 255, b >> 8, i]));
          const a = accs[li].append(leaf);
          batch.push({ label: labels[li], streamSeq: a.seq, leafHash: leaf, clientId: new Uint8Array(32).fill(li),
            clientSeq: a.seq, authRef: null, hubTs: b, receipt: new Uint8Array(150).fill(i), msg: new Uint8Array(700).fill(b & 255),
            newNodes: a.newNodes, peaks: accs[li].peaks() });
        }
        await store.commit(batch);
        console.log("acked " + accs.map((a) => a.size).join(" "));
      }
    `;
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--unstable-kv", child],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const childErr = new Response(proc.stderr).text();
    let acked = [0, 0, 0];
    let buf = "";
    const reader = proc.stdout.getReader();
    while (acked[0]! < 600) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += new TextDecoder().decode(value);
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) if (l.startsWith("acked ")) acked = l.slice(6).split(" ").map(Number);
    }
    proc.kill("SIGKILL");
    await proc.status;
    await reader.cancel().catch(() => {});
    assert.ok(acked[0]! >= 600, `child acked ${acked}; its stderr: ${await childErr}`);

    const store = await openDiskStore(dir, { segmentBytes: 256 * 1024 });
    const labels = [0, 1, 2].map((i) => H(new Uint8Array([0x6b, i])));
    for (const [i, label] of labels.entries()) {
      const head = store.head(label)!;
      assert.ok(head.seq >= acked[i]!, `label ${i}: head ${head.seq} < acknowledged ${acked[i]}`);
      const items = await store.readRange(label, 1, head.seq, head.seq);
      assert.equal(items.length, head.seq);
      const reader = store.nodeReader(label);
      for (let seq = 1; seq <= head.seq; seq += 7) {
        const p = await inclusionProof(reader, seq, head.seq);
        assert.ok(verifyInclusion(p, head.root, { seq, size: head.seq }));
      }
    }
    await store.close();
  });
});
