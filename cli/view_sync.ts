/**
 * Moves the client's MMR view forward with the hub's help, verifying everything it is given:
 * - `fetchItems` pages `/stream` until a page is empty (or `to` is reached) and enforces contiguity (no gaps, I12);
 * - `extendView` brings a view from size S to T by fetching the missing items with proofs (each item verified,
 *   appended, root compared), or, for a long gap, by `jumpView`: the signed RECEIPT at T, the peaks of size T
 *   rebuilt from the proof of leaf T, and a consistency proof from S to T (O(log n) data);
 * - `rebuildFromCheckpoint` starts a view at a verified CHECKPOINT (RESYNC0.2 step 3).
 */
import {
  bytesEqual,
  type Checkpoint,
  type MmrAccumulator,
  VeenError,
  verifyConsistency,
} from "../core/mod.ts";
import {
  appendChecked,
  checkCheckpoint,
  checkItem,
  checkItemProof,
  checkpointKey,
  checkReceipt,
  type ItemContext,
  peaksFromLastLeafProof,
  receiptKey,
  viewFromPeaks,
} from "./client_view.ts";
import type { HubHttp, StreamItem } from "./http_client.ts";

/** Gaps up to this many items are closed by fetching the items; longer ones by a consistency jump. */
export const MAX_CATCHUP_ITEMS = 1024;

/** Items from `from` (and up to `to`), page by page, in order, with no gaps; stops at the first empty page. */
export async function* fetchItems(
  http: HubHttp,
  label: Uint8Array,
  from: number,
  opts: { to?: number; withProof?: boolean; limit?: number } = {},
): AsyncGenerator<StreamItem> {
  let next = Math.max(1, from);
  while (opts.to === undefined || next <= opts.to) {
    const q: { to?: number; withProof?: boolean; limit?: number } = { withProof: opts.withProof === true };
    if (opts.to !== undefined) q.to = opts.to;
    if (opts.limit !== undefined) q.limit = opts.limit;
    const page = await http.streamPage(label, next, q);
    if (page.length === 0) return;
    for (const item of page) {
      const seq = item.receipt.streamSeq;
      if (seq !== next) {
        throw new VeenError(
          "E.SEQ",
          `Hub /stream sent stream_seq ${seq} where ${next} was due (${
            seq > next ? "skipped" : "repeated"
          } or reordered items, I12)`,
        );
      }
      if (opts.withProof === true && item.proof === undefined) {
        throw new VeenError(
          "E.SEQ",
          `Hub /stream sent no mmr_proof for stream_seq ${next} although one was asked for`,
        );
      }
      yield item;
      next++;
      if (opts.to !== undefined && next > opts.to) return;
    }
  }
}

/** Verifies a stream item in full and appends it to `view` (which must be at seq - 1); returns the leaf. */
export function applyItem(view: MmrAccumulator, item: StreamItem, ctx: ItemContext): Uint8Array {
  const leaf = checkItem(item.receipt, item.msg, ctx);
  if (item.proof !== undefined) checkItemProof(item.proof, leaf, item.receipt);
  appendChecked(view, item.receipt.streamSeq, leaf, item.receipt.mmrRoot);
  return leaf;
}

/**
 * True when the hub proves the log of `from` items with root `fromRoot` a prefix of the log of `to` items with root
 * `toRoot` (`from <= to`; equal sizes need equal roots).
 */
export async function provesPrefix(
  http: HubHttp,
  label: Uint8Array,
  from: number,
  fromRoot: Uint8Array,
  to: number,
  toRoot: Uint8Array,
): Promise<boolean> {
  if (from === to) return bytesEqual(fromRoot, toRoot);
  return verifyConsistency(await http.consistency(label, from, to), from, fromRoot, to, toRoot);
}

/** True when a verified view and `root` of `size` items agree: one is a proved prefix of the other, or is empty. */
export async function viewAgrees(
  http: HubHttp,
  label: Uint8Array,
  size: number,
  root: Uint8Array,
  view: MmrAccumulator,
): Promise<boolean> {
  const viewRoot = view.root();
  if (viewRoot === undefined || size === 0) return true;
  return size <= view.size
    ? await provesPrefix(http, label, size, root, view.size, viewRoot)
    : await provesPrefix(http, label, view.size, viewRoot, size, root);
}

/** The verified view of size `target`: signed RECEIPT, peaks from the last leaf's proof, consistency from `view`. */
export async function jumpView(
  http: HubHttp,
  ctx: ItemContext,
  view: MmrAccumulator,
  target: number,
): Promise<MmrAccumulator> {
  const { receipt } = await http.receipt(ctx.label, target);
  checkReceipt(receipt, receiptKey(receipt, ctx), ctx.label);
  if (receipt.streamSeq !== target) {
    throw new VeenError("E.SEQ", `Hub /receipt for ${target} answered stream_seq ${receipt.streamSeq}`);
  }
  const { proof } = await http.proof(ctx.label, target, target);
  if (!bytesEqual(proof.leafHash, receipt.leafHash)) {
    throw new VeenError("E.SEQ", `Hub /proof for ${target} is for another leaf`);
  }
  const peaks = peaksFromLastLeafProof(proof, target, receipt.mmrRoot);
  const oldRoot = view.root();
  if (view.size > 0 && oldRoot !== undefined) {
    if (!(await provesPrefix(http, ctx.label, view.size, oldRoot, target, receipt.mmrRoot))) {
      throw new VeenError(
        "E.SEQ",
        `Hub cannot prove that its log at ${target} extends the client's view at ${view.size}`,
      );
    }
  }
  return viewFromPeaks(target, peaks);
}

/**
 * Brings `view` to size `target` (no-op when already there). Small gaps fetch and verify every item (passed to
 * `onItem`); larger ones jump. Returns the resulting view (the same object unless it jumped).
 */
export async function extendView(
  http: HubHttp,
  ctx: ItemContext,
  view: MmrAccumulator,
  target: number,
  opts: { onItem?: (item: StreamItem) => void; maxItems?: number } = {},
): Promise<MmrAccumulator> {
  if (target <= view.size) return view;
  if (target - view.size > (opts.maxItems ?? MAX_CATCHUP_ITEMS)) {
    return await jumpView(http, ctx, view, target);
  }
  for await (const item of fetchItems(http, ctx.label, view.size + 1, { to: target, withProof: true })) {
    applyItem(view, item, ctx);
    opts.onItem?.(item);
  }
  if (view.size !== target) {
    throw new VeenError(
      "E.SEQ",
      `Hub served items only up to stream_seq ${view.size}, short of ${target} which its signed RECEIPT or CHECKPOINT covers (withheld items)`,
    );
  }
  return view;
}

/** A view at a CHECKPOINT: its signature and label checked, peaks rebuilt from the proof of leaf upto_seq. */
export async function rebuildFromCheckpoint(
  http: HubHttp,
  ctx: ItemContext,
  cp: Checkpoint,
): Promise<MmrAccumulator> {
  checkCheckpoint(cp, checkpointKey(cp, ctx), ctx.label);
  if (cp.uptoSeq === 0) return viewFromPeaks(0, []);
  const { proof } = await http.proof(ctx.label, cp.uptoSeq, cp.uptoSeq);
  return viewFromPeaks(cp.uptoSeq, peaksFromLastLeafProof(proof, cp.uptoSeq, cp.mmrRoot));
}
