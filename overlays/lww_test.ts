import assert from "node:assert/strict";
import { encodeCbor, schemaIdFor, toHex, utf8 } from "../core/mod.ts";
import { prng, throwsCode } from "../tests/util.ts";
import { decodeLwwOp, encodeLwwOp, LWW_SCHEMA, lwwFold, lwwGet } from "./lww.ts";
import { assertSpecOrder, mapInOrder, throwsSize } from "./testing/bodies.ts";
import { checkMergeLaws, entry, sequence } from "./testing/laws.ts";

const set = (key: string, ts: number, value: string) => (seq: number) =>
  entry(seq, LWW_SCHEMA, encodeLwwOp({ key: utf8(key), ts, value: utf8(value) }));
const text = (b: Uint8Array | undefined) => (b === undefined ? "unset" : new TextDecoder().decode(b));

Deno.test('lww schema is H(utf8("crdt.lww.v1"))', () => {
  assert.equal(toHex(LWW_SCHEMA), toHex(schemaIdFor("crdt.lww.v1")));
});

Deno.test("lww: the greatest (ts, stream_seq) wins; a late write with an older ts loses", () => {
  const s = lwwFold.empty();
  for (const e of sequence([set("foo", 1, "A"), set("foo", 2, "B"), set("foo", 1, "C")])) lwwFold.apply(s, e);
  assert.equal(text(lwwGet(s, utf8("foo"))?.value), "B");
  assert.equal(lwwGet(s, utf8("bar")), undefined);
  // Equal ts: the later stream_seq wins.
  lwwFold.apply(s, set("foo", 2, "D")(4));
  assert.equal(text(lwwGet(s, utf8("foo"))?.value), "D");
});

Deno.test("lww: other schemas are ignored, malformed bodies rejected without changing the state", () => {
  const s = lwwFold.empty();
  assert.equal(
    lwwFold.apply(
      s,
      entry(1, schemaIdFor("crdt.gcnt.v1"), encodeLwwOp({ key: utf8("k"), ts: 1, value: utf8("v") })),
    ),
    "ignored",
  );
  assert.equal(lwwFold.apply(s, entry(2, LWW_SCHEMA, encodeCbor(new Map([["key", "text"]])))), "rejected");
  assert.equal(lwwFold.apply(s, entry(3, LWW_SCHEMA, new Uint8Array([0xff]))), "rejected");
  assert.equal(s.size, 0);
});

Deno.test("lww body is {key, ts, value} in CRDT0.1's order; the RFC 8949 order {ts, key, value} is refused", () => {
  const op = { key: utf8("k"), ts: 7, value: utf8("v") };
  const bytes = encodeLwwOp(op);
  // a3, "key" h'6b', "ts" 7, "value" h'76'
  assert.equal(toHex(bytes), "a3636b6579416b627473076576616c75654176");
  assertSpecOrder(bytes, ["key", "ts", "value"], decodeLwwOp);
  // What earlier builds wrote is rejected by the fold, not applied.
  const s = lwwFold.empty();
  const sorted = mapInOrder([["ts", 7], ["key", op.key], ["value", op.value]]);
  assert.equal(lwwFold.apply(s, entry(1, LWW_SCHEMA, sorted)), "rejected");
  assert.equal(s.size, 0);
});

Deno.test("lww body codec is strict: unknown keys, wrong types and over-long values are E.SIZE", () => {
  const op = { key: utf8("k"), ts: 7, value: utf8("v") };
  assert.deepEqual(decodeLwwOp(encodeLwwOp(op)), op);
  throwsSize(
    () => decodeLwwOp(mapInOrder([["key", op.key], ["ts", 1], ["value", op.value], ["x", 1]])),
    /unknown key "x"/,
  );
  throwsSize(
    () => decodeLwwOp(mapInOrder([["key", "k"], ["ts", 1], ["value", op.value]])),
    /key must be a byte/,
  );
  throwsSize(
    () => decodeLwwOp(mapInOrder([["key", op.key], ["ts", -1], ["value", op.value]])),
    /ts must be an/,
  );
  throwsSize(() => decodeLwwOp(mapInOrder([["key", op.key], ["ts", 1]])), /missing "value"/);
  throwsSize(() => encodeLwwOp({ ...op, value: new Uint8Array(4097) }), /value holds a byte string longer/);
  throwsCode(() => decodeLwwOp(encodeCbor(new Map([["key", "text"]]))), "E.SIZE");
});

Deno.test("lww merge is associative with an identity and equals the sequential fold (property)", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const r = prng(seed);
    const ops = Array.from({ length: 30 + r.int(30) }, () => set(`k${r.int(4)}`, r.int(5), `v${r.int(100)}`));
    checkMergeLaws(lwwFold, sequence(ops), seed);
  }
});
