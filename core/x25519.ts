/**
 * X25519 key pairs for HPKE recipients (RFC 7748, RFC 9180 DHKEM(X25519, HKDF-SHA256)). Keys are raw 32-byte strings
 * so they can be stored in key files and identity cards; the secret is used as-is (X25519 clamps at multiplication,
 * exactly as @hpke/core's WebCrypto import does), so `hpkePublicFromSecret` agrees with HPKE's SerializePublicKey.
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { check32 } from "./bytes.ts";
import { VeenError } from "./errors.ts";

/** Source of random bytes; injectable for tests, defaulting to `crypto.getRandomValues`. */
export type RandomFn = (n: number) => Uint8Array;

export const defaultRandom: RandomFn = (n) => crypto.getRandomValues(new Uint8Array(n));

/** An HPKE recipient key pair: raw 32-byte X25519 secret and public key. */
export interface HpkeKeyPair {
  secret: Uint8Array;
  public: Uint8Array;
}

/** Public key (`X25519(sk, 9)`) of a raw 32-byte X25519 secret key. */
export function hpkePublicFromSecret(sk: Uint8Array): Uint8Array {
  check32(sk, "X25519 secret key");
  return Uint8Array.from(x25519.getPublicKey(sk));
}

/** Fresh key pair from 32 bytes of `random`. */
export function generateHpkeKeyPair(random: RandomFn = defaultRandom): HpkeKeyPair {
  const secret = random(32);
  if (secret.length !== 32) throw new VeenError("E.SIZE", "random() must return the requested 32 bytes");
  return { secret: Uint8Array.from(secret), public: hpkePublicFromSecret(secret) };
}
