/**
 * Ed25519 (RFC 8032) through node:crypto, which is about 10x faster than pure JS here. Raw 32-byte keys are wrapped
 * in DER once and the resulting KeyObjects are cached in a bounded map.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { concat, fromHex } from "./bytes.ts";
import { VeenError } from "./errors.ts";
import { Lru } from "./lru.ts";

const SPKI_PREFIX = fromHex("302a300506032b6570032100");
const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
const CACHE_MAX = 4096;
const pubCache = new Lru<KeyObject>(CACHE_MAX);
const privCache = new Lru<KeyObject>(CACHE_MAX);

function cached(cache: Lru<KeyObject>, raw: Uint8Array, make: () => KeyObject): KeyObject {
  const k = String.fromCharCode(...raw);
  let o = cache.get(k);
  if (o === undefined) {
    o = make();
    cache.set(k, o);
  }
  return o;
}

function publicKeyObject(pk: Uint8Array): KeyObject {
  if (pk.length !== 32) throw new VeenError("E.SIG", "Ed25519 public key must be 32 bytes");
  return cached(
    pubCache,
    pk,
    () => createPublicKey({ key: concat(SPKI_PREFIX, pk) as never, format: "der", type: "spki" }),
  );
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new VeenError("E.SIG", "Ed25519 secret key must be 32 bytes");
  return cached(
    privCache,
    seed,
    () => createPrivateKey({ key: concat(PKCS8_PREFIX, seed) as never, format: "der", type: "pkcs8" }),
  );
}

/** Public key of a 32-byte secret seed. */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKeyObject(seed)).export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** Signs `msg` with the 32-byte secret seed. */
export function ed25519Sign(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, msg, privateKeyObject(seed)));
}

/** True when `sig` is a valid signature of `msg` under `pk`; malformed keys or signatures are simply invalid. */
export function ed25519Verify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64 || pk.length !== 32) return false;
  try {
    return verify(null, msg, publicKeyObject(pk), sig);
  } catch {
    return false;
  }
}

/** A signing key pair; `secret` is the 32-byte RFC 8032 seed. */
export interface SigningKey {
  secret: Uint8Array;
  public: Uint8Array;
}

/** Key pair from a seed; randomness is the caller's (`crypto.getRandomValues`). */
export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  return { secret: seed.slice(), public: ed25519PublicKey(seed) };
}
