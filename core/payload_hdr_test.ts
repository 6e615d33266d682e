import assert from "node:assert/strict";
import { decodePayloadHdr, encodePayloadHdr, type PayloadHdr } from "./payload_hdr.ts";
import { toHex } from "./bytes.ts";
import { encodeCbor } from "./cbor.ts";
import { VeenError } from "./errors.ts";
import { hex, prng, throwsCode } from "../tests/util.ts";

const b32 = (v: number) => new Uint8Array(32).fill(v);
const h32 = (v: number) => toHex(b32(v));
const FULL: PayloadHdr = {
  schema: b32(1),
  parentId: b32(2),
  attRoot: b32(3),
  capRef: b32(4),
  expiresAt: 1_700_000_000,
};

Deno.test("encodePayloadHdr with only schema is a one-entry map", () => {
  assert.equal(toHex(encodePayloadHdr({ schema: b32(0x11) })), "a1015820" + h32(0x11));
});

Deno.test("encodePayloadHdr writes all five keys in ascending order with minimal integers", () => {
  assert.equal(
    toHex(encodePayloadHdr(FULL)),
    "a5" + "015820" + h32(1) + "025820" + h32(2) + "035820" + h32(3) + "045820" + h32(4) + "051a6553f100",
  );
});

Deno.test("payload_hdr round-trips and decoded bytes re-encode identically", () => {
  const cases: PayloadHdr[] = [
    { schema: b32(9) },
    FULL,
    { schema: b32(9), attRoot: b32(8) },
    { schema: b32(9), capRef: b32(7), expiresAt: 0 },
    { schema: b32(9), expiresAt: Number.MAX_SAFE_INTEGER },
  ];
  for (const h of cases) {
    const bytes = encodePayloadHdr(h);
    const back = decodePayloadHdr(bytes);
    assert.deepEqual(back, h);
    assert.deepEqual(encodePayloadHdr(back), bytes);
  }
});

Deno.test("decodePayloadHdr omits absent fields instead of setting them to undefined", () => {
  const h = decodePayloadHdr(encodePayloadHdr({ schema: b32(1), capRef: b32(2) }));
  assert.deepEqual(Object.keys(h).sort(), ["capRef", "schema"]);
});

Deno.test("decodePayloadHdr copies fields out of the input buffer", () => {
  const bytes = encodePayloadHdr({ schema: b32(1) });
  const h = decodePayloadHdr(bytes);
  bytes.fill(0xee);
  assert.deepEqual(h.schema, b32(1));
});

Deno.test("decodePayloadHdr rejects unknown keys", () => {
  for (const k of [0, 6, 23, 24]) {
    throwsCode(() => decodePayloadHdr(encodeCbor(new Map([[1, b32(1)], [k, b32(2)]]))), "E.SIZE");
  }
  throwsCode(
    () => decodePayloadHdr(encodeCbor(new Map<number | string, Uint8Array>([[1, b32(1)], ["2", b32(2)]]))),
    "E.SIZE",
  );
  throwsCode(() => decodePayloadHdr(hex("a201" + "5820" + h32(1) + "20" + "01")), "E.SIZE"); // key -1
});

Deno.test("decodePayloadHdr rejects null values for every key", () => {
  for (const k of [1, 2, 3, 4, 5]) {
    const m = new Map<number, Uint8Array | null>([[1, b32(1)]]);
    m.set(k, null);
    throwsCode(() => decodePayloadHdr(encodeCbor(m)), "E.SIZE");
  }
});

Deno.test("decodePayloadHdr rejects wrong sizes and wrong types", () => {
  throwsCode(() => decodePayloadHdr(encodeCbor(new Map([[1, new Uint8Array(31)]]))), "E.SIZE");
  throwsCode(() => decodePayloadHdr(encodeCbor(new Map([[1, new Uint8Array(33)]]))), "E.SIZE");
  for (const k of [2, 3, 4]) {
    for (const n of [0, 31, 33]) {
      throwsCode(
        () => decodePayloadHdr(encodeCbor(new Map([[1, b32(1)], [k, new Uint8Array(n)]]))),
        "E.SIZE",
      );
    }
    throwsCode(
      () => decodePayloadHdr(encodeCbor(new Map<number, unknown>([[1, b32(1)], [k, h32(1)]]) as never)),
      "E.SIZE",
    );
  }
  throwsCode(() => decodePayloadHdr(encodeCbor(new Map<number, unknown>([[1, h32(1)]]) as never)), "E.SIZE");
  throwsCode(
    () => decodePayloadHdr(encodeCbor(new Map<number, unknown>([[1, b32(1)], [5, -1]]) as never)),
    "E.SIZE",
  );
  throwsCode(
    () => decodePayloadHdr(encodeCbor(new Map<number, unknown>([[1, b32(1)], [5, b32(1)]]) as never)),
    "E.SIZE",
  );
  throwsCode(() => decodePayloadHdr(hex("a201" + "5820" + h32(1) + "05" + "fb3ff8000000000000")), "E.SIZE");
});

Deno.test("decodePayloadHdr rejects a missing schema, non-maps and empty input", () => {
  throwsCode(() => decodePayloadHdr(encodeCbor(new Map([[2, b32(1)]]))), "E.SIZE");
  throwsCode(() => decodePayloadHdr(hex("a0")), "E.SIZE");
  throwsCode(() => decodePayloadHdr(encodeCbor([b32(1)])), "E.SIZE");
  throwsCode(() => decodePayloadHdr(new Uint8Array(0)), "E.SIZE");
});

Deno.test("decodePayloadHdr rejects unsorted keys, duplicates, non-minimal encodings and trailing bytes", () => {
  throwsCode(() => decodePayloadHdr(hex("a2" + "025820" + h32(2) + "015820" + h32(1))), "E.SIZE");
  throwsCode(() => decodePayloadHdr(hex("a2" + "015820" + h32(1) + "015820" + h32(1))), "E.SIZE");
  throwsCode(() => decodePayloadHdr(hex("a2" + "015820" + h32(1) + "05" + "1b0000000000000005")), "E.SIZE");
  throwsCode(() => decodePayloadHdr(hex("a1" + "1801" + "5820" + h32(1))), "E.SIZE");
  throwsCode(() => decodePayloadHdr(hex("a1" + "01" + "580020" + h32(1))), "E.SIZE");
  throwsCode(() => decodePayloadHdr(hex("bf" + "015820" + h32(1) + "ff")), "E.SIZE");
  throwsCode(() => decodePayloadHdr(hex("a1015820" + h32(1) + "00")), "E.SIZE");
  throwsCode(() => decodePayloadHdr(hex("a1015820" + h32(1).slice(2))), "E.SIZE");
});

Deno.test("decodePayloadHdr enforces maxHdrBytes", () => {
  const bytes = encodePayloadHdr(FULL);
  assert.deepEqual(decodePayloadHdr(bytes, bytes.length), FULL);
  throwsCode(() => decodePayloadHdr(bytes, bytes.length - 1), "E.SIZE");
});

Deno.test("encodePayloadHdr rejects wrong sizes and bad expires_at", () => {
  throwsCode(() => encodePayloadHdr({ schema: new Uint8Array(31) }), "E.SIZE");
  throwsCode(() => encodePayloadHdr({ schema: b32(1), parentId: new Uint8Array(33) }), "E.SIZE");
  throwsCode(() => encodePayloadHdr({ schema: b32(1), attRoot: new Uint8Array(0) }), "E.SIZE");
  throwsCode(() => encodePayloadHdr({ schema: b32(1), capRef: new Uint8Array(1) }), "E.SIZE");
  for (const e of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN]) {
    throwsCode(() => encodePayloadHdr({ schema: b32(1), expiresAt: e }), "E.SIZE");
  }
});

Deno.test("fuzz: 2000 random and mutated inputs to decodePayloadHdr raise only VeenError", () => {
  const r = prng(0x9a71);
  const seeds = [
    encodePayloadHdr(FULL),
    encodePayloadHdr({ schema: b32(3) }),
    encodePayloadHdr({ schema: b32(3), expiresAt: 5 }),
  ];
  let accepted = 0;
  for (let n = 0; n < 2000; n++) {
    let input: Uint8Array;
    if (n % 2 === 0) {
      input = r.bytes(r.int(200));
    } else {
      const base = seeds[r.int(seeds.length)]!;
      input = base.slice();
      const flips = 1 + r.int(4);
      for (let f = 0; f < flips; f++) {
        const op = r.int(3);
        if (op === 0 && input.length > 0) {
          const i = r.int(input.length);
          input[i] = input[i]! ^ (1 << r.int(8));
        } else if (op === 1) input = input.slice(0, r.int(input.length + 1));
        else input = Uint8Array.from([...input, ...r.bytes(1 + r.int(4))]);
      }
    }
    try {
      const h = decodePayloadHdr(input);
      assert.deepEqual(encodePayloadHdr(h), input); // anything accepted is canonical
      accepted++;
    } catch (e) {
      assert.ok(e instanceof VeenError, `non-VeenError on ${toHex(input)}: ${String(e)}`);
      assert.equal(e.code, "E.SIZE");
    }
  }
  assert.ok(accepted < 2000);
});
