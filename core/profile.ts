/** The cryptographic profile and `profile_id = Ht("veen/profile", CBOR(profile))` (003 §3.2, wire decisions). */
import { type CborValue, decodeCbor, encodeCbor, expectIntMap, expectText, expectUint } from "./cbor.ts";
import { toHex } from "./bytes.ts";
import { VeenError } from "./errors.ts";
import { Ht } from "./hash.ts";

export interface Profile {
  aead: "xchacha20poly1305";
  kdf: "hkdf-sha256";
  sig: "ed25519";
  dh: "x25519";
  hpkeSuite: "X25519-HKDF-SHA256-CHACHA20POLY1305";
  epochSec: number;
  padBlock: number;
  mmrHash: "sha256";
}

/** The default profile; its id is `1db91032…038ca`. */
export const DEFAULT_PROFILE: Readonly<Profile> = Object.freeze({
  aead: "xchacha20poly1305",
  kdf: "hkdf-sha256",
  sig: "ed25519",
  dh: "x25519",
  hpkeSuite: "X25519-HKDF-SHA256-CHACHA20POLY1305",
  epochSec: 60,
  padBlock: 256,
  mmrHash: "sha256",
});

const FIXED: ReadonlyArray<[number, keyof Profile, string]> = [
  [1, "aead", "xchacha20poly1305"],
  [2, "kdf", "hkdf-sha256"],
  [3, "sig", "ed25519"],
  [4, "dh", "x25519"],
  [5, "hpkeSuite", "X25519-HKDF-SHA256-CHACHA20POLY1305"],
  [8, "mmrHash", "sha256"],
];

/** CBOR map `{1:aead, 2:kdf, 3:sig, 4:dh, 5:hpke_suite, 6:epoch_sec, 7:pad_block, 8:mmr_hash}`. */
export function encodeProfile(p: Profile): Uint8Array {
  validateProfile(p);
  return encodeCbor(
    new Map<number, CborValue>([
      [1, p.aead],
      [2, p.kdf],
      [3, p.sig],
      [4, p.dh],
      [5, p.hpkeSuite],
      [6, p.epochSec],
      [7, p.padBlock],
      [8, p.mmrHash],
    ]),
  );
}

/** True when `padBlock` is a valid pad_block: an integer in 0..65536 (0 disables padding). */
export function isPadBlock(padBlock: number): boolean {
  return Number.isSafeInteger(padBlock) && padBlock >= 0 && padBlock <= 65536;
}

/** Rejects algorithm names other than the v0.0.1 set (E.PROFILE). */
export function validateProfile(p: Profile): void {
  for (const [, field, want] of FIXED) {
    if (p[field] !== want) throw new VeenError("E.PROFILE", `Unsupported ${field} "${String(p[field])}"`);
  }
  if (!Number.isSafeInteger(p.epochSec) || p.epochSec < 0) throw new VeenError("E.PROFILE", "Bad epoch_sec");
  if (!isPadBlock(p.padBlock)) throw new VeenError("E.PROFILE", "Bad pad_block");
}

export function decodeProfile(bytes: Uint8Array): Profile {
  const m = expectIntMap(
    decodeCbor(bytes, "profile"),
    [1, 2, 3, 4, 5, 6, 7, 8],
    [1, 2, 3, 4, 5, 6, 7, 8],
    "profile",
  );
  const p = {
    aead: expectText(m.get(1), "profile.aead"),
    kdf: expectText(m.get(2), "profile.kdf"),
    sig: expectText(m.get(3), "profile.sig"),
    dh: expectText(m.get(4), "profile.dh"),
    hpkeSuite: expectText(m.get(5), "profile.hpke_suite"),
    epochSec: expectUint(m.get(6), "profile.epoch_sec"),
    padBlock: expectUint(m.get(7), "profile.pad_block"),
    mmrHash: expectText(m.get(8), "profile.mmr_hash"),
  } as Profile;
  validateProfile(p);
  return p;
}

export function profileId(p: Profile): Uint8Array {
  return Ht("veen/profile", encodeProfile(p));
}

export const DEFAULT_PROFILE_ID: Uint8Array = profileId(DEFAULT_PROFILE);
export const DEFAULT_PROFILE_ID_HEX: string = toHex(DEFAULT_PROFILE_ID);

/** Label epoch `E = floor(t / epoch_sec)`, or 0 when epoch_sec is 0 (spec 004 §4). */
export function epochOf(unixSec: number, epochSec: number): number {
  return epochSec > 0 ? Math.floor(unixSec / epochSec) : 0;
}
