/**
 * Capability tokens (003 §6, wire decisions): `{1:ver=1, 2:issuer_pk, 3:subject_pk, 4:allow, 5:sig_chain}` with
 * `allow = {1:stream_ids (strictly ascending bstr32), 2:ttl, 3?:rate}` and `rate = {1:per_sec, 2:burst}`.
 * Link i signs `Ht("veen/cap-link", CBOR({1..4}) || prev_sig)` under issuer_pk, prev_sig = 64 zero bytes for the
 * first link. `auth_ref = Ht("veen/cap", CBOR(cap_token))`.
 */
import { compareBytes } from "./bytes.ts";
import { type CborValue, decodeCbor, encodeCbor, expectBytes, expectIntMap, expectUint } from "./cbor.ts";
import { ed25519Sign, ed25519Verify } from "./ed25519.ts";
import { VeenError } from "./errors.ts";
import { Ht } from "./hash.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

export interface CapRate {
  perSec: number;
  burst: number;
}

export interface CapAllow {
  streamIds: Uint8Array[];
  ttl: number;
  rate?: CapRate;
}

export interface CapToken {
  ver: 1;
  issuerPk: Uint8Array;
  subjectPk: Uint8Array;
  allow: CapAllow;
  sigChain: Uint8Array[];
}

const ZERO_SIG: Uint8Array = new Uint8Array(64);

function allowToCbor(a: CapAllow): CborValue {
  const m = new Map<number, CborValue>([[1, a.streamIds], [2, a.ttl]]);
  if (a.rate !== undefined) m.set(3, new Map<number, CborValue>([[1, a.rate.perSec], [2, a.rate.burst]]));
  return m;
}

function bodyToCbor(t: Omit<CapToken, "sigChain">): Map<number, CborValue> {
  return new Map<number, CborValue>([[1, t.ver], [2, t.issuerPk], [3, t.subjectPk], [
    4,
    allowToCbor(t.allow),
  ]]);
}

export function capTokenToCbor(t: CapToken): CborValue {
  const m = bodyToCbor(t);
  m.set(5, t.sigChain);
  return m;
}

export function encodeCapToken(t: CapToken): Uint8Array {
  return encodeCbor(capTokenToCbor(t));
}

function linkDigest(bodyBytes: Uint8Array, prevSig: Uint8Array): Uint8Array {
  return Ht("veen/cap-link", bodyBytes, prevSig);
}

/** Digest signed by link i: `Ht("veen/cap-link", CBOR(token without sig_chain) || prev_sig)`. */
export function capLinkDigest(t: Omit<CapToken, "sigChain">, prevSig: Uint8Array): Uint8Array {
  return linkDigest(encodeCbor(bodyToCbor(t)), prevSig);
}

/**
 * The capability root: the digest the first link signs, `Ht("veen/cap-link", CBOR({1..4}) || 64 zero bytes)`. Every
 * link signs the same body, so a chain, its prefixes and its extensions share one root. The hub binds issued_at
 * (KEX1+ §4.2: hub_ts when it first authorized the root) and the rate bucket to it, so that re-presenting a prefix
 * or variant of a chain never extends it (docs/protocol.md).
 */
export function capRoot(t: Omit<CapToken, "sigChain">): Uint8Array {
  return capLinkDigest(t, ZERO_SIG);
}

/**
 * `expires_at = issued_at + ttl` (KEX1+ §4.2); E.CAP when that is not a safe integer, since no record could store it.
 */
export function capExpiresAt(issuedAt: number, ttl: number): number {
  if (!Number.isSafeInteger(issuedAt) || issuedAt < 0 || !Number.isSafeInteger(ttl) || ttl < 0) {
    throw new VeenError("E.CAP", `cap_token ttl "${ttl}" is not an unsigned integer`);
  }
  if (ttl > Number.MAX_SAFE_INTEGER - issuedAt) {
    throw new VeenError(
      "E.CAP",
      `cap_token ttl "${ttl}" is too large: issued_at + ttl must be at most 2^53-1 (issued_at ${issuedAt})`,
    );
  }
  return issuedAt + ttl;
}

/** `auth_ref = Ht("veen/cap", CBOR(cap_token))`; also the payload's cap_ref. */
export function authRef(t: CapToken): Uint8Array {
  return Ht("veen/cap", encodeCapToken(t));
}

function checkAllow(a: CapAllow): void {
  if (a.streamIds.length === 0) throw new VeenError("E.CAP", "cap_token allow.stream_ids must not be empty");
  for (let i = 0; i < a.streamIds.length; i++) {
    if (a.streamIds[i]!.length !== 32) throw new VeenError("E.SIZE", "cap_token stream_id must be 32 bytes");
    if (i > 0 && compareBytes(a.streamIds[i - 1]!, a.streamIds[i]!) >= 0) {
      throw new VeenError("E.CAP", "cap_token allow.stream_ids must be strictly ascending");
    }
  }
}

/** Issues a token with a single link; stream ids are sorted and deduplicated here. */
export function issueCapToken(opts: {
  issuerSecret: Uint8Array;
  issuerPk: Uint8Array;
  subjectPk: Uint8Array;
  streamIds: Uint8Array[];
  ttl: number;
  rate?: CapRate;
}): CapToken {
  const sorted = [...opts.streamIds].sort(compareBytes).filter((s, i, a) =>
    i === 0 || compareBytes(a[i - 1]!, s) !== 0
  );
  const allow: CapAllow = { streamIds: sorted, ttl: opts.ttl };
  if (opts.rate !== undefined) allow.rate = opts.rate;
  checkAllow(allow);
  const body = { ver: 1 as const, issuerPk: opts.issuerPk, subjectPk: opts.subjectPk, allow };
  return { ...body, sigChain: [ed25519Sign(opts.issuerSecret, capLinkDigest(body, ZERO_SIG))] };
}

/** Appends one re-signing link (issuer re-signing history, 003 §6); at most `maxCapChain` links. */
export function extendCapChain(
  t: CapToken,
  issuerSecret: Uint8Array,
  maxCapChain = DEFAULT_LIMITS.maxCapChain,
): CapToken {
  if (t.sigChain.length >= maxCapChain) {
    throw new VeenError("E.CAP", `cap_token chain is limited to ${maxCapChain}`);
  }
  const prev = t.sigChain[t.sigChain.length - 1] ?? ZERO_SIG;
  return { ...t, sigChain: [...t.sigChain, ed25519Sign(issuerSecret, capLinkDigest(t, prev))] };
}

/** Verifies every link back to the root (E.CAP on any failure). */
export function verifyCapChain(t: CapToken, maxCapChain = DEFAULT_LIMITS.maxCapChain): void {
  if (t.sigChain.length < 1 || t.sigChain.length > maxCapChain) {
    throw new VeenError("E.CAP", `cap_token sig_chain must have 1..${maxCapChain} links`);
  }
  checkAllow(t.allow);
  const bodyBytes = encodeCbor(bodyToCbor(t));
  let prev: Uint8Array = ZERO_SIG;
  for (let i = 0; i < t.sigChain.length; i++) {
    const sig = t.sigChain[i]!;
    if (!ed25519Verify(t.issuerPk, linkDigest(bodyBytes, prev), sig)) {
      throw new VeenError("E.CAP", `cap_token link ${i} does not verify under issuer_pk`);
    }
    prev = sig;
  }
}

export function capTokenFromCbor(v: CborValue, maxCapChain = DEFAULT_LIMITS.maxCapChain): CapToken {
  const m = expectIntMap(v, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], "cap_token");
  if (m.get(1) !== 1) throw new VeenError("E.SIZE", "cap_token.ver must be 1");
  const am = expectIntMap(m.get(4)!, [1, 2, 3], [1, 2], "cap_token.allow");
  const ids = am.get(1);
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1024) {
    throw new VeenError("E.SIZE", "cap_token.allow.stream_ids must be an array of 1..1024 ids");
  }
  const allow: CapAllow = {
    streamIds: ids.map((s, i) => expectBytes(s, 32, `cap_token.allow.stream_ids[${i}]`)),
    ttl: expectUint(am.get(2), "cap_token.allow.ttl"),
  };
  if (am.has(3)) {
    const rm = expectIntMap(am.get(3)!, [1, 2], [1, 2], "cap_token.allow.rate");
    allow.rate = {
      perSec: expectUint(rm.get(1), "rate.per_sec"),
      burst: expectUint(rm.get(2), "rate.burst"),
    };
  }
  const chain = m.get(5);
  if (!Array.isArray(chain) || chain.length < 1 || chain.length > maxCapChain) {
    throw new VeenError("E.SIZE", `cap_token.sig_chain must have 1..${maxCapChain} links`);
  }
  return {
    ver: 1,
    issuerPk: expectBytes(m.get(2), 32, "cap_token.issuer_pk"),
    subjectPk: expectBytes(m.get(3), 32, "cap_token.subject_pk"),
    allow,
    sigChain: chain.map((s, i) => expectBytes(s, 64, `cap_token.sig_chain[${i}]`)),
  };
}

/** Decodes a cap_token; structural faults are E.SIZE, unsorted stream ids E.CAP. Signatures are not checked here. */
export function decodeCapToken(bytes: Uint8Array, maxCapChain = DEFAULT_LIMITS.maxCapChain): CapToken {
  const t = capTokenFromCbor(decodeCbor(bytes, "cap_token"), maxCapChain);
  checkAllow(t.allow);
  return t;
}
