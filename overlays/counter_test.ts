import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { prng } from "../tests/util.ts";
import { counterFold, counterTotal, decodeCounterOp, encodeCounterOp, GCNT_SCHEMA } from "./counter.ts";
import { rangeMonoid } from "./fold.ts";
import { assertSpecOrder, mapInOrder, throwsSize } from "./testing/bodies.ts";
import { checkMergeLaws, entry, sequence } from "./testing/laws.ts";

const writer = (n: number) => new Uint8Array(32).fill(n);
const inc = (w: number, delta: number, shard = w) => (seq: number) =>
  entry(seq, GCNT_SCHEMA, encodeCounterOp({ shard: writer(shard), delta }), writer(w));

Deno.test("counter: 5 + 3 = 8, summed per shard", () => {
  const s = counterFold.empty();
  for (const e of sequence([inc(1, 5), inc(2, 3)])) counterFold.apply(s, e);
  assert.equal(counterTotal(s), 8n);
  assert.equal(s.size, 2);
});

Deno.test("counter: a writer cannot add to another writer's shard", () => {
  const s = counterFold.empty();
  assert.equal(counterFold.apply(s, inc(1, 5, 2)(1)), "rejected");
  assert.equal(counterTotal(s), 0n);
});

Deno.test("counter: sums are exact beyond 2^53", () => {
  const s = counterFold.empty();
  const big = Number.MAX_SAFE_INTEGER;
  for (const e of sequence([inc(1, big), inc(1, big), inc(1, 2)])) counterFold.apply(s, e);
  assert.equal(counterTotal(s), 2n * BigInt(big) + 2n);
  assert.deepEqual(counterFold.fromJson(JSON.parse(JSON.stringify(counterFold.toJson(s)))), s);
});

Deno.test("counter body codec is strict", () => {
  assert.deepEqual(decodeCounterOp(encodeCounterOp({ shard: writer(1), delta: 4 })), {
    shard: writer(1),
    delta: 4,
  });
  throwsSize(
    () => decodeCounterOp(mapInOrder([["shard", writer(1)], ["delta", -1]])),
    /delta must be an unsigned/,
  );
  throwsSize(
    () => decodeCounterOp(mapInOrder([["shard", new Uint8Array(3)], ["delta", 1]])),
    /shard must be a 32-byte/,
  );
  throwsSize(() => decodeCounterOp(mapInOrder([["shard", writer(1)]])), /missing "delta"/);
});

Deno.test("counter body is {shard, delta} in CRDT0.3's order; the RFC 8949 order {delta, shard} is refused", () => {
  const bytes = encodeCounterOp({ shard: writer(1), delta: 4 });
  assert.equal(toHex(bytes), `a26573686172645820${"01".repeat(32)}6564656c746104`);
  assertSpecOrder(bytes, ["shard", "delta"], decodeCounterOp);
  // What earlier builds wrote is rejected by the fold, not counted.
  const s = counterFold.empty();
  const sorted = mapInOrder([["delta", 4], ["shard", writer(1)]]);
  assert.equal(counterFold.apply(s, entry(1, GCNT_SCHEMA, sorted, writer(1))), "rejected");
  assert.equal(counterTotal(s), 0n);
});

Deno.test("counter summaries only merge adjacent ranges (no double counting)", () => {
  const m = rangeMonoid(counterFold);
  const a = { from: 0, upto: 2, state: counterFold.empty() };
  assert.throws(() => m.merge(a, a), RangeError);
});

Deno.test("counter merge is associative with an identity and equals the sequential fold (property)", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const r = prng(seed);
    const ops = Array.from({ length: 30 + r.int(30) }, () => {
      const w = 1 + r.int(3);
      return inc(w, r.int(1000), r.int(10) === 0 ? w + 1 : w);
    });
    checkMergeLaws(counterFold, sequence(ops), seed);
  }
});
