/**
 * Client-side verification of hub answers against the client's own MMR view (spec 004 §9 and §12, I1..I12).
 * The pair, proof and checkpoint checks shared with other tools come from core/verify.ts; this file adds what only
 * a client asks: the label it requested, the sender's MSG.sig, the append to its own view, peaks rebuilt from a
 * proof, and where two views part. Every failure is a VeenError: E.SIG when a signature or a hash binding fails
 * (hub_sig, MSG.sig, I1 ct_hash, I2 leaf_hash, label), E.PROFILE for an unsupported profile (I4), E.SEQ for
 * sequence and MMR failures (I3 root, I12 contiguity, inclusion and consistency proofs).
 */
import {
  bytesEqual,
  type Checkpoint,
  ctHashMatches,
  inclusionLayout,
  MmrAccumulator,
  mmrNode,
  type MmrProof,
  mmrRoot,
  type Msg,
  peakPositions,
  type Receipt,
  toHex,
  VeenError,
  verifyCheckpoint,
  verifyCheckpointSig,
  verifyInclusion,
  verifyItemProof,
  verifyMsgSig,
  verifyReceiptForMsg,
  verifyReceiptSig,
} from "../core/mod.ts";

/** What every item is checked against. */
export interface ItemContext {
  label: Uint8Array;
  hubPk: Uint8Array;
  profileId: Uint8Array;
  /**
   * Other hub keys this client trusts (the hubs it has pinned): an item whose RECEIPT does not verify under
   * `hubPk` is accepted under one of them. After an authority flip the new primary's label starts with the old
   * primary's RECEIPTs, which it holds byte-identical (docs/replication.md "Clients after a flip"); a hub cannot
   * forge such a RECEIPT, and the MMR checks still bind it to the label's history.
   */
  peerKeys?: readonly Uint8Array[];
  /**
   * Keys this hub rotated away from (KEX0.1, cli/hub_rotation.ts), each trusted for this label's RECEIPTs and
   * CHECKPOINTs up to `uptoSeq`: the upto_seq of the label's CHECKPOINT signed by the old and the new key.
   */
  previousKeys?: readonly { key: Uint8Array; uptoSeq: number }[];
}

/** The rotated-away key that signed a statement at `seq` and may have (seq within its bound), if any. */
function previousKey(
  ctx: Pick<ItemContext, "previousKeys">,
  seq: number,
  verifies: (k: Uint8Array) => boolean,
): Uint8Array | undefined {
  return ctx.previousKeys?.find((p) => seq <= p.uptoSeq && verifies(p.key))?.key;
}

/**
 * The key `r` verifies under: the hub's, else a trusted peer's, else a rotated-away key within its bound; the
 * hub's when none does.
 */
export function receiptKey(
  r: Receipt,
  ctx: Pick<ItemContext, "hubPk" | "peerKeys" | "previousKeys">,
): Uint8Array {
  if (
    ((ctx.peerKeys?.length ?? 0) === 0 && (ctx.previousKeys?.length ?? 0) === 0) ||
    verifyReceiptSig(r, ctx.hubPk)
  ) {
    return ctx.hubPk;
  }
  const verifies = (k: Uint8Array) => verifyReceiptSig(r, k);
  return ctx.peerKeys?.find(verifies) ?? previousKey(ctx, r.streamSeq, verifies) ?? ctx.hubPk;
}

/** The key `c` verifies under: the hub's, else a rotated-away key within its bound; the hub's when none does. */
export function checkpointKey(c: Checkpoint, ctx: Pick<ItemContext, "hubPk" | "previousKeys">): Uint8Array {
  if ((ctx.previousKeys?.length ?? 0) === 0 || verifyCheckpointSig(c, ctx.hubPk)) return ctx.hubPk;
  return previousKey(ctx, c.uptoSeq, (k) => verifyCheckpointSig(c, k)) ?? ctx.hubPk;
}

const short = (b: Uint8Array) => toHex(b).slice(0, 16);

/** hub_sig of a RECEIPT under the pinned hub key, and its label. */
export function checkReceipt(r: Receipt, hubPk: Uint8Array, label: Uint8Array): void {
  if (!verifyReceiptSig(r, hubPk)) {
    throw new VeenError(
      "E.SIG",
      `RECEIPT for stream_seq ${r.streamSeq} does not verify under hub key ${short(hubPk)}`,
    );
  }
  if (!bytesEqual(r.label, label)) {
    throw new VeenError(
      "E.SIG",
      `RECEIPT label ${short(r.label)} is not the requested label ${short(label)}`,
    );
  }
}

/** The MSG-only checks: label, profile (I4), ct_hash (I1) and MSG.sig. */
export function checkMsg(m: Msg, ctx: Pick<ItemContext, "label" | "profileId">): void {
  if (!bytesEqual(m.label, ctx.label)) {
    throw new VeenError("E.SIG", `MSG label ${short(m.label)} is not ${short(ctx.label)}`);
  }
  if (!bytesEqual(m.profileId, ctx.profileId)) {
    throw new VeenError(
      "E.PROFILE",
      `MSG profile_id ${short(m.profileId)} is not the hub's ${short(ctx.profileId)}`,
    );
  }
  if (!ctHashMatches(m)) throw new VeenError("E.SIG", "MSG ct_hash is not H(ciphertext) (I1)");
  if (!verifyMsgSig(m)) {
    throw new VeenError("E.SIG", `MSG.sig does not verify under client_id ${short(m.clientId)}`);
  }
}

/**
 * Verifies a (RECEIPT, MSG) pair for the requested label and returns the leaf hash: hub_sig, profile (I4), label,
 * ct_hash (I1) and leaf_hash (I2) through core's verifyReceiptForMsg, plus the sender's MSG.sig.
 */
export function checkItem(r: Receipt, m: Msg, ctx: ItemContext): Uint8Array {
  if (!bytesEqual(r.label, ctx.label)) {
    throw new VeenError(
      "E.SIG",
      `RECEIPT label ${short(r.label)} is not the requested label ${short(ctx.label)}`,
    );
  }
  verifyReceiptForMsg(r, m, receiptKey(r, ctx), [ctx.profileId]);
  if (!verifyMsgSig(m)) {
    throw new VeenError("E.SIG", `MSG.sig does not verify under client_id ${short(m.clientId)}`);
  }
  return r.leafHash;
}

/** The inclusion proof of an item against its own RECEIPT root (core's verifyItemProof), for the leaf checked. */
export function checkItemProof(proof: MmrProof, leaf: Uint8Array, r: Receipt): void {
  if (!bytesEqual(leaf, r.leafHash)) {
    throw new VeenError("E.SIG", `Leaf of stream_seq ${r.streamSeq} is not its RECEIPT's`);
  }
  verifyItemProof(r, proof);
}

/**
 * I3/I12: appends `leaf` as leaf `seq` (which must be size + 1) and requires the resulting root to be `root`.
 * After a failed root check the view holds the rejected leaf; callers discard it (they never save it).
 */
export function appendChecked(view: MmrAccumulator, seq: number, leaf: Uint8Array, root: Uint8Array): void {
  if (seq !== view.size + 1) {
    throw new VeenError(
      "E.SEQ",
      `Expected stream_seq ${view.size + 1} next, hub gave ${seq} (gap or replay, I12)`,
    );
  }
  const got = view.append(leaf).root;
  if (!bytesEqual(got, root)) {
    throw new VeenError(
      "E.SEQ",
      `MMR root after stream_seq ${seq} is ${short(got)} locally but ${
        short(root)
      } in the RECEIPT (I3): the hub's log diverges from the client's view`,
    );
  }
}

/**
 * The peaks of the MMR of `size` leaves, from an inclusion proof of its last leaf (which has no smaller peaks):
 * `[fold(leaf, path)] || peaks_after`. The proof must verify against `root` (a signed RECEIPT or CHECKPOINT root).
 */
export function peaksFromLastLeafProof(proof: MmrProof, size: number, root: Uint8Array): Uint8Array[] {
  if (size < 1 || !verifyInclusion(proof, root, { seq: size, size })) {
    throw new VeenError(
      "E.SEQ",
      `Proof of leaf ${size} does not verify against the signed root for size ${size}`,
    );
  }
  let acc = proof.leafHash;
  for (const s of proof.path) acc = s.dir === 0 ? mmrNode(s.sib, acc) : mmrNode(acc, s.sib);
  const peaks = [acc, ...proof.peaksAfter];
  if (inclusionLayout(size, size).beforePositions.length !== 0 || !bytesEqual(mmrRoot(peaks), root)) {
    throw new VeenError("E.SEQ", `Cannot rebuild the peaks of size ${size} from the proof`);
  }
  return peaks;
}

/** A view of `size` leaves from verified peaks. */
export function viewFromPeaks(size: number, peaks: Uint8Array[]): MmrAccumulator {
  return new MmrAccumulator(size, peaks);
}

/** A CHECKPOINT's hub_sig under the pinned key and its label. */
export function checkCheckpoint(c: Checkpoint, hubPk: Uint8Array, label: Uint8Array): void {
  verifyCheckpoint(c, hubPk);
  if (!bytesEqual(c.labelCurr, label)) throw new VeenError("E.SIG", "CHECKPOINT is for another label");
}

/** True when a stored root (hex; null for no items) is the root of the stored peaks (local self-consistency). */
export function storedRootMatches(view: MmrAccumulator, storedRoot: string | null): boolean {
  const r = view.root();
  return (r === undefined ? null : toHex(r)) === storedRoot;
}

/**
 * Where two peak lists of the same size first differ: the leaf range of the oldest (largest) differing peak,
 * which is where the two logs part. Undefined when all peaks agree.
 */
export function firstDifferingPeak(
  size: number,
  local: readonly Uint8Array[],
  hub: readonly Uint8Array[],
): { from: number; to: number } | undefined {
  const heights = peakPositions(size).map((p) => p.height);
  let start = 1;
  for (let i = heights.length - 1; i >= 0; i--) {
    const width = 2 ** heights[i]!;
    const a = local[i];
    const b = hub[i];
    if (a === undefined || b === undefined || !bytesEqual(a, b)) {
      return { from: start, to: start + width - 1 };
    }
    start += width;
  }
  return undefined;
}
