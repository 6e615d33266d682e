import assert from "node:assert/strict";
import { canonicalJson } from "./canonical_json.ts";

Deno.test("canonicalJson follows the RFC 8785 §3.2.3 example: sorted keys, shortest numbers, escapes", () => {
  const input = JSON.parse(
    '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
      '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
  );
  assert.equal(
    canonicalJson(input),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
});

Deno.test("canonicalJson sorts keys by UTF-16 code units, not by code points", () => {
  // U+FB33 sorts after U+1F600 by code point but before it by UTF-16 code unit (0xD83D < 0xFB33).
  assert.equal(
    canonicalJson({ "\u{fb33}": 1, "\u{1f600}": 2, "a": 3 }),
    '{"a":3,"\u{1f600}":2,"\u{fb33}":1}',
  );
});

Deno.test("canonicalJson refuses NaN, Infinity, bigint and undefined array items", () => {
  assert.throws(() => canonicalJson(NaN), TypeError);
  assert.throws(() => canonicalJson([Infinity]), TypeError);
  assert.throws(() => canonicalJson(1n), TypeError);
  assert.throws(() => canonicalJson([undefined]), TypeError);
  assert.equal(canonicalJson({ a: undefined, b: -0 }), '{"b":0}');
});
