/**
 * What a client can check about what a hub returned, without trusting it (spec 004 §9, §12 invariants I1-I4, I8,
 * I12). Failures are VeenError: E.SIG for signatures and for bytes that do not bind to each other (I1, I2), E.SEQ
 * for sequence and root mismatches (I3, I12), E.PROFILE for an unsupported profile (I4).
 */
import { bytesEqual, toHex } from "./bytes.ts";
import { type Checkpoint, verifyCheckpointSig } from "./checkpoint.ts";
import { VeenError } from "./errors.ts";
import { MmrAccumulator } from "./mmr.ts";
import { type MmrProof, verifyInclusion } from "./mmr_proof.ts";
import { ctHashMatches, leafHash, type Msg } from "./msg.ts";
import { type Receipt, verifyReceiptSig } from "./receipt.ts";

/** Checks a RECEIPT against the MSG it answers: hub_sig, label, I1, I2, I4. */
export function verifyReceiptForMsg(
  receipt: Receipt,
  msg: Msg,
  hubPk: Uint8Array,
  supportedProfiles: readonly Uint8Array[],
): void {
  if (!verifyReceiptSig(receipt, hubPk)) {
    throw new VeenError("E.SIG", "RECEIPT.hub_sig does not verify under the hub key");
  }
  if (!supportedProfiles.some((p) => bytesEqual(p, msg.profileId))) {
    throw new VeenError("E.PROFILE", `Unsupported profile_id ${toHex(msg.profileId)} (I4)`);
  }
  if (!bytesEqual(receipt.label, msg.label)) {
    throw new VeenError("E.SIG", "RECEIPT.label differs from MSG.label");
  }
  if (!ctHashMatches(msg)) throw new VeenError("E.SIG", "ct_hash does not match H(ciphertext) (I1)");
  if (!bytesEqual(receipt.leafHash, leafHash(msg))) {
    throw new VeenError("E.SIG", "RECEIPT.leaf_hash does not match the MSG (I2)");
  }
  if (receipt.streamSeq < 1) throw new VeenError("E.SEQ", "RECEIPT.stream_seq must be at least 1 (I12)");
}

/** Checks an item's proof against its own RECEIPT root at position (stream_seq, stream_seq). */
export function verifyItemProof(receipt: Receipt, proof: MmrProof): void {
  if (!bytesEqual(proof.leafHash, receipt.leafHash)) {
    throw new VeenError("E.SIG", `Proof for stream_seq ${receipt.streamSeq} is for another leaf`);
  }
  if (!verifyInclusion(proof, receipt.mmrRoot, { seq: receipt.streamSeq, size: receipt.streamSeq })) {
    throw new VeenError(
      "E.SEQ",
      `Proof for stream_seq ${receipt.streamSeq} does not reach its mmr_root (I3)`,
    );
  }
}

/** Checks a CHECKPOINT's hub_sig under the hub key (witness signatures: `hasWitness` in checkpoint.ts). */
export function verifyCheckpoint(cp: Checkpoint, hubPk: Uint8Array): void {
  if (!verifyCheckpointSig(cp, hubPk)) {
    throw new VeenError("E.SIG", "CHECKPOINT.hub_sig does not verify under the hub key");
  }
}

/**
 * A client's own view of one label's MMR (O(log n) state). Feeding it every RECEIPT in order checks I3 and I12:
 * each stream_seq is exactly size + 1 and each mmr_root is the root after appending that leaf.
 */
export class ClientMmrView {
  private acc: MmrAccumulator;

  constructor(size = 0, peaks: readonly Uint8Array[] = []) {
    this.acc = new MmrAccumulator(size, peaks);
  }

  get size(): number {
    return this.acc.size;
  }

  peaks(): Uint8Array[] {
    return this.acc.peaks();
  }

  root(): Uint8Array | undefined {
    return this.acc.root();
  }

  /** Appends the receipt's leaf; throws E.SEQ on a gap, reordering or a root the client cannot reproduce. */
  advance(receipt: Receipt): void {
    if (receipt.streamSeq !== this.acc.size + 1) {
      throw new VeenError(
        "E.SEQ",
        `Expected stream_seq ${this.acc.size + 1}, hub sent ${receipt.streamSeq} (gap or reordering, I12)`,
      );
    }
    const next = this.acc.clone();
    const { root } = next.append(receipt.leafHash);
    if (!bytesEqual(root, receipt.mmrRoot)) {
      throw new VeenError(
        "E.SEQ",
        `mmr_root of stream_seq ${receipt.streamSeq} does not extend the client's view (I3)`,
      );
    }
    this.acc = next;
  }
}
