import assert from "node:assert/strict";
import { decodeCbor, encodeCbor, MmrAccumulator, toHex } from "../core/mod.ts";
import { fill, Gen, labelN } from "../tests/store_gen.ts";
import { rejectsCode } from "../tests/util.ts";
import { openDiskStore } from "./disk_store.ts";
import { planIndexSeed } from "./index_seed.ts";
import { frameBody } from "./frame.ts";
import { scanLog } from "./segment_reader.ts";
import { segmentName } from "./segment_index.ts";

const DROP_ALL = { receiptsDays: 0, payloadsDays: 0, checkpointsDays: null };

/** A store with 3 labels over many 4 KiB segments, every rotated one dropped; the records' segments before the drop. */
async function droppedStore(dir: string) {
  const labels = [labelN(1), labelN(2), labelN(3)];
  const store = await openDiskStore(dir, { segmentBytes: 4096 });
  const gen = new Gen(41);
  await fill(store, gen, labels, 400, 16);
  await store.close();
  const records = [];
  for await (const r of scanLog(dir)) records.push(r);
  const reopened = await openDiskStore(dir, { segmentBytes: 4096 });
  const dropped = await reopened.enforceRetention(DROP_ALL, 4_000_000_000_000);
  await reopened.close();
  assert.ok(dropped.receipts.length >= 5, `dropped ${dropped.receipts.length}`);
  return { gen, records, first: dropped.receipts.at(-1)! + 1 };
}

Deno.test("planIndexSeed: heads and client rows as of the first retained segment, from tombstones and node files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-seed-" });
  try {
    assert.equal(await planIndexSeed(dir), undefined, "nothing dropped: a full replay rebuilds");
    const { gen, records, first } = await droppedStore(dir);
    const before = records.filter((r) => r.segment < first);

    const seed = (await planIndexSeed(dir))!;
    assert.deepEqual(seed.from, { seg: first, rOff: 0, pOff: 0, rec: before.length });
    assert.equal(seed.segments, first);

    const wantHeads = new Map<string, { seq: number; root: Uint8Array; peaks: Uint8Array[] }>();
    for (const [hex, list] of gen.byLabel) {
      const seq = before.filter((r) => toHex(r.label) === hex).length;
      const acc = new MmrAccumulator();
      for (const e of list.slice(0, seq)) acc.append(e.leafHash);
      wantHeads.set(hex, { seq, root: acc.root()!, peaks: acc.peaks() });
    }
    assert.equal(seed.heads.length, 3);
    for (const h of seed.heads) {
      const { seq, root, peaks } = h;
      assert.deepEqual({ seq, root, peaks }, wantHeads.get(toHex(h.label)));
    }

    const wantRows = new Map<string, [number, number, Uint8Array]>();
    for (const r of before) {
      wantRows.set(toHex(r.label) + toHex(r.clientId), [r.clientSeq, r.streamSeq, r.leafHash]);
    }
    assert.equal(seed.items.length, wantRows.size);
    for (const it of seed.items) {
      assert.equal(it.clientKey, toHex(it.label) + toHex(it.clientId));
      assert.deepEqual([it.clientSeq, it.streamSeq, it.leafHash], wantRows.get(it.clientKey));
    }

    // KEX1+ first_seen: the greatest hub_ts of the segments before the client's first one (0 for segment 0), a
    // lower bound of its first entry's hub_ts.
    const segLastTs = new Map<number, number>();
    const firstOf = new Map<string, { seg: number; hubTs: number }>();
    for (const r of before) {
      segLastTs.set(r.segment, Math.max(segLastTs.get(r.segment) ?? 0, r.hubTs));
      const k = toHex(r.label) + toHex(r.clientId);
      if (!firstOf.has(k)) firstOf.set(k, { seg: r.segment, hubTs: r.hubTs });
    }
    let fromSegment0 = 0;
    for (const it of seed.items) {
      const f = firstOf.get(it.clientKey)!;
      const want = Math.max(0, ...[...segLastTs].filter(([seg]) => seg < f.seg).map(([, ts]) => ts));
      assert.equal(it.firstSeen, want);
      assert.ok(it.firstSeen! <= f.hubTs);
      if (f.seg === 0) fromSegment0++;
    }
    assert.ok(fromSegment0 < seed.items.length, "some clients start after segment 0");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planIndexSeed: a missing or inconsistent tombstone or a short node file is E.UNAVAILABLE naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-seed-" });
  try {
    await droppedStore(dir);
    const refused = async (re: RegExp) => {
      const e = await rejectsCode(() => planIndexSeed(dir), "E.UNAVAILABLE");
      assert.match(e.detail, re);
      assert.match(e.detail, /restore index\.kv\*, mmr\/ and pos\/ from a backup/);
    };
    const sidecar = (fam: string, seg: number) => `${dir}/${fam}/${segmentName(seg)}.idx`;
    const saved = await Deno.readFile(sidecar("receipts", 1));

    // The payloads copy stands in for a lost receipts one; without either the plan refuses.
    await Deno.remove(sidecar("receipts", 1));
    assert.ok(await planIndexSeed(dir));
    await Deno.remove(sidecar("payloads", 1));
    await refused(/segment 00000001 was dropped and its sidecar is missing/);

    const m = decodeCbor(frameBody(saved, "sidecar")) as Map<string, unknown>;
    m.set("first_rec", (m.get("first_rec") as number) + 1);
    await Deno.writeFile(sidecar("receipts", 1), encodeCbor(m as never));
    await refused(/tombstone 00000001 starts at record/);
    await Deno.writeFile(sidecar("receipts", 1), saved);
    assert.ok(await planIndexSeed(dir));

    const nodes = `${dir}/mmr/${toHex(labelN(2))}.nodes`;
    await Deno.truncate(nodes, 64);
    await refused(new RegExp(`label ${toHex(labelN(2))}: its node or position file is missing or shorter`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
