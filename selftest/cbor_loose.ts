/**
 * An independent CBOR encoder for the selftest: with no deviation it must produce exactly core's canonical bytes
 * (a cross-check of determinism); with one deviation at one chosen node it produces a non-canonical but otherwise
 * faithful encoding of the same value, which every core decoder must refuse with E.SIZE.
 */
import type { CborValue } from "../core/mod.ts";

export const DEVIATIONS = [
  "wide-int", // an integer in a longer head than needed
  "wide-len", // a byte/text string, array or map length in a longer head than needed
  "indefinite", // an array or map with indefinite length
  "unsorted", // map keys not in canonical order
  "duplicate-key", // one map key twice
  "float", // an integer written as a float64
  "tag", // a tag around one item
  "trailing", // one byte after the item
] as const;
export type Deviation = typeof DEVIATIONS[number];

function head(major: number, n: number, wide = false): number[] {
  const m = major << 5;
  if (!wide && n < 24) return [m | n];
  if (!wide && n < 0x100) return [m | 24, n];
  if (!wide && n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  if (!wide && n < 0x1_0000_0000) {
    return [m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  }
  const out = [m | 27];
  const big = BigInt(n);
  for (let i = 7; i >= 0; i--) out.push(Number((big >> BigInt(i * 8)) & 0xffn));
  return out;
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Which deviations can apply to a value of this shape. */
function applicable(v: CborValue, d: Deviation): boolean {
  switch (d) {
    case "wide-int":
      return typeof v === "number" && Math.abs(v) < 0x1_0000_0000;
    case "float":
      return typeof v === "number";
    case "wide-len":
      return (v instanceof Uint8Array && v.length < 0x1_0000_0000) || typeof v === "string" ||
        Array.isArray(v) ||
        v instanceof Map;
    case "indefinite":
      return Array.isArray(v) || v instanceof Map;
    case "unsorted":
      return v instanceof Map && v.size >= 2;
    case "duplicate-key":
      return v instanceof Map && v.size >= 1;
    case "tag":
    case "trailing":
      return true;
  }
}

class Encoder {
  out: number[] = [];
  node = -1;
  /** Indices of nodes the deviation can apply to (filled in a dry run). */
  readonly hits: number[] = [];

  constructor(private readonly dev: Deviation | undefined, private readonly target: number) {}

  enc(v: CborValue): void {
    const idx = ++this.node;
    const d = this.dev !== undefined && applicable(v, this.dev) ? this.dev : undefined;
    if (d !== undefined) this.hits.push(idx);
    const on = d !== undefined && idx === this.target;
    if (on && d === "tag") this.out.push(0xc6);
    if (typeof v === "number") {
      if (on && d === "float") {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, v);
        this.out.push(0xfb, ...b);
      } else if (v >= 0) this.out.push(...head(0, v, on && d === "wide-int"));
      else this.out.push(...head(1, -1 - v, on && d === "wide-int"));
    } else if (typeof v === "string") {
      const b = new TextEncoder().encode(v);
      this.out.push(...head(3, b.length, on && d === "wide-len"), ...b);
    } else if (typeof v === "boolean") {
      this.out.push(v ? 0xf5 : 0xf4);
    } else if (v === null) {
      this.out.push(0xf6);
    } else if (v instanceof Uint8Array) {
      this.out.push(...head(2, v.length, on && d === "wide-len"), ...v);
    } else if (Array.isArray(v)) {
      if (on && d === "indefinite") this.out.push(0x9f);
      else this.out.push(...head(4, v.length, on && d === "wide-len"));
      for (const x of v) this.enc(x);
      if (on && d === "indefinite") this.out.push(0xff);
    } else {
      const entries = [...v.entries()].map(([k, x]) => {
        const ke = new Encoder(undefined, -1);
        ke.enc(k);
        return { k, kb: new Uint8Array(ke.out), x };
      });
      entries.sort((a, b) => cmpBytes(a.kb, b.kb));
      if (on && d === "unsorted") entries.reverse();
      if (on && d === "duplicate-key") entries.push(entries[0]!);
      if (on && d === "indefinite") this.out.push(0xbf);
      else this.out.push(...head(5, entries.length, on && d === "wide-len"));
      for (const e of entries) {
        this.enc(e.k);
        this.enc(e.x);
      }
      if (on && d === "indefinite") this.out.push(0xff);
    }
    if (on && d === "trailing" && idx === 0) this.out.push(0x00);
  }
}

/** Canonical bytes by this independent encoder. */
export function encodeCanonicalIndependent(v: CborValue): Uint8Array {
  const e = new Encoder(undefined, -1);
  e.enc(v);
  return new Uint8Array(e.out);
}

/**
 * `v` encoded with deviation `d` at one node chosen by `pick` among the nodes it applies to; undefined when it
 * applies to none. "trailing" always applies to the whole item.
 */
export function encodeWithDeviation(
  v: CborValue,
  d: Deviation,
  pick: (n: number) => number,
): { bytes: Uint8Array; node: number } | undefined {
  const dry = new Encoder(d, -1);
  dry.enc(v);
  const hits = d === "trailing" ? [0] : dry.hits;
  if (hits.length === 0) return undefined;
  const node = hits[pick(hits.length)]!;
  const e = new Encoder(d, node);
  e.enc(v);
  return { bytes: new Uint8Array(e.out), node };
}
