import assert from "node:assert/strict";
import { concat, u64be, utf8 } from "./bytes.ts";
import { VeenError } from "./errors.ts";
import { H } from "./hash.ts";
import { formatPowCookie, leadingZeroBits, parsePowCookie, powHash, powValid, solvePow } from "./pow.ts";

const CHALLENGE = new Uint8Array(32).fill(0xab);

Deno.test('powHash is Ht("veen/pow", challenge || u64be(nonce))', () => {
  const want = H(utf8("veen/pow"), new Uint8Array([0]), concat(CHALLENGE, u64be(7)));
  assert.deepEqual(powHash(CHALLENGE, 7), want);
  assert.deepEqual(powHash(CHALLENGE, 7n), want);
});

Deno.test("leadingZeroBits counts bits most significant first", () => {
  assert.equal(leadingZeroBits(new Uint8Array([0x80, 0])), 0);
  assert.equal(leadingZeroBits(new Uint8Array([0x01, 0xff])), 7);
  assert.equal(leadingZeroBits(new Uint8Array([0x00, 0x40])), 9);
  assert.equal(leadingZeroBits(new Uint8Array([0x00, 0x00])), 16);
});

Deno.test("a hash with exactly d leading zero bits passes difficulty d and fails d+1", () => {
  for (const d of [1, 4, 8, 11]) {
    // The least nonce whose hash has exactly d leading zero bits.
    let nonce = 0;
    while (leadingZeroBits(powHash(CHALLENGE, nonce)) !== d) nonce++;
    assert.equal(powValid(CHALLENGE, nonce, d), true, `d=${d}`);
    assert.equal(powValid(CHALLENGE, nonce, d - 1), true, `d-1=${d - 1}`);
    assert.equal(powValid(CHALLENGE, nonce, d + 1), false, `d+1=${d + 1}`);
  }
});

Deno.test("solvePow returns the least solving nonce, or undefined within a bound it cannot meet", () => {
  const n = solvePow(CHALLENGE, 10)!;
  assert.ok(powValid(CHALLENGE, n, 10));
  for (let i = 0; i < n; i++) assert.equal(powValid(CHALLENGE, i, 10), false);
  assert.equal(solvePow(CHALLENGE, 10, n), undefined);
  assert.equal(solvePow(CHALLENGE, 10, n + 1), n);
  assert.equal(solvePow(CHALLENGE, 0, 1), 0);
});

Deno.test("Veen-PoW cookies round-trip; malformed ones are E.AUTH", () => {
  const c = { challenge: CHALLENGE, nonce: 18446744073709551615n };
  assert.deepEqual(parsePowCookie(formatPowCookie(c)), c);
  assert.equal(formatPowCookie({ challenge: CHALLENGE, nonce: 5n }), "ab".repeat(32) + ".5");
  for (
    const bad of [
      "",
      "ab".repeat(32),
      "ab".repeat(31) + ".5",
      "ab".repeat(32) + ".-1",
      "ab".repeat(32) + ".01",
      "ab".repeat(32) + ".18446744073709551616",
      "zz".repeat(32) + ".1",
    ]
  ) {
    assert.throws(() => parsePowCookie(bad), (e) => e instanceof VeenError && e.code === "E.AUTH", bad);
  }
});
