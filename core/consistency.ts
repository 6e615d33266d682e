/**
 * Consistency proof between two sizes `m < n` (m >= 1) of one label's MMR: the MMR of n leaves extends the MMR of m
 * leaves (a project-defined object, wire decisions "MMR and proofs"; MMR rules of spec 004 §7).
 *
 * ```
 * consistency_proof = {
 *   1: ver        uint, MUST be 1
 *   2: old_peaks  [bstr32]  the peaks of the m-leaf MMR, ascending height (exactly popcount(m) entries)
 *   3: path       [bstr32]  right siblings that lift the old peaks below height b into the new peak of height b,
 *                           lowest first (possibly empty)
 *   4: new_peaks  [bstr32]  the new peaks that cover only leaves after m, ascending height (possibly empty)
 * }
 * ```
 * All four keys are required, unknown keys are rejected, CBOR is canonical, each list holds at most 64 entries, and
 * every list length is fixed by `(m, n)`; the verifier rejects any other length. There are no direction bits: the
 * verifier derives every one from `(m, n)`.
 *
 * Let b be the highest bit set in n and clear in m. Old peaks higher than b are unchanged new peaks. The old peaks
 * lower than b (the low bits r of m) all lie in the single new peak of height b. Verification:
 * 1. `mmr_root(old_peaks)` must equal the old root.
 * 2. If r > 0: start with `acc` = the smallest old peak (height h0 = trailing zeros of m). For each level l in
 *    [h0, b): let `j = floor((m - 1) / 2^l)`; if j is even, `acc = node(acc, path[next])`, else
 *    `acc = node(old peak of height l, acc)` (the next old peak in ascending order). All of `path` must be used.
 *    If r = 0, `path` is empty and the peak of height b is the last entry of `new_peaks` instead.
 * 3. The new peak list is `new_peaks || [acc if r > 0] || old peaks higher than b`; `mmr_root` of it must equal
 *    the new root.
 * Size: at most popcount(m) + b + popcount(n) hashes, O(log n).
 */
import { bytesEqual, is32 } from "./bytes.ts";
import { type CborValue, decodeCbor, encodeCbor, expectHashList, expectIntMap, expectUint } from "./cbor.ts";
import { VeenError } from "./errors.ts";
import {
  bit,
  type HashReader,
  MMR_MAX_LEAVES,
  mmrNode,
  mmrRoot,
  nodePosition,
  peakPositions,
  popcount,
} from "./mmr.ts";

/** Most entries in any list of a consistency proof. */
export const CONSISTENCY_MAX_LIST = 64;

/** A consistency proof between sizes m < n; see the module comment for the layout. */
export interface ConsistencyProof {
  /** Peaks of the old MMR, ascending height. */
  oldPeaks: Uint8Array[];
  /** Right siblings lifting the old peaks below height b into the new peak of height b, lowest first. */
  path: Uint8Array[];
  /** New peaks covering only leaves after m, ascending height. */
  newPeaks: Uint8Array[];
}

interface Layout {
  /** Highest bit set in n and clear in m. */
  b: number;
  /** Old peaks below height b, merged into the new peak of height b. */
  inside: number;
  /** For each level l in [h0, b): true when the sibling comes from `path` (right), false when an old peak (left). */
  steps: { level: number; right: boolean; index: number }[];
  /** Heights of the new peaks that cover only leaves after m, ascending. */
  newHeights: number[];
}

function layout(m: number, n: number): Layout {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 1 || m >= n || n > MMR_MAX_LEAVES) {
    throw new VeenError("E.SIZE", `Consistency needs integer sizes 1 <= m < n <= 2^52, got ${m} and ${n}`);
  }
  let b = 52;
  while (!(bit(n, b) === 1 && bit(m, b) === 0)) b--;
  const r = m % 2 ** b;
  const steps: Layout["steps"] = [];
  if (r > 0) {
    let h0 = 0;
    while (bit(m, h0) === 0) h0++;
    for (let l = h0; l < b; l++) {
      const j = Math.floor((m - 1) / 2 ** l);
      steps.push({ level: l, right: j % 2 === 0, index: j + 1 });
    }
  }
  const newHeights: number[] = [];
  for (let l = 0; l < b; l++) if (bit(n, l) === 1) newHeights.push(l);
  if (r === 0) newHeights.push(b);
  return { b, inside: popcount(r), steps, newHeights };
}

/** Builds the proof that the MMR of `n` leaves extends the one of `m` leaves, in one `readHashes` call. */
export async function consistencyProof(reader: HashReader, m: number, n: number): Promise<ConsistencyProof> {
  const lay = layout(m, n);
  const oldPos = peakPositions(m).map((p) => p.position);
  const pathPos = lay.steps.filter((s) => s.right).map((s) => nodePosition(s.level, s.index));
  const newPos = peakPositions(n).filter((p) => lay.newHeights.includes(p.height)).map((p) => p.position);
  const positions = [...oldPos, ...pathPos, ...newPos];
  const hashes = await reader.readHashes(positions);
  if (
    hashes.length !== positions.length || !hashes.every(is32)
  ) {
    throw new VeenError("E.SIZE", "Hash reader returned malformed hashes");
  }
  return {
    oldPeaks: hashes.slice(0, oldPos.length),
    path: hashes.slice(oldPos.length, oldPos.length + pathPos.length),
    newPeaks: hashes.slice(oldPos.length + pathPos.length),
  };
}

/** Canonical CBOR of `proof` (all four keys, always). */
export function encodeConsistencyProof(proof: ConsistencyProof): Uint8Array {
  for (const list of [proof.oldPeaks, proof.path, proof.newPeaks]) {
    if (list.length > CONSISTENCY_MAX_LIST) {
      throw new VeenError("E.SIZE", "Consistency proof list is too long");
    }
    for (const h of list) {
      if (!is32(h)) {
        throw new VeenError("E.SIZE", "Consistency hash size");
      }
    }
  }
  return encodeCbor(
    new Map<number, CborValue>([[1, 1], [2, proof.oldPeaks.slice()], [3, proof.path.slice()], [
      4,
      proof.newPeaks.slice(),
    ]]),
  );
}

/** Strict decoder (E.SIZE): canonical CBOR, ver 1, exactly keys 1..4, 32-byte hashes, bounded lists. */
export function decodeConsistencyProof(bytes: Uint8Array): ConsistencyProof {
  const m = expectIntMap(
    decodeCbor(bytes, "consistency_proof"),
    [1, 2, 3, 4],
    [1, 2, 3, 4],
    "consistency_proof",
  );
  if (expectUint(m.get(1), "consistency_proof ver") !== 1) {
    throw new VeenError("E.SIZE", "consistency_proof ver must be 1");
  }
  return {
    oldPeaks: expectHashList(m.get(2), CONSISTENCY_MAX_LIST, "consistency_proof old_peaks"),
    path: expectHashList(m.get(3), CONSISTENCY_MAX_LIST, "consistency_proof path"),
    newPeaks: expectHashList(m.get(4), CONSISTENCY_MAX_LIST, "consistency_proof new_peaks"),
  };
}

/** True when `proof` shows that the MMR with `newRoot` at `n` leaves extends the one with `oldRoot` at `m` leaves. */
export function verifyConsistency(
  proof: ConsistencyProof,
  m: number,
  oldRoot: Uint8Array,
  n: number,
  newRoot: Uint8Array,
): boolean {
  try {
    const lay = layout(m, n);
    const { oldPeaks, path, newPeaks } = proof;
    const rights = lay.steps.filter((s) => s.right).length;
    if (
      oldPeaks.length !== popcount(m) || path.length !== rights || newPeaks.length !== lay.newHeights.length
    ) {
      return false;
    }
    if (path.some((h) => h.length !== 32)) return false; // peaks are checked by mmrRoot
    if (!bytesEqual(mmrRoot(oldPeaks), oldRoot)) return false;
    const peaks = [...newPeaks];
    if (lay.inside > 0) {
      let acc = oldPeaks[0]!;
      let nextOld = 1;
      let nextPath = 0;
      for (const s of lay.steps) {
        acc = s.right ? mmrNode(acc, path[nextPath++]!) : mmrNode(oldPeaks[nextOld++]!, acc);
      }
      if (nextOld !== lay.inside || nextPath !== path.length) return false;
      peaks.push(acc);
    }
    peaks.push(...oldPeaks.slice(lay.inside));
    return bytesEqual(mmrRoot(peaks), newRoot);
  } catch (e) {
    if (e instanceof VeenError) return false;
    throw e;
  }
}
