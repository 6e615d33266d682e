import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { toHex, utf8 } from "./bytes.ts";
import { sha256Parts } from "./sha256.ts";
import { prng } from "../tests/util.ts";

Deno.test("sha256Parts matches the FIPS 180-4 examples", () => {
  assert.equal(
    toHex(sha256Parts([utf8("abc")])),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(toHex(sha256Parts([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    toHex(sha256Parts([utf8("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")])),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256Parts equals node:crypto for every length 0..600 and any split into parts", () => {
  const r = prng(256);
  // Past 512: core/hash.ts hands inputs below 512 bytes to sha256Parts.
  for (let len = 0; len <= 600; len++) {
    const x = r.bytes(len);
    const want = createHash("sha256").update(x).digest("hex");
    assert.equal(toHex(sha256Parts([x])), want, `length ${len}`);
    const a = r.int(len + 1);
    const b = a + r.int(len - a + 1);
    assert.equal(
      toHex(sha256Parts([x.subarray(0, a), x.subarray(a, b), x.subarray(b)])),
      want,
      `split ${len}`,
    );
  }
});

Deno.test("sha256Parts equals node:crypto past its 65 344-byte input chunk and around a page of input, whole and split", () => {
  const r = prng(257);
  const chunk = 65536 - 64 - 128;
  const edges = [
    chunk - 9,
    chunk - 1,
    chunk,
    chunk + 1,
    chunk + 55,
    chunk + 56,
    65_465,
    65_471,
    65_472,
    65_473,
  ];
  for (const len of [...edges, 65_536, 2 * chunk, 200_001]) {
    const x = r.bytes(len);
    const want = createHash("sha256").update(x).digest("hex");
    assert.equal(toHex(sha256Parts([x])), want, `length ${len}`);
    const a = Math.min(len, chunk - 3);
    assert.equal(
      toHex(sha256Parts([x.subarray(0, a), x.subarray(a, a + 7), x.subarray(a + 7)])),
      want,
      `split ${len}`,
    );
  }
});
