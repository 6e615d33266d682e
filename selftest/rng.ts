/** The selftest's seeded randomness: every random choice of a run derives from `--seed N` (printed in the report). */

/** A small deterministic PRNG (mulberry32); good enough for choosing sizes, positions and mutations. */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("pick from an empty list");
    return xs[this.int(xs.length)]!;
  }

  /** An independent generator for one suite or step, so adding draws in one place does not shift the others. */
  fork(tag: string): Rng {
    let h = this.#s ^ 0x9e3779b9;
    for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 0x01000193);
    return new Rng(h >>> 0);
  }
}

/** Parses `--seed`: a non-negative integer below 2^32; a fresh random seed when absent. */
export function parseSeed(s: string | undefined): number {
  if (s === undefined) return crypto.getRandomValues(new Uint32Array(1))[0]!;
  if (!/^\d{1,10}$/.test(s) || Number(s) > 0xffff_ffff) {
    throw new Error(`--seed must be an integer in [0, 4294967295], got "${s}"`);
  }
  return Number(s);
}
