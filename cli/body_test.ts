import assert from "node:assert/strict";
import { CommandError } from "../cmd/mod.ts";
import { decodeBody, encodeBody, jsonToCbor, parseJsonFlag } from "./body.ts";

Deno.test("encodeBody() is deterministic CBOR of the JSON value and decodes back", () => {
  const a = encodeBody({ text: "hi", n: -3, list: [true, null] });
  const b = encodeBody({ list: [true, null], n: -3, text: "hi" });
  assert.deepEqual(a, b);
  assert.deepEqual(decodeBody(a, false).json, { n: -3, list: [true, null], text: "hi" });
});

Deno.test("jsonToCbor() rejects floats (VEEN CBOR has no floats)", () => {
  assert.throws(
    () => jsonToCbor({ x: 1.5 }),
    (e: unknown) => e instanceof CommandError && /body\.x: 1\.5/.test(e.detail),
  );
  assert.throws(() => parseJsonFlag("{nope", "--body"), CommandError);
});

Deno.test("the attachment envelope carries coids in index order", () => {
  const coid = new Uint8Array(32).fill(7);
  const bytes = encodeBody({ k: "v" }, [{ coid, len: 5, name: "a.bin" }]);
  const d = decodeBody(bytes, true);
  assert.deepEqual(d.json, { k: "v" });
  assert.deepEqual(d.attachments, [{ coid, len: 5, name: "a.bin" }]);
  // Without att_root the envelope is just a body.
  assert.equal(decodeBody(bytes, false).attachments.length, 0);
});

Deno.test("decodeBody() shows non-CBOR bodies as hex", () => {
  assert.deepEqual(decodeBody(new Uint8Array([0xff, 0x00]), false), { rawHex: "ff00", attachments: [] });
});
