/** Test helpers for overlay folds: entries from bodies, and the monoid laws of a fold's summaries. */
import assert from "node:assert/strict";
import type { PayloadHdr } from "../../core/mod.ts";
import { prng } from "../../tests/util.ts";
import { type Fold, foldRange, type OverlayEntry, rangeMonoid, type RangeSummary } from "../fold.ts";

/** An entry at `seq` with `schema`, `body` and sender `clientId` (default 32 × 0x01). */
export function entry(
  seq: number,
  schema: Uint8Array,
  body: Uint8Array,
  clientId: Uint8Array = new Uint8Array(32).fill(1),
  hdr: Partial<PayloadHdr> = {},
): OverlayEntry {
  const msgId = new Uint8Array(32);
  new DataView(msgId.buffer).setUint32(28, seq);
  return { seq, msgId, clientId, hubTs: 1000 + seq, hdr: { schema, ...hdr }, body };
}

/** Renumbers entries 1..n in order. */
export function sequence(make: ((seq: number) => OverlayEntry)[]): OverlayEntry[] {
  return make.map((f, i) => f(i + 1));
}

/** Canonical text of a range summary; every empty range is the same identity element. */
const json = <S>(fold: Fold<S>, s: RangeSummary<S>) =>
  s.from === s.upto ? "ε" : JSON.stringify({ from: s.from, upto: s.upto, state: fold.toJson(s.state) });

/**
 * For `rounds` random cuts 0 <= a <= b <= n of `entries` (seq 1..n): the summaries of (0,a], (a,b], (b,n] merge
 * to the sequential fold in both association orders, the empty summary is an identity on both sides, and the
 * JSON form round-trips.
 */
export function checkMergeLaws<S>(
  fold: Fold<S>,
  entries: readonly OverlayEntry[],
  seed: number,
  rounds = 40,
) {
  const n = entries.length;
  const m = rangeMonoid(fold);
  const range = (from: number, upto: number) => foldRange(fold, from, upto, entries.slice(from, upto));
  const full = range(0, n);
  const r = prng(seed);
  for (let i = 0; i < rounds; i++) {
    const x = r.int(n + 1);
    const y = r.int(n + 1);
    const [a, b] = x <= y ? [x, y] : [y, x];
    const A = range(0, a);
    const B = range(a, b);
    const C = range(b, n);
    const left = m.merge(m.merge(A, B), C);
    const right = m.merge(A, m.merge(B, C));
    assert.equal(json(fold, left), json(fold, full), `(A·B)·C at cuts ${a}, ${b}`);
    assert.equal(json(fold, right), json(fold, full), `A·(B·C) at cuts ${a}, ${b}`);
    assert.equal(json(fold, m.merge(m.empty(), B)), json(fold, B));
    assert.equal(json(fold, m.merge(B, m.empty())), json(fold, B));
  }
  const back = fold.fromJson(JSON.parse(JSON.stringify(fold.toJson(full.state))));
  assert.equal(JSON.stringify(fold.toJson(back)), JSON.stringify(fold.toJson(full.state)));
}

/** The summary of `entries`, folded in order from the empty one. */
export function foldAll<S>(fold: Fold<S>, entries: readonly OverlayEntry[]): S {
  const s = fold.empty();
  for (const e of entries) fold.apply(s, e);
  return s;
}
