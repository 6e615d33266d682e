import assert from "node:assert/strict";
import { prng } from "../tests/util.ts";
import { type IndexItem, KvIndex } from "./kv_index.ts";
import { clientKey } from "./store.ts";

async function withKv(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-kv-" });
  try {
    await fn(`${dir}/index.kv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function items(label: Uint8Array, from: number, n: number, seed: number): IndexItem[] {
  const r = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const clientId = new Uint8Array(32).fill(i % 5);
    return {
      label,
      streamSeq: from + i,
      leafHash: r.bytes(32),
      clientId,
      clientSeq: 100 + from + i,
      clientKey: clientKey(label, clientId),
      hubTs: 1000 + from + i,
    };
  });
}

const head = (label: Uint8Array, seq: number) => ({
  label,
  seq,
  peaks: [new Uint8Array(32).fill(seq % 256)],
  root: new Uint8Array(32).fill(seq % 256),
  lastHubTs: seq,
});

Deno.test("KvIndex splits a batch over the mutation limit into ordered atomics with the marker last", async () => {
  await withKv(async (path) => {
    const label = new Uint8Array(32).fill(1);
    const kv = await KvIndex.open(path, { limits: { maxMutations: 3 } });
    const batch = items(label, 1, 100, 1);
    await kv.commitEntries(batch, [head(label, 100)], { seg: 1, rOff: 1000, pOff: 2000, rec: 100 });
    assert.equal(kv.atomics, 3, "5 client rows, one head and the marker in atomics of 3");
    assert.equal(
      (await kv.accepted(label, batch[7]!.clientId, batch[7]!.clientSeq))?.streamSeq,
      8,
      "recent window",
    );
    assert.equal(await kv.lastClientSeq(label, new Uint8Array(32).fill(3)), 199);
    kv.close();

    const kv2 = await KvIndex.open(path);
    const heads = await kv2.loadHeads();
    assert.equal(heads.length, 1);
    assert.equal(heads[0]!.seq, 100);
    assert.deepEqual((await kv2.loadMeta()).log, { seg: 1, rOff: 1000, pOff: 2000, rec: 100 });
    // cold caches read KV
    assert.equal(
      (await kv2.accepted(label, batch[99]!.clientId, batch[99]!.clientSeq))?.streamSeq,
      100,
      "last entry",
    );
    assert.equal(await kv2.accepted(label, batch[7]!.clientId, batch[7]!.clientSeq), undefined, "old, cold");
    assert.equal(await kv2.accepted(label, new Uint8Array(32), 1), undefined);
    assert.equal(await kv2.lastClientSeq(label, new Uint8Array(32).fill(4)), 200);
    assert.equal(await kv2.lastClientSeq(label, new Uint8Array(32).fill(9)), 0);
    kv2.close();
  });
});

Deno.test("KvIndex indexes checkpoints by upto_seq and epoch, and admissions by auth_ref", async () => {
  await withKv(async (path) => {
    const kv = await KvIndex.open(path);
    const label = new Uint8Array(32).fill(2);
    await kv.putCheckpoints([[label, 10, 1, 0, 50], [label, 20, 1, 50, 50], [label, 30, 2, 100, 50]], 150);
    assert.deepEqual(await kv.latestCheckpointLoc(label), [100, 50]);
    assert.deepEqual(await kv.checkpointLocsByEpoch(label, 1, 1, 10), [[0, 50], [50, 50]]);
    assert.deepEqual(await kv.checkpointLocsByEpoch(label, 0, 9, 2), [[0, 50], [50, 50]]);
    assert.equal(await kv.latestCheckpointLoc(new Uint8Array(32)), undefined);
    const root = new Uint8Array(32).fill(9);
    const row = (ref: number, off: number, issuedAt: number) => ({
      authRef: new Uint8Array(32).fill(ref),
      off,
      len: 99,
      capRoot: root,
      issuedAt,
    });
    await kv.putAdmissions([row(7, 0, 500)], 99);
    assert.deepEqual(await kv.admissionLoc(new Uint8Array(32).fill(7)), [0, 99]);
    assert.equal(await kv.admissionLoc(new Uint8Array(32).fill(8)), undefined);
    assert.deepEqual(await kv.loadMeta(), {
      log: undefined,
      checkpoints: 150,
      admissions: 99,
      admissionRoots: true,
    });
    // A cap root keeps the least issued_at of its records, within a batch and across batches.
    await kv.putAdmissions([row(8, 99, 700), row(6, 198, 400)], 297);
    assert.equal(await kv.capRootIssuedAt(root), 400);
    await kv.putAdmissions([row(7, 0, 500)], 297);
    assert.equal(await kv.capRootIssuedAt(root), 400);
    assert.equal(await kv.capRootIssuedAt(new Uint8Array(32)), undefined);
    kv.close();
  });
});
