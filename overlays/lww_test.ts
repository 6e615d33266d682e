import assert from "node:assert/strict";
import { encodeCbor, schemaIdFor, toHex, utf8 } from "../core/mod.ts";
import { prng, throwsCode } from "../tests/util.ts";
import { decodeLwwOp, encodeLwwOp, LWW_SCHEMA, lwwFold, lwwGet } from "./lww.ts";
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

Deno.test("lww body codec is strict: unknown keys and wrong types are E.SIZE", () => {
  const op = { key: utf8("k"), ts: 7, value: utf8("v") };
  assert.deepEqual(decodeLwwOp(encodeLwwOp(op)), op);
  throwsCode(
    () =>
      decodeLwwOp(
        encodeCbor(
          new Map<string, Uint8Array | number>([["key", op.key], ["ts", 1], ["value", op.value], ["x", 1]]),
        ),
      ),
    "E.SIZE",
  );
  throwsCode(
    () =>
      decodeLwwOp(encodeCbor(new Map<string, string | number>([["key", "k"], ["ts", 1], ["value", "v"]]))),
    "E.SIZE",
  );
});

Deno.test("lww merge is associative with an identity and equals the sequential fold (property)", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const r = prng(seed);
    const ops = Array.from({ length: 30 + r.int(30) }, () => set(`k${r.int(4)}`, r.int(5), `v${r.int(100)}`));
    checkMergeLaws(lwwFold, sequence(ops), seed);
  }
});
