/**
 * `mmr_proof` (spec 004 §8, wire decisions "MMR and proofs"):
 * `{1: ver=1, 2: leaf_hash bstr32, 3: path, 4: peaks_after, 5?: peaks_before}`, path entries `{1: dir, 2: sib bstr32}`
 * from the leaf upward. `dir = 0`: the sibling is on the left (`acc = node(sib, acc)`); `dir = 1`: on the right
 * (`acc = node(acc, sib)`). The peak list is `peaks_before || [acc] || peaks_after` in ascending height and the root is
 * computed from it as in §7. Key 5 is omitted when there are no smaller peaks; present-but-empty is non-canonical and
 * rejected. At most 64 path steps and 64 peaks in all; unknown keys rejected; canonical CBOR only.
 */
import { bytesEqual, check32 } from "./bytes.ts";
import {
  type CborValue,
  decodeCbor,
  encodeCbor,
  expectBytes,
  expectHashList,
  expectIntMap,
  expectUint,
} from "./cbor.ts";
import { VeenError } from "./errors.ts";
import { inclusionLayout, mmrNode, mmrRoot } from "./mmr.ts";

/** Most path steps a proof may carry. */
export const MMR_PROOF_MAX_PATH = 64;
/** Most peaks (before + the leaf's + after) a proof may imply. */
export const MMR_PROOF_MAX_PEAKS = 64;

/** One step from the leaf toward its peak. */
export interface MmrPathStep {
  /** 0: `sib` is the left child; 1: `sib` is the right child. */
  dir: 0 | 1;
  sib: Uint8Array;
}

/** An inclusion proof; `peaksBefore` (smaller, newer peaks) is absent when there are none. */
export interface MmrProof {
  leafHash: Uint8Array;
  path: MmrPathStep[];
  /** Peaks larger (older) than the leaf's peak, ascending height. */
  peaksAfter: Uint8Array[];
  /** Peaks smaller (newer) than the leaf's peak, ascending height. */
  peaksBefore?: Uint8Array[];
}

function checkPeakCount(before: number, after: number): void {
  if (before + 1 + after > MMR_PROOF_MAX_PEAKS) {
    throw new VeenError("E.SIZE", `mmr_proof implies more than ${MMR_PROOF_MAX_PEAKS} peaks`);
  }
}

function checkShape(p: MmrProof): void {
  check32(p.leafHash, "mmr_proof leaf_hash");
  if (!Array.isArray(p.path) || p.path.length > MMR_PROOF_MAX_PATH) {
    throw new VeenError("E.SIZE", `mmr_proof path must be an array of at most ${MMR_PROOF_MAX_PATH} steps`);
  }
  for (const s of p.path) {
    if (s.dir !== 0 && s.dir !== 1) throw new VeenError("E.SIZE", "mmr_proof dir must be 0 or 1");
    check32(s.sib, "mmr_proof sib");
  }
  const before = p.peaksBefore ?? [];
  if (!Array.isArray(p.peaksAfter) || !Array.isArray(before)) {
    throw new VeenError("E.SIZE", "mmr_proof peaks must be arrays");
  }
  checkPeakCount(before.length, p.peaksAfter.length);
  for (const x of p.peaksAfter) check32(x, "mmr_proof peaks_after entry");
  for (const x of before) check32(x, "mmr_proof peaks_before entry");
}

/** Canonical CBOR of `proof`; an empty `peaksBefore` is encoded as absent (key 5 omitted). */
export function encodeMmrProof(proof: MmrProof): Uint8Array {
  checkShape(proof);
  const m = new Map<number, CborValue>([
    [1, 1],
    [2, proof.leafHash],
    [3, proof.path.map((s) => new Map<number, CborValue>([[1, s.dir], [2, s.sib]]))],
    [4, proof.peaksAfter.slice()],
  ]);
  if (proof.peaksBefore !== undefined && proof.peaksBefore.length > 0) m.set(5, proof.peaksBefore.slice());
  return encodeCbor(m);
}

/** Strict decoder: canonical CBOR, ver 1, known keys only, exact hash sizes, bounds, no empty key 5 (all E.SIZE). */
export function decodeMmrProof(bytes: Uint8Array): MmrProof {
  const m = expectIntMap(decodeCbor(bytes, "mmr_proof"), [1, 2, 3, 4, 5], [1, 2, 3, 4], "mmr_proof");
  if (expectUint(m.get(1), "mmr_proof ver") !== 1) throw new VeenError("E.SIZE", "mmr_proof ver must be 1");
  const leafHash = expectBytes(m.get(2), 32, "mmr_proof leaf_hash");
  const rawPath = m.get(3);
  if (!Array.isArray(rawPath) || rawPath.length > MMR_PROOF_MAX_PATH) {
    throw new VeenError("E.SIZE", `mmr_proof path must be an array of at most ${MMR_PROOF_MAX_PATH} steps`);
  }
  const path = rawPath.map((x, i): MmrPathStep => {
    const s = expectIntMap(x, [1, 2], [1, 2], `mmr_proof path[${i}]`);
    const dir = expectUint(s.get(1), `mmr_proof path[${i}] dir`);
    if (dir !== 0 && dir !== 1) throw new VeenError("E.SIZE", `mmr_proof path[${i}] dir must be 0 or 1`);
    return { dir, sib: expectBytes(s.get(2), 32, `mmr_proof path[${i}] sib`) };
  });
  const peaksAfter = expectHashList(m.get(4), MMR_PROOF_MAX_PEAKS - 1, "mmr_proof peaks_after");
  const proof: MmrProof = { leafHash, path, peaksAfter };
  if (m.has(5)) {
    const peaksBefore = expectHashList(m.get(5), MMR_PROOF_MAX_PEAKS - 1, "mmr_proof peaks_before");
    if (peaksBefore.length === 0) {
      throw new VeenError("E.SIZE", "mmr_proof peaks_before is present but empty");
    }
    proof.peaksBefore = peaksBefore;
  }
  checkPeakCount(proof.peaksBefore?.length ?? 0, peaksAfter.length);
  return proof;
}

/** The root `proof` implies (fold the path, then `peaks_before || acc || peaks_after`); E.SIZE if malformed. */
export function mmrProofRoot(proof: MmrProof): Uint8Array {
  checkShape(proof);
  let acc = proof.leafHash;
  for (const s of proof.path) acc = s.dir === 0 ? mmrNode(s.sib, acc) : mmrNode(acc, s.sib);
  return mmrRoot([...(proof.peaksBefore ?? []), acc, ...proof.peaksAfter]);
}

/**
 * True when `proof` yields `expectedRoot`. With `position`, also requires the exact shape of leaf `seq` in an MMR of
 * `size` leaves: path length, every dir bit, and the numbers of peaks before and after, so a proof for another leaf
 * or size fails. Malformed proofs and impossible positions give false.
 */
export function verifyInclusion(
  proof: MmrProof,
  expectedRoot: Uint8Array,
  position?: { seq: number; size: number },
): boolean {
  try {
    if (position !== undefined) {
      const lay = inclusionLayout(position.seq, position.size);
      if (proof.path.length !== lay.dirs.length) return false;
      if (!lay.dirs.every((d, i) => proof.path[i]!.dir === d)) return false;
      if ((proof.peaksBefore?.length ?? 0) !== lay.beforePositions.length) return false;
      if (proof.peaksAfter.length !== lay.afterPositions.length) return false;
    }
    return bytesEqual(mmrProofRoot(proof), expectedRoot);
  } catch (e) {
    if (e instanceof VeenError) return false;
    throw e;
  }
}
