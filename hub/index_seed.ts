/**
 * Rebuilding the KV index after retention (docs/durability.md "Retention"). A fresh index normally means a full replay of
 * the log. Once retention has dropped segments, the entries they held live on only in the MMR node and position
 * files, and what the index needs of them is in the dropped segments' tombstone sidecars (hub/segment_index.ts): per
 * label the last stream_seq, per client its last (client_seq, stream_seq). {@link planIndexSeed} turns those into
 * the index state at the first segment that still has both families: each such label's head at its last dropped
 * seq (peaks read from its node file) and each client's row (leaf read from the node file). Committing that state
 * with `["meta","indexed"]` at the start of that segment lets the ordinary replay index the retained log on top,
 * after the node and position files were truncated to the seeded heads.
 *
 * A seeded client row's KEX1+ first_seen (hub/client_key_bounds.ts) is a lower bound of the hub_ts of the client's
 * first entry, which lies in the first dropped segment that names the client: the greatest `last_hub_ts` of the
 * segments before that one, or 0 when there is none (the client is named by segment 0, or older sidecars lack
 * last_hub_ts). A rebuild may so shorten a client key's remaining lifetime on a label, never lengthen it.
 *
 * Reads one sidecar per dropped segment and O(log n) nodes per label plus one leaf per client: O(dropped segments +
 * labels + clients), never the dropped entries. The node files of the dropped range are trusted as stored;
 * `veen hub fsck` re-hashes them.
 */
import { leafPosition, mmrRoot, nodeCountForLeaves, peakPositions, toHex, VeenError } from "../core/mod.ts";
import type { IndexItem } from "./kv_index.ts";
import {
  listSegments,
  type LogPosition,
  readSidecar,
  type SegmentIndex,
  segmentName,
} from "./segment_index.ts";
import { StorageDamage } from "./storage_damage.ts";
import { NodeStore, PosStore } from "./node_store.ts";
import { clientKey, type LabelHead } from "./store.ts";

/** The index state at the start of the first segment whose receipts and payloads are both present. */
export interface IndexSeed {
  /** Where the replay continues: record 0 of that segment. */
  from: LogPosition;
  /** Segments below `from.seg` whose tombstones were read. */
  segments: number;
  /** One per label with entries before `from`: its state after its last such entry. */
  heads: LabelHead[];
  /** One per (label, client) with entries before `from`: its last such entry. */
  items: IndexItem[];
}

const RESTORE = "restore index.kv*, mmr/ and pos/ from a backup";

function unavailable(what: string): never {
  throw new VeenError("E.UNAVAILABLE", `The index cannot be rebuilt after retention: ${what}; ${RESTORE}`);
}

async function tombstone(dir: string, seg: number): Promise<SegmentIndex> {
  let idx: SegmentIndex | undefined;
  try {
    idx = (await readSidecar(dir, seg))?.index;
  } catch (e) {
    if (!(e instanceof StorageDamage)) throw e;
    unavailable(`both copies of the tombstone of dropped segment ${segmentName(seg)} are damaged (${e.why})`);
  }
  if (idx === undefined) unavailable(`segment ${segmentName(seg)} was dropped and its sidecar is missing`);
  if (idx.segment !== seg) unavailable(`sidecar ${segmentName(seg)}.idx names segment ${idx.segment}`);
  if (idx.clients === undefined) {
    unavailable(`the sidecar of dropped segment ${segmentName(seg)} predates per-client records`);
  }
  return idx;
}

/**
 * The seed for a fresh index, or undefined when no segment was dropped (a full replay rebuilds everything).
 * E.UNAVAILABLE, before anything is written, when a tombstone or the node or position file of a dropped entry is
 * missing, short or inconsistent.
 */
export async function planIndexSeed(dir: string): Promise<IndexSeed | undefined> {
  const r = await listSegments(`${dir}/receipts`);
  const p = await listSegments(`${dir}/payloads`);
  const first = Math.max(r[0] ?? 0, p[0] ?? 0);
  if (first === 0) return undefined;

  const labels = new Map<string, { label: Uint8Array; seq: number; hubTs: number }>();
  const clients = new Map<
    string,
    { label: Uint8Array; clientId: Uint8Array; clientSeq: number; streamSeq: number; firstSeen: number }
  >();
  let rec = 0;
  /** The greatest last_hub_ts of the segments read so far: a lower bound of every later entry's hub_ts. */
  let hubTsBefore = 0;
  for (let seg = 0; seg < first; seg++) {
    const idx = await tombstone(dir, seg);
    if (idx.firstRec !== rec) {
      unavailable(`tombstone ${segmentName(seg)} starts at record ${idx.firstRec}, expected ${rec}`);
    }
    rec = idx.firstRec + idx.records;
    for (const l of idx.labels) {
      const hex = toHex(l.label);
      const cur = labels.get(hex);
      if (l.firstSeq !== (cur?.seq ?? 0) + 1 || l.lastSeq < l.firstSeq) {
        unavailable(`tombstone ${segmentName(seg)} has seqs ${l.firstSeq}..${l.lastSeq} of label ${hex}`);
      }
      labels.set(hex, { label: l.label, seq: l.lastSeq, hubTs: idx.lastHubTs ?? 0 });
    }
    for (const l of idx.clients!) {
      for (const c of l.clients) {
        const k = clientKey(l.label, c.clientId);
        const firstSeen = clients.get(k)?.firstSeen ?? hubTsBefore;
        clients.set(k, { label: l.label, ...c, firstSeen });
      }
    }
    hubTsBefore = Math.max(hubTsBefore, idx.lastHubTs ?? 0);
  }

  const nodes = await NodeStore.open(`${dir}/mmr`);
  const pos = await PosStore.open(`${dir}/pos`);
  try {
    const heads: LabelHead[] = [];
    for (const [hex, l] of labels) {
      const count = nodeCountForLeaves(l.seq);
      let peaks: Uint8Array[];
      let lastSeg: number;
      try {
        peaks = nodes.readHashes(l.label, peakPositions(l.seq).map((pk) => pk.position), count);
        lastSeg = pos.read(l.label, l.seq, 1)[0]!.seg;
      } catch (e) {
        if (!(e instanceof VeenError)) throw e;
        unavailable(
          `label ${hex}: its node or position file is missing or shorter than its ${l.seq} dropped entries`,
        );
      }
      if (lastSeg >= first) {
        unavailable(
          `label ${hex}: the position of entry ${l.seq} names segment ${lastSeg}, not a dropped one`,
        );
      }
      heads.push({ label: l.label, seq: l.seq, peaks, root: mmrRoot(peaks), lastHubTs: l.hubTs });
    }
    const items: IndexItem[] = [];
    for (const [k, c] of clients) {
      const head = labels.get(toHex(c.label));
      if (head === undefined || c.streamSeq < 1 || c.streamSeq > head.seq) {
        unavailable(
          `a tombstone names entry ${c.streamSeq} of client ${
            toHex(c.clientId).slice(0, 16)
          }… outside its label`,
        );
      }
      const [leafHash] = nodes.readHashes(c.label, [leafPosition(c.streamSeq)], nodeCountForLeaves(head.seq));
      items.push({ ...c, leafHash: leafHash!, clientKey: k, hubTs: c.firstSeen });
    }
    return { from: { seg: first, rOff: 0, pOff: 0, rec }, segments: first, heads, items };
  } finally {
    await nodes.close();
    await pos.close();
  }
}
