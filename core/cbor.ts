/**
 * Deterministic CBOR (003 §3.1, wire decisions "CBOR"): definite lengths, minimal integers, ascending keys, no floats,
 * no tags, no duplicate keys, no trailing bytes. Decoding re-encodes and rejects any input whose canonical encoding
 * differs, so accepted bytes are exactly the bytes this module would produce.
 */
import { decode as cborgDecode, decodeFirst, encode as cborgEncode } from "cborg";
import { bytesEqual } from "./bytes.ts";
import { VeenError } from "./errors.ts";

/** The values VEEN wire objects are made of. Maps use integer keys (core objects) or text keys (error bodies). */
export type CborValue =
  | number
  | string
  | boolean
  | null
  | Uint8Array
  | CborValue[]
  | Map<number | string, CborValue>;

const DECODE_OPTIONS = {
  strict: true,
  useMaps: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: true,
} as const;

/** Canonical CBOR encoding of `v`; map keys are sorted by their encoded bytes (length first, then bytewise). */
export function encodeCbor(v: CborValue): Uint8Array {
  return cborgEncode(v);
}

function checkValue(v: unknown, depth: number): void {
  if (depth > 32) throw new VeenError("E.SIZE", "CBOR nesting is deeper than 32 levels");
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) {
      throw new VeenError("E.SIZE", "CBOR floats and unsafe integers are not allowed");
    }
    return;
  }
  if (typeof v === "bigint") throw new VeenError("E.SIZE", "CBOR integer exceeds 2^53-1");
  if (v === undefined) throw new VeenError("E.SIZE", "CBOR undefined is not allowed");
  if (Array.isArray(v)) {
    for (const x of v) checkValue(x, depth + 1);
    return;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) {
      if (typeof k !== "number" && typeof k !== "string") throw new VeenError("E.SIZE", "CBOR map key type");
      checkValue(k, depth + 1);
      checkValue(x, depth + 1);
    }
  }
}

function canonicalOrThrow(item: Uint8Array, v: unknown, what: string): CborValue {
  checkValue(v, 0);
  if (!bytesEqual(cborgEncode(v), item)) {
    throw new VeenError("E.SIZE", `Non-canonical CBOR in ${what}`);
  }
  return v as CborValue;
}

/** Decodes exactly one canonical CBOR item; anything else raises E.SIZE naming `what`. */
export function decodeCbor(bytes: Uint8Array, what = "CBOR item"): CborValue {
  let v: unknown;
  try {
    v = cborgDecode(bytes, DECODE_OPTIONS);
  } catch (e) {
    throw new VeenError("E.SIZE", `Cannot decode ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return canonicalOrThrow(bytes, v, what);
}

/** Decodes an RFC 8742 CBOR sequence of canonical items. */
export function decodeCborSeq(bytes: Uint8Array, what = "CBOR sequence"): CborValue[] {
  const out: CborValue[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    let v: unknown;
    let tail: Uint8Array;
    try {
      [v, tail] = decodeFirst(rest, DECODE_OPTIONS) as [unknown, Uint8Array];
    } catch (e) {
      throw new VeenError("E.SIZE", `Cannot decode ${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const used = rest.length - tail.length;
    out.push(canonicalOrThrow(rest.subarray(0, used), v, what));
    rest = tail;
  }
  return out;
}

// ---- structural readers: each raises E.SIZE with the field name ----

export function expectArray(v: CborValue, len: number | readonly number[], what: string): CborValue[] {
  const lens = typeof len === "number" ? [len] : len;
  if (!Array.isArray(v) || !lens.includes(v.length)) {
    throw new VeenError("E.SIZE", `${what} must be an array of ${lens.join(" or ")} items`);
  }
  return v;
}

/** A map with unsigned integer keys drawn from `allowed` and all of `required` present; unknown keys rejected. */
export function expectIntMap(
  v: CborValue,
  allowed: readonly number[],
  required: readonly number[],
  what: string,
): Map<number, CborValue> {
  if (!(v instanceof Map)) throw new VeenError("E.SIZE", `${what} must be a map`);
  for (const k of v.keys()) {
    if (typeof k !== "number" || !allowed.includes(k)) {
      throw new VeenError("E.SIZE", `${what} has unknown key ${JSON.stringify(k)}`);
    }
  }
  for (const k of required) if (!v.has(k)) throw new VeenError("E.SIZE", `${what} is missing key ${k}`);
  return v as Map<number, CborValue>;
}

export function expectBytes(v: CborValue | undefined, len: number | undefined, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new VeenError("E.SIZE", `${what} must be a byte string`);
  if (len !== undefined && v.length !== len) {
    throw new VeenError("E.SIZE", `${what} must be ${len} bytes, got ${v.length}`);
  }
  return v;
}

export function expectUint(v: CborValue | undefined, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new VeenError("E.SIZE", `${what} must be an unsigned integer`);
  }
  return v;
}

export function expectText(v: CborValue | undefined, what: string): string {
  if (typeof v !== "string") throw new VeenError("E.SIZE", `${what} must be a text string`);
  return v;
}
