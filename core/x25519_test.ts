import assert from "node:assert/strict";
import { generateHpkeKeyPair, hpkePublicFromSecret } from "./x25519.ts";
import { toHex } from "./bytes.ts";
import { hpkeSetupRecipient, hpkeSetupSender } from "./payload.ts";
import { hex, prng, rejectsCode, throwsCode } from "../tests/util.ts";

Deno.test("hpkePublicFromSecret matches the RFC 7748 §6.1 public keys", () => {
  const alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  assert.equal(
    toHex(hpkePublicFromSecret(alice)),
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
  assert.equal(
    toHex(hpkePublicFromSecret(bob)),
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  );
});

Deno.test("hpkePublicFromSecret matches RFC 9180 A.2 skRm/pkRm (unclamped secret used as-is)", () => {
  const skRm = hex("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb");
  assert.equal(
    toHex(hpkePublicFromSecret(skRm)),
    "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
  );
});

Deno.test("generateHpkeKeyPair uses the injected random source and copies its output", () => {
  const r = prng(7);
  const fixed = r.bytes(32);
  const kp = generateHpkeKeyPair(() => fixed);
  assert.deepEqual(kp.secret, fixed);
  assert.notEqual(kp.secret, fixed);
  assert.deepEqual(kp.public, hpkePublicFromSecret(fixed));
});

Deno.test("generateHpkeKeyPair defaults to fresh randomness", () => {
  const a = generateHpkeKeyPair();
  const b = generateHpkeKeyPair();
  assert.equal(a.secret.length, 32);
  assert.equal(a.public.length, 32);
  assert.notDeepEqual(a.secret, b.secret);
});

Deno.test("wrong-length secret keys and short random output are E.SIZE", () => {
  throwsCode(() => hpkePublicFromSecret(new Uint8Array(31)), "E.SIZE");
  throwsCode(() => hpkePublicFromSecret(new Uint8Array(33)), "E.SIZE");
  throwsCode(() => generateHpkeKeyPair((n) => new Uint8Array(n - 1)), "E.SIZE");
});

Deno.test("raw key pairs work with @hpke/core in both directions", async () => {
  const kp = generateHpkeKeyPair();
  const s = await hpkeSetupSender(kp.public, new Uint8Array(32).fill(5));
  const ct = new Uint8Array(await s.seal(new Uint8Array([1, 2, 3]), new Uint8Array(0)));
  const r = await hpkeSetupRecipient(kp.secret, new Uint8Array(s.enc));
  assert.deepEqual(new Uint8Array(await r.open(ct, new Uint8Array(0))), new Uint8Array([1, 2, 3]));
  await rejectsCode(() => hpkeSetupSender(new Uint8Array(31), new Uint8Array(32)), "E.SIZE");
  await rejectsCode(() => hpkeSetupRecipient(new Uint8Array(33), new Uint8Array(s.enc)), "E.SIZE");
});
