import assert from "node:assert/strict";
import { decodeCbor, decodeCborSeq, encodeCbor } from "./cbor.ts";
import { toHex } from "./bytes.ts";
import { hex, throwsCode } from "../tests/util.ts";

Deno.test("encodeCbor sorts integer keys and uses minimal integers", () => {
  const m = new Map<number, number | string>([[10, 24], [2, 1], [1, "a"]]);
  assert.equal(toHex(encodeCbor(m)), "a301616102010a1818");
});

Deno.test("decodeCbor round-trips canonical bytes", () => {
  const b = hex("8a01582000");
  throwsCode(() => decodeCbor(b), "E.SIZE");
  const ok = encodeCbor([1, new Uint8Array(32), null, new Map([[1, 2]]), "x"]);
  assert.deepEqual(encodeCbor(decodeCbor(ok)), ok);
});

const NON_CANONICAL: Record<string, string> = {
  "indefinite array": "9f01ff",
  "indefinite bytes": "5f4101ff",
  "non-minimal int": "1817",
  "non-minimal length": "580100",
  "unsorted keys": "a202010101",
  "duplicate keys": "a201010101",
  "half float": "f93c00",
  "double float": "fb3ff8000000000000",
  "tag": "c24101",
  "trailing byte": "0100",
  "undefined": "f7",
  "truncated": "5820aa",
  "big integer": "1bffffffffffffffff",
};

for (const [name, h] of Object.entries(NON_CANONICAL)) {
  Deno.test(`decodeCbor rejects ${name} with E.SIZE`, () => {
    throwsCode(() => decodeCbor(hex(h)), "E.SIZE");
  });
}

Deno.test("decodeCborSeq splits a sequence and rejects a non-canonical item", () => {
  const seq = new Uint8Array([...encodeCbor([1, 2]), ...encodeCbor("a")]);
  assert.deepEqual(decodeCborSeq(seq), [[1, 2], "a"]);
  throwsCode(() => decodeCborSeq(new Uint8Array([...encodeCbor(1), 0x18, 0x01])), "E.SIZE");
});

Deno.test("encodeFlatArray produces exactly cborg's canonical bytes", async () => {
  const { encodeFlatArray } = await import("./cbor.ts");
  const { prng } = await import("../tests/util.ts");
  const r = prng(9);
  const ints = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 500; i++) {
    const items = Array.from({ length: r.int(12) }, () => {
      const k = r.int(3);
      return k === 0
        ? null
        : k === 1
        ? ints[r.int(ints.length)]!
        : r.bytes([0, 1, 23, 24, 32, 64, 255, 256, 300][r.int(9)]!);
    });
    assert.equal(toHex(encodeFlatArray(items)), toHex(encodeCbor(items)));
  }
});
