import assert from "node:assert/strict";
import { RateLimiter } from "./rate_limit.ts";

const T = 1_700_000_000_000;

Deno.test("RateLimiter: a bucket holds burst tokens and refills at per_sec; an empty one says how long to wait", () => {
  const r = new RateLimiter();
  assert.equal(r.tryTake("a", 1, 2, T), 0);
  assert.equal(r.tryTake("a", 1, 2, T), 0);
  assert.equal(r.tryTake("a", 1, 2, T), 1);
  assert.equal(r.tryTake("a", 1, 2, T + 1000), 0);
  assert.equal(r.tryTake("a", 0.5, 1, T + 1000), 2);
});

Deno.test("RateLimiter: new buckets filling the table never reset a limited client that keeps submitting", () => {
  const r = new RateLimiter(10);
  assert.equal(r.tryTake("victim", 0.001, 1, T), 0);
  for (let i = 0; i < 100; i++) {
    assert.ok(r.tryTake("victim", 0.001, 1, T + i) > 0, `the victim is still limited after ${i} new buckets`);
    r.tryTake(`other-${i}`, 0.001, 1, T + i);
  }
});

Deno.test("RateLimiter: buckets that would be full are dropped first, then the least recently used", () => {
  const r = new RateLimiter(10);
  for (let i = 0; i < 5; i++) r.tryTake(`slow-${i}`, 0.001, 1, T); // empty for a long time
  for (let i = 0; i < 5; i++) r.tryTake(`fast-${i}`, 1000, 1, T); // full again after 1 ms
  r.tryTake("new", 1, 1, T + 10); // the table is full: one bucket goes, a full one
  for (let i = 0; i < 5; i++) assert.ok(r.tryTake(`slow-${i}`, 0.001, 1, T + 10) > 0, `slow-${i} kept`);
});
