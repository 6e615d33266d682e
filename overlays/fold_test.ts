import assert from "node:assert/strict";
import { counterFold, counterTotal, encodeCounterOp, GCNT_SCHEMA } from "./counter.ts";
import { foldRange, rangeMonoid } from "./fold.ts";
import { entry, sequence } from "./testing/laws.ts";

const w = new Uint8Array(32).fill(1);
const log = sequence(
  [1, 2, 3, 4].map((d) => (seq: number) =>
    entry(seq, GCNT_SCHEMA, encodeCounterOp({ shard: w, delta: d }), w)
  ),
);

Deno.test("range summaries: adjacent ranges merge, the empty range is the identity, gaps and overlaps throw", () => {
  const m = rangeMonoid(counterFold);
  const a = foldRange(counterFold, 0, 2, log.slice(0, 2));
  const b = foldRange(counterFold, 2, 4, log.slice(2));
  const ab = m.merge(a, b);
  assert.equal(ab.from, 0);
  assert.equal(ab.upto, 4);
  assert.equal(counterTotal(ab.state), 10n);
  assert.equal(m.merge(m.empty(), a), a);
  assert.equal(m.merge(a, { from: 7, upto: 7, state: counterFold.empty() }), a);
  assert.throws(() => m.merge(b, a), RangeError);
  assert.throws(() => foldRange(counterFold, 2, 4, log), RangeError);
});
