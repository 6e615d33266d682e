/**
 * The per-label Merkle Mountain Range (spec 004 §7, wire decisions "MMR and proofs").
 *
 * - Leaves are leaf hashes (32 bytes) numbered by stream_seq, 1-based. An internal node is
 *   `Ht("veen/mmr-node", left || right)`.
 * - Peaks are ordered by ascending height: the newest, smallest peak first (3 leaves: `[leaf3, node(leaf1, leaf2)]`).
 * - Root = the peak itself when there is one peak, else `Ht("veen/mmr-root", concat(peaks))`. An empty MMR has no
 *   root: `mmrRoot([])` throws E.SIZE and `MmrAccumulator.root()` returns `undefined`.
 * - Storage addresses nodes by postorder position (0-based): leaf k (0-based) is at `2k - popcount(k)`; the node of
 *   height h over leaves `[j*2^h, (j+1)*2^h)` is at `pos_leaf((j+1)*2^h - 1) + h`. Appending leaf n writes the leaf and
 *   the parents it completes in increasing position order, so a flat append-only file of 32-byte entries is the
 *   store; after n leaves it holds `2n - popcount(n)` nodes.
 *
 * Proofs read node hashes through `HashReader` (as Go's sumdb/tlog does), so storage is pluggable and each proof
 * costs O(log n) hashes fetched in one `readHashes` call.
 */
import { check32 } from "./bytes.ts";
import { VeenError } from "./errors.ts";
import { Ht, HtOf } from "./hash.ts";
import type { MmrPathStep, MmrProof } from "./mmr_proof.ts";

/** Largest supported leaf count: every node position stays below 2^53. */
export const MMR_MAX_LEAVES = 2 ** 52;

/** Reads stored node hashes by postorder position; returns them in the order asked. */
export interface HashReader {
  readHashes(positions: number[]): Uint8Array[] | Promise<Uint8Array[]>;
}

/** `Ht("veen/mmr-node", left || right)` (spec 004 §7). */
export function mmrNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  return Ht("veen/mmr-node", left, right);
}

/** The root of a peak list in ascending height order (spec 004 §7); throws E.SIZE for an empty list. */
export function mmrRoot(peaks: readonly Uint8Array[]): Uint8Array {
  if (peaks.length === 0) throw new VeenError("E.SIZE", "An empty MMR has no root");
  for (const p of peaks) check32(p, "MMR peak");
  if (peaks.length === 1) return peaks[0]!;
  return HtOf("veen/mmr-root", peaks);
}

// ---- position arithmetic (safe integers, no 32-bit bit operators) ----

/** Number of set bits of a non-negative safe integer. */
export function popcount(n: number): number {
  let c = 0;
  while (n > 0) {
    c += n % 2;
    n = Math.floor(n / 2);
  }
  return c;
}

/** Bit `l` of a non-negative safe integer. */
export function bit(n: number, l: number): number {
  return Math.floor(n / 2 ** l) % 2;
}

function checkCount(n: number, what: string, min = 0): void {
  if (!Number.isSafeInteger(n) || n < min || n > MMR_MAX_LEAVES) {
    throw new VeenError("E.SIZE", `${what} ${n} is not an integer in [${min}, 2^52]`);
  }
}

/** Storage position of leaf `seq` (1-based): `2k - popcount(k)` with `k = seq - 1`. */
export function leafPosition(seq: number): number {
  checkCount(seq, "Leaf seq", 1);
  const k = seq - 1;
  return 2 * k - popcount(k);
}

/** Storage position of the node of `height` over leaves `[index*2^height, (index+1)*2^height)` (0-based). */
export function nodePosition(height: number, index: number): number {
  if (!Number.isInteger(height) || height < 0 || height > 52) {
    throw new VeenError("E.SIZE", `Bad node height ${height}`);
  }
  if (!Number.isSafeInteger(index) || index < 0) throw new VeenError("E.SIZE", `Bad node index ${index}`);
  return leafPosition((index + 1) * 2 ** height) + height;
}

/** Number of stored nodes after `n` leaves: `2n - popcount(n)`. */
export function nodeCountForLeaves(n: number): number {
  checkCount(n, "Leaf count");
  return 2 * n - popcount(n);
}

/** A peak of an MMR: its storage position and height. */
export interface PeakPosition {
  position: number;
  height: number;
}

interface PeakSpan extends PeakPosition {
  /** First leaf covered, 0-based. */
  start: number;
}

/** Peaks of an MMR of `size` leaves with the leaves they cover, ascending height. */
function peakSpans(size: number): PeakSpan[] {
  checkCount(size, "MMR size");
  const out: PeakSpan[] = [];
  let start = 0;
  for (let h = 52; h >= 0; h--) {
    if (bit(size, h) === 1) {
      const width = 2 ** h;
      out.push({ position: nodePosition(h, start / width), height: h, start });
      start += width;
    }
  }
  return out.reverse();
}

/** Positions and heights of the peaks of an MMR of `size` leaves, ascending height (newest first). */
export function peakPositions(size: number): PeakPosition[] {
  return peakSpans(size).map(({ position, height }) => ({ position, height }));
}

/** Where leaf `seq` sits in an MMR of `size` leaves, and the storage positions its inclusion proof reads. */
export interface InclusionLayout {
  /** Direction of each path step from the leaf upward (0: sibling on the left, 1: on the right). */
  dirs: (0 | 1)[];
  /** Storage positions of the siblings, leaf upward. */
  sibPositions: number[];
  /** Storage position of the leaf. */
  leafPosition: number;
  /** Positions of the peaks smaller (newer) than the leaf's peak, ascending height. */
  beforePositions: number[];
  /** Positions of the peaks larger (older) than the leaf's peak, ascending height. */
  afterPositions: number[];
}

/** The shape of the inclusion proof of leaf `seq` in an MMR of `size` leaves; E.NOT_FOUND unless 1 <= seq <= size. */
export function inclusionLayout(seq: number, size: number): InclusionLayout {
  checkCount(size, "MMR size");
  checkCount(seq, "Leaf seq");
  if (seq < 1 || seq > size) {
    throw new VeenError("E.NOT_FOUND", `Leaf ${seq} is not in an MMR of ${size} leaves`);
  }
  const k = seq - 1;
  const peaks = peakSpans(size);
  const idx = peaks.findIndex((p) => k >= p.start && k < p.start + 2 ** p.height);
  const peak = peaks[idx]!;
  const dirs: (0 | 1)[] = [];
  const sibPositions: number[] = [];
  for (let l = 0; l < peak.height; l++) {
    const j = Math.floor(k / 2 ** l);
    const even = j % 2 === 0;
    dirs.push(even ? 1 : 0);
    sibPositions.push(nodePosition(l, even ? j + 1 : j - 1));
  }
  return {
    dirs,
    sibPositions,
    leafPosition: leafPosition(seq),
    beforePositions: peaks.slice(0, idx).map((p) => p.position),
    afterPositions: peaks.slice(idx + 1).map((p) => p.position),
  };
}

async function readChecked(reader: HashReader, positions: number[]): Promise<Uint8Array[]> {
  const hashes = await reader.readHashes(positions);
  if (hashes.length !== positions.length) {
    throw new VeenError(
      "E.SIZE",
      `Hash reader returned ${hashes.length} hashes for ${positions.length} positions`,
    );
  }
  for (const h of hashes) check32(h, "Stored MMR node");
  return hashes;
}

/**
 * Inclusion proof (spec 004 §8) of leaf `seq` against the root of the MMR at `size` leaves (`seq <= size`, which may
 * be older than the store). Reads `1 + height + (peaks - 1)` hashes in one `readHashes` call. `peaksBefore` is
 * omitted when empty, so the proof of the newest leaf right after its append carries no key 5.
 */
export async function inclusionProof(reader: HashReader, seq: number, size: number): Promise<MmrProof> {
  const lay = inclusionLayout(seq, size);
  const positions = [lay.leafPosition, ...lay.sibPositions, ...lay.beforePositions, ...lay.afterPositions];
  const hashes = await readChecked(reader, positions);
  let i = 0;
  const leafHash = hashes[i++]!;
  const path: MmrPathStep[] = lay.dirs.map((dir) => ({ dir, sib: hashes[i++]! }));
  const peaksBefore = lay.beforePositions.map(() => hashes[i++]!);
  const peaksAfter = lay.afterPositions.map(() => hashes[i++]!);
  return peaksBefore.length === 0
    ? { leafHash, path, peaksAfter }
    : { leafHash, path, peaksAfter, peaksBefore };
}

/** The peaks (ascending height) of the MMR at any past or present `size`, read in one call; `[]` for size 0. */
export async function peaksAt(reader: HashReader, size: number): Promise<Uint8Array[]> {
  const positions = peakPositions(size).map((p) => p.position);
  if (positions.length === 0) return [];
  return await readChecked(reader, positions);
}

/** The result of one append: the leaf's stream_seq, the new root and the node hashes to store, in position order. */
export interface MmrAppend {
  seq: number;
  root: Uint8Array;
  newNodes: Uint8Array[];
}

/**
 * The MMR state `(seq, peaks)` of spec 004 §7 in O(log n) memory. `append` folds while the low bit of the new seq
 * is 0 (amortized one node hash per leaf) and reports the nodes to append to the store.
 */
export class MmrAccumulator {
  #size: number;
  /** Peaks in descending height (oldest first), so appends push and pop at the end. */
  #desc: Uint8Array[];
  #root: Uint8Array | undefined;

  /** An MMR of `size` leaves with `peaks` in ascending height; empty by default. */
  constructor(size = 0, peaks: readonly Uint8Array[] = []) {
    checkCount(size, "MMR size");
    if (peaks.length !== popcount(size)) {
      throw new VeenError(
        "E.SIZE",
        `An MMR of ${size} leaves has ${popcount(size)} peaks, got ${peaks.length}`,
      );
    }
    for (const p of peaks) check32(p, "MMR peak");
    this.#size = size;
    this.#desc = peaks.slice().reverse();
    this.#root = size === 0 ? undefined : mmrRoot(peaks);
  }

  /** Number of leaves (the last stream_seq). */
  get size(): number {
    return this.#size;
  }

  /** The peaks in ascending height (newest first). */
  peaks(): Uint8Array[] {
    return this.#desc.slice().reverse();
  }

  /** The current root, or `undefined` for an empty MMR. */
  root(): Uint8Array | undefined {
    return this.#root;
  }

  /** An independent copy of this state (no re-validation). */
  clone(): MmrAccumulator {
    const c = new MmrAccumulator();
    c.#size = this.#size;
    c.#desc = this.#desc.slice();
    c.#root = this.#root;
    return c;
  }

  /** Appends `leafHash` as leaf `size + 1`. */
  append(leafHash: Uint8Array): MmrAppend {
    check32(leafHash, "Leaf hash");
    if (this.#size >= MMR_MAX_LEAVES) throw new VeenError("E.SIZE", "MMR is full");
    const seq = this.#size + 1;
    const newNodes = [leafHash];
    let acc = leafHash;
    for (let s = seq; s % 2 === 0; s /= 2) {
      acc = mmrNode(this.#desc.pop()!, acc);
      newNodes.push(acc);
    }
    this.#desc.push(acc);
    this.#size = seq;
    const root = mmrRoot(this.#desc.toReversed());
    this.#root = root;
    return { seq, root, newNodes };
  }
}

/** An in-memory node store (a flat array by position) for tests and clients. */
export class MemoryHashStore implements HashReader {
  #nodes: Uint8Array[] = [];

  /** Appends node hashes in position order (for example `MmrAccumulator.append(...).newNodes`). */
  append(hashes: readonly Uint8Array[]): void {
    for (const h of hashes) check32(h, "MMR node");
    this.#nodes.push(...hashes);
  }

  /** Number of stored nodes. */
  get size(): number {
    return this.#nodes.length;
  }

  readHashes(positions: number[]): Uint8Array[] {
    return positions.map((p) => {
      const h = this.#nodes[p];
      if (h === undefined) throw new VeenError("E.NOT_FOUND", `No MMR node at position ${p}`);
      return h;
    });
  }
}
