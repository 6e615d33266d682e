/**
 * Replication through a bridge (spec 002 §3, overlay decisions "FED1 / AUTH1", docs/replication.md): copies a
 * label's entries from its primary to a replica with the primary's RECEIPTs (`POST /replicate` on the replica),
 * so both end with the same leaves, seqs and roots, then the primary's latest CHECKPOINT (`POST
 * /replicate/checkpoint`). Stateless: each pass starts from the replica's head. Before copying, the RECEIPTs
 * both hold at the replica's head are compared: a different entry there (or a replica ahead of its primary) is
 * equivocation evidence; the label stops with both RECEIPTs reported and nothing is sent, so nothing is
 * overwritten (the replica refuses such items itself too).
 */
import { bytesEqual, concat, decodeCheckpoint, fromHex, toHex, VeenError } from "../core/mod.ts";
import type { HubHttp } from "../cli/mod.ts";

/** Bytes of items per `POST /replicate` (a single larger item goes alone). */
const REPLICATE_CHUNK_BYTES = 1024 * 1024;
const CBOR_SEQ = "application/cbor-seq";
const ARRAY2 = new Uint8Array([0x82]);

export interface ReplicateResult {
  label: string;
  /** Entries the replica appended in this pass, and those it already held. */
  appended: number;
  held: number;
  /** The replica's head after this pass, and the primary's size when the pass started. */
  seq: number;
  primary_seq: number;
  /** The primary's checkpoint upto_seq the replica stored in this pass (null: none). */
  checkpoint: number | null;
  /** Set when the label stopped: the seq and both signed RECEIPTs (hex), or the reason. */
  equivocation?: {
    stream_seq: number;
    primary_receipt: string | null;
    replica_receipt: string;
    reason: string;
  };
}

export interface ReplicateOptions {
  from: HubHttp;
  to: HubHttp;
  /** The primary's hub key (its /info key; the replica accepts it only when the authority record names it). */
  primaryPk: Uint8Array;
  label: Uint8Array;
  /** Most items copied in this pass. */
  maxItems: number;
}

/** Equivocation evidence at `seq`: the RECEIPTs both hubs hold there. */
async function evidence(
  o: ReplicateOptions,
  seq: number,
  reason: string,
): Promise<NonNullable<ReplicateResult["equivocation"]>> {
  const mine = await o.to.receipt(o.label, seq);
  let theirs: string | null = null;
  try {
    theirs = toHex((await o.from.receipt(o.label, seq)).bytes);
  } catch (e) {
    if (!(e instanceof VeenError && e.code === "E.NOT_FOUND")) throw e;
  }
  return { stream_seq: seq, primary_receipt: theirs, replica_receipt: toHex(mine.bytes), reason };
}

/** One pass for one label: what the primary has and the replica lacks, then the latest checkpoint. */
export async function replicateLabel(o: ReplicateOptions): Promise<ReplicateResult> {
  const head = await o.to.labelSize(o.label);
  const size = await o.from.labelSize(o.label);
  const result: ReplicateResult = {
    label: toHex(o.label),
    appended: 0,
    held: 0,
    seq: head,
    primary_seq: size,
    checkpoint: null,
  };
  if (head > size) {
    result.equivocation = await evidence(o, head, `the replica holds ${head} entries, the primary ${size}`);
    return result;
  }
  if (head > 0) {
    const [p, r] = [await o.from.receipt(o.label, head), await o.to.receipt(o.label, head)];
    if (
      !bytesEqual(p.receipt.leafHash, r.receipt.leafHash) || !bytesEqual(p.receipt.mmrRoot, r.receipt.mmrRoot)
    ) {
      result.equivocation = {
        stream_seq: head,
        primary_receipt: toHex(p.bytes),
        replica_receipt: toHex(r.bytes),
        reason: "the primary and the replica hold different entries",
      };
      return result;
    }
  }
  let from = head + 1;
  while (from <= size && result.appended + result.held < o.maxItems) {
    const left = o.maxItems - result.appended - result.held;
    const page = await o.from.streamPage(o.label, from, { to: Math.min(size, from + left - 1) });
    if (page.length === 0) break;
    let chunk: Uint8Array[] = [];
    let bytes = 0;
    const send = async () => {
      if (chunk.length === 0) return;
      let answer: Record<string, unknown>;
      try {
        const { bytes: b } = await o.to.request(
          "POST",
          "/replicate",
          { primary_pk: toHex(o.primaryPk) },
          { bytes: concat(...chunk), type: CBOR_SEQ },
        );
        answer = JSON.parse(new TextDecoder().decode(b));
      } catch (e) {
        const m = e instanceof VeenError && e.code === "E.SEQ"
          ? /^Equivocation at stream_seq (\d+)/.exec(e.detail)
          : null;
        if (m === null) throw e;
        result.equivocation = await evidence(o, Number(m[1]), e instanceof VeenError ? e.detail : "");
        return;
      }
      result.appended += answer.appended as number;
      result.held += answer.held as number;
      result.seq = answer.seq as number;
      chunk = [];
      bytes = 0;
    };
    for (const it of page) {
      if (it.receipt.streamSeq !== from) {
        throw new VeenError(
          "E.SEQ",
          `The primary sent stream_seq ${it.receipt.streamSeq} where ${from} was due`,
        );
      }
      const n = 1 + it.receiptBytes.length + it.msgBytes.length;
      if (bytes > 0 && bytes + n > REPLICATE_CHUNK_BYTES) await send();
      if (result.equivocation !== undefined) return result;
      chunk.push(ARRAY2, it.receiptBytes, it.msgBytes);
      bytes += n;
      from++;
    }
    await send();
    if (result.equivocation !== undefined) return result;
  }
  await replicateCheckpoint(o, result);
  return result;
}

/** Sends the primary's latest CHECKPOINT when the replica holds its upto_seq and has an older one (or none). */
async function replicateCheckpoint(o: ReplicateOptions, result: ReplicateResult): Promise<void> {
  const cp = await o.from.checkpointLatest(o.label);
  if (cp === undefined || cp.checkpoint.uptoSeq > result.seq) return;
  const mine = await o.to.checkpointLatest(o.label);
  if (mine !== undefined && decodeCheckpoint(mine.bytes).uptoSeq >= cp.checkpoint.uptoSeq) return;
  await o.to.request(
    "POST",
    "/replicate/checkpoint",
    { primary_pk: toHex(o.primaryPk) },
    { bytes: cp.bytes, type: "application/cbor" },
  );
  result.checkpoint = cp.checkpoint.uptoSeq;
}

/** The labels the replica `to` replicates from the hub with id `primaryId` (GET /replication), and the others. */
export async function replicatedLabels(
  to: HubHttp,
  primaryId: Uint8Array,
): Promise<{ labels: Uint8Array[]; others: { label: string; primary_hub: string }[] }> {
  const answer = await to.json("/replication");
  const rows = (answer.labels ?? []) as { label: string; primary_hub: string }[];
  const labels: Uint8Array[] = [];
  const others: { label: string; primary_hub: string }[] = [];
  for (const r of rows) {
    if (r.primary_hub === toHex(primaryId)) {
      labels.push(fromHex(r.label, 32, "/replication label"));
    } else others.push({ label: r.label, primary_hub: r.primary_hub });
  }
  return { labels, others };
}
