/** `H` = SHA-256 and the tagged hash `Ht(tag, x) = H(utf8(tag) || 0x00 || x)` (spec 004 §1, 003 §3.3). */
import { createHash } from "node:crypto";
import { utf8 } from "./bytes.ts";
import { sha256Parts } from "./sha256.ts";

/** Inputs at least this long go to node:crypto (native code wins once its fixed per-call cost is amortized). */
const NATIVE_FROM_BYTES = 512;

/** SHA-256 of the concatenation of `parts`. */
export function H(...parts: Uint8Array[]): Uint8Array {
  return hashParts(parts);
}

/**
 * `H(prefix || parts...)` over an array of parts: no rest or spread (a spread call walks an iterator, ~5 % of a
 * batch's garbage) and no copy of the array for a prefix.
 */
function hashParts(parts: readonly Uint8Array[], prefix?: Uint8Array): Uint8Array {
  let n = prefix?.length ?? 0;
  for (let i = 0; i < parts.length; i++) n += parts[i]!.length;
  if (n < NATIVE_FROM_BYTES) return sha256Parts(parts, prefix);
  const h = createHash("sha256");
  if (prefix !== undefined) h.update(prefix);
  for (let i = 0; i < parts.length; i++) h.update(parts[i]!);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

const TAG_CACHE = new Map<string, Uint8Array>();

function tagPrefix(tag: string): Uint8Array {
  let p = TAG_CACHE.get(tag);
  if (p === undefined) {
    const t = utf8(tag);
    p = new Uint8Array(t.length + 1);
    p.set(t);
    TAG_CACHE.set(tag, p);
  }
  return p;
}

/** Domain-separated hash `Ht(tag, x)`; `parts` are concatenated to form `x`. */
export function Ht(tag: string, ...parts: Uint8Array[]): Uint8Array {
  return HtOf(tag, parts);
}

/** `Ht(tag, concat(parts))` for parts already in an array (the MMR root's peaks). */
export function HtOf(tag: string, parts: readonly Uint8Array[]): Uint8Array {
  return hashParts(parts, tagPrefix(tag));
}

/** `Trunc_24(x)`: the first 24 bytes, used for XChaCha20 nonces. */
export function trunc24(x: Uint8Array): Uint8Array {
  return x.slice(0, 24);
}
