import assert from "node:assert/strict";
import { putU32be, readU32be, u32be, u64be } from "./bytes.ts";

const EDGES = [0, 1, 0xff, 0x100, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

Deno.test("u32be, putU32be and readU32be agree with DataView at the edges of every byte", () => {
  for (const n of EDGES) {
    const want = new Uint8Array(4);
    new DataView(want.buffer).setUint32(0, n);
    assert.deepEqual(u32be(n), want, `u32be ${n}`);
    const at = new Uint8Array(7);
    putU32be(at, 2, n);
    assert.deepEqual(at.subarray(2, 6), want, `putU32be ${n}`);
    assert.equal(readU32be(at, 2), n, `readU32be ${n}`);
  }
  assert.throws(() => readU32be(new Uint8Array(5), 2), RangeError);
  assert.throws(() => readU32be(new Uint8Array(5), -1), RangeError);
});

Deno.test("u64be agrees with DataView's setBigUint64 for safe integers and bigints", () => {
  for (const n of [...EDGES, 2 ** 32, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
    const want = new Uint8Array(8);
    new DataView(want.buffer).setBigUint64(0, BigInt(n));
    assert.deepEqual(u64be(n), want, `u64be ${n}`);
    assert.deepEqual(u64be(BigInt(n)), want, `u64be ${n}n`);
  }
  assert.throws(() => u64be(-1), /not a valid u64/);
  assert.throws(() => u64be(2 ** 53), /not a valid u64/);
});
