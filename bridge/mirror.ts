/**
 * Cross-hub mirroring (ANCHOR0.3, spec-3 federation.mirror): copy a label's verified history from hub A to hub B
 * byte for byte. Every item read from A is checked (hub_sig under A's key, I1/I2 binding to its MSG, inclusion proof
 * against its own RECEIPT root, contiguity); the exact MSG bytes are submitted to B (the client's signature travels
 * with them), and B's RECEIPT must carry the same leaf, the same stream_seq and therefore the same mmr_root. A
 * mismatch means B is not a faithful mirror of A and stops the bridge with E.SEQ. Progress needs no state: B's size
 * for the label is where copying resumes, and an item B already holds answers E.DUP and is skipped. Items go to B
 * in `/submit_batch` requests within B's bounds (one MSG per `/submit` when B does not offer the route), each
 * request holding consecutive items of one client, so that a refusal can only make that client's later items fail
 * E.SEQ, never move another client's item to the refused seq; any refusal but E.DUP stops the pass there, as it
 * would one by one.
 */
import {
  type BatchAnswer,
  bytesEqual,
  ClientMmrView,
  DEFAULT_PROFILE_ID,
  type Receipt,
  toHex,
  VeenError,
  verifyItemProof,
  verifyReceiptForMsg,
  verifyReceiptSig,
} from "../core/mod.ts";
import type { HubHttp, StreamItem } from "../cli/mod.ts";

export interface MirrorResult {
  label: string;
  copied: number;
  skipped: number;
  size: number;
}

export interface MirrorOptions {
  from: HubHttp;
  to: HubHttp;
  fromHubPk: Uint8Array;
  toHubPk: Uint8Array;
  label: Uint8Array;
  /** Most items copied in this call (bounded work per pass). */
  maxItems: number;
  onItem?: (seq: number) => void;
}

/** B's /submit_batch bounds, or undefined when B offers only /submit. */
async function batchLimitsOf(to: HubHttp): Promise<{ items: number; bytes: number } | undefined> {
  const { max_batch_items: items, max_batch_bytes: bytes } = (await to.info()).raw;
  return typeof items === "number" && typeof bytes === "number" && items > 0 && bytes > 0
    ? { items, bytes }
    : undefined;
}

/** One MSG through /submit, answered as a batch item (a refusal is the answer, not a throw). */
async function submitOne(to: HubHttp, msgBytes: Uint8Array): Promise<BatchAnswer> {
  try {
    return await to.submit(msgBytes);
  } catch (e) {
    if (e instanceof VeenError) return { error: e };
    throw e;
  }
}

/** B's RECEIPT must verify under B's key and place A's item at the same seq with the same leaf and root. */
function checkPlacement(o: MirrorOptions, theirs: Receipt, got: Receipt): void {
  if (!verifyReceiptSig(got, o.toHubPk)) {
    throw new VeenError("E.SIG", "Hub B's RECEIPT does not verify under its key");
  }
  if (
    got.streamSeq !== theirs.streamSeq || !bytesEqual(got.leafHash, theirs.leafHash) ||
    !bytesEqual(got.mmrRoot, theirs.mmrRoot)
  ) {
    throw new VeenError(
      "E.SEQ",
      `Hub B placed A's stream_seq ${theirs.streamSeq} at ${got.streamSeq} with another root: B is not a mirror of A`,
    );
  }
}

/** Copies what A has and B lacks for one label, verifying both sides; returns what was done. */
export async function mirrorLabel(o: MirrorOptions): Promise<MirrorResult> {
  const start = await o.to.labelSize(o.label);
  const sizeA = await o.from.labelSize(o.label);
  const result = { label: toHex(o.label), copied: 0, skipped: 0, size: start };
  if (start > sizeA) {
    throw new VeenError(
      "E.SEQ",
      `Hub B holds ${start} items of ${result.label} but A only ${sizeA}: not a mirror of A`,
    );
  }
  if (start > 0) {
    // Equal roots at the same size mean identical histories (the root commits to every leaf).
    const [ra, rb] = [
      (await o.from.receipt(o.label, start)).receipt,
      (await o.to.receipt(o.label, start)).receipt,
    ];
    if (!verifyReceiptSig(ra, o.fromHubPk) || !verifyReceiptSig(rb, o.toHubPk)) {
      throw new VeenError("E.SIG", `A RECEIPT at stream_seq ${start} does not verify under its hub key`);
    }
    if (!bytesEqual(ra.mmrRoot, rb.mmrRoot)) {
      throw new VeenError(
        "E.SEQ",
        `Hub B's first ${start} items of ${result.label} differ from A's: not a mirror of A`,
      );
    }
  }
  let view: ClientMmrView | undefined;
  let from = start + 1;
  const limits = await batchLimitsOf(o.to);
  let chunk: StreamItem[] = [];
  let chunkBytes = 0;
  /** Submits the verified items of `chunk` to B (one /submit_batch, or /submit each) and checks B's answers. */
  const flush = async () => {
    const answers = limits === undefined
      ? [await submitOne(o.to, chunk[0]!.msgBytes)]
      : await o.to.submitBatch(chunk.map((it) => it.msgBytes));
    chunk.forEach((it, k) => {
      const a = answers[k]!;
      if ("error" in a) {
        if (a.error.code !== "E.DUP") throw a.error;
        result.skipped++;
      } else {
        checkPlacement(o, it.receipt, a.receipt);
        result.copied++;
        o.onItem?.(it.receipt.streamSeq);
      }
    });
    chunk = [];
    chunkBytes = 0;
  };
  while (from <= sizeA && result.copied + result.skipped + chunk.length < o.maxItems) {
    const page = await o.from.streamPage(o.label, from, { withProof: true });
    if (page.length === 0) break;
    for (const it of page) {
      if (result.copied + result.skipped + chunk.length >= o.maxItems) break;
      if (it.receipt.streamSeq !== from) {
        throw new VeenError("E.SEQ", `Hub A sent stream_seq ${it.receipt.streamSeq} where ${from} was due`);
      }
      verifyReceiptForMsg(it.receipt, it.msg, o.fromHubPk, [DEFAULT_PROFILE_ID]);
      if (it.proof === undefined) {
        throw new VeenError("E.SEQ", `Hub A sent stream_seq ${from} without a proof`);
      }
      verifyItemProof(it.receipt, it.proof);
      if (view !== undefined) view.advance(it.receipt);
      else if (from === 1) (view = new ClientMmrView()).advance(it.receipt);
      // One request holds consecutive items of one client only: B admits a request's items independently, so
      // after a refusal another client's item would land one seq early; the same client's next one fails E.SEQ.
      const full = chunk.length > 0 && (limits === undefined || chunk.length >= limits.items ||
        chunkBytes + it.msgBytes.length > limits.bytes ||
        !bytesEqual(chunk[0]!.msg.clientId, it.msg.clientId));
      if (full) await flush();
      chunk.push(it);
      chunkBytes += it.msgBytes.length;
      from++;
    }
  }
  if (chunk.length > 0) await flush();
  result.size = from - 1;
  return result;
}
