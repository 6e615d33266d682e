/**
 * Proof-of-work cookies (spec 002 §5.2, overlay decisions "SH1+ and PoW"): `v = Ht("veen/pow", challenge ||
 * u64be(nonce))`; the cookie is valid for difficulty d when the first d bits of v, most significant first, are
 * zero. The cookie travels in the `Veen-PoW: <challenge hex>.<nonce decimal>` request header.
 */
import { fromHex, toHex, u64be } from "./bytes.ts";
import { VeenError } from "./errors.ts";
import { Ht } from "./hash.ts";

/** Request header carrying the cookie (HTTP header names are case-insensitive). */
export const POW_HEADER = "veen-pow";
/** Largest difficulty a hub issues or a solver accepts: beyond it no client could solve in useful time. */
export const POW_DIFFICULTY_MAX = 64;
const U64_MAX = (1n << 64n) - 1n;

/** A challenge and a nonce, as the `Veen-PoW` header carries them. */
export interface PowCookie {
  challenge: Uint8Array;
  nonce: bigint;
}

/** `Ht("veen/pow", challenge || u64be(nonce))`. */
export function powHash(challenge: Uint8Array, nonce: number | bigint): Uint8Array {
  return Ht("veen/pow", challenge, u64be(nonce));
}

/** Number of leading zero bits of `v`, most significant bit of byte 0 first. */
export function leadingZeroBits(v: Uint8Array): number {
  let n = 0;
  for (const b of v) {
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

/** Whether the first `difficulty` bits of `v` are zero. */
export function hashMeetsDifficulty(v: Uint8Array, difficulty: number): boolean {
  return leadingZeroBits(v) >= difficulty;
}

/** Whether (challenge, nonce) solves `difficulty`. */
export function powValid(challenge: Uint8Array, nonce: number | bigint, difficulty: number): boolean {
  return hashMeetsDifficulty(powHash(challenge, nonce), difficulty);
}

/**
 * The least nonce from 0 upward that solves `difficulty` for `challenge`, trying at most `maxIterations` nonces
 * (default: until 2^53); undefined when none of them does.
 */
export function solvePow(
  challenge: Uint8Array,
  difficulty: number,
  maxIterations = Number.MAX_SAFE_INTEGER,
): number | undefined {
  for (let nonce = 0; nonce < maxIterations; nonce++) {
    if (powValid(challenge, nonce, difficulty)) return nonce;
  }
  return undefined;
}

/** `<challenge hex>.<nonce decimal>`. */
export function formatPowCookie(c: PowCookie): string {
  return `${toHex(c.challenge)}.${c.nonce}`;
}

/** Parses a `Veen-PoW` header value: 64 hex digits, ".", a decimal u64 (E.AUTH naming what is wrong). */
export function parsePowCookie(s: string): PowCookie {
  const m = /^([0-9a-fA-F]{64})\.(0|[1-9][0-9]{0,19})$/.exec(s.trim());
  if (m === null) {
    throw new VeenError(
      "E.AUTH",
      `Malformed ${POW_HEADER} header "${s.slice(0, 100)}" (want <challenge hex>.<nonce decimal>)`,
    );
  }
  const nonce = BigInt(m[2]!);
  if (nonce > U64_MAX) throw new VeenError("E.AUTH", `${POW_HEADER} nonce ${m[2]} exceeds u64`);
  return { challenge: fromHex(m[1]!.toLowerCase(), 32, "challenge"), nonce };
}
