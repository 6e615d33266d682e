/**
 * Deterministic CBOR (003 §3.1, wire decisions "CBOR"): definite lengths, minimal integers, ascending keys, no floats,
 * no tags, no duplicate keys, no trailing bytes. Decoding re-encodes and rejects any input whose canonical encoding
 * differs, so accepted bytes are exactly the bytes this module would produce.
 */
import { decode as cborgDecode, decodeFirst, encode as cborgEncode } from "cborg";
import { bytesEqual, putU32be } from "./bytes.ts";
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

/**
 * Canonical CBOR encoding of `v`; map keys are sorted by their encoded bytes (length first, then bytewise). The
 * result is a fresh Uint8Array (cborg may hand back a Node Buffer on a shared pool, whose `slice` is a view).
 */
export function encodeCbor(v: CborValue): Uint8Array {
  return new Uint8Array(cborgEncode(v));
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

/**
 * Decodes exactly one CBOR item with the value rules of {@link decodeCbor} (no floats, tags, undefined, duplicate
 * keys or indefinite lengths) but keeps maps in the order they were written, for formats whose key order is not
 * RFC 8949's (overlay bodies list keys in the spec's order); the caller re-encodes and compares.
 */
export function decodeCborInOrder(bytes: Uint8Array, what = "CBOR item"): CborValue {
  let v: unknown;
  try {
    v = cborgDecode(bytes, DECODE_OPTIONS);
  } catch (e) {
    throw new VeenError("E.SIZE", `Cannot decode ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  checkValue(v, 0);
  return v as CborValue;
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

/** A map with keys drawn from `allowed` and all of `required` present; unknown keys rejected. */
function expectMap<K extends number | string>(
  v: CborValue,
  allowed: readonly K[],
  required: readonly K[],
  what: string,
): Map<K, CborValue> {
  if (!(v instanceof Map)) throw new VeenError("E.SIZE", `${what} must be a map`);
  for (const k of v.keys()) {
    if (!(allowed as readonly (number | string)[]).includes(k)) {
      throw new VeenError("E.SIZE", `${what} has unknown key ${JSON.stringify(k)}`);
    }
  }
  for (const k of required) {
    if (!v.has(k)) {
      throw new VeenError("E.SIZE", `${what} is missing ${typeof k === "number" ? `key ${k}` : `"${k}"`}`);
    }
  }
  return v as Map<K, CborValue>;
}

/** A map with unsigned integer keys drawn from `allowed` and all of `required` present; unknown keys rejected. */
export function expectIntMap(
  v: CborValue,
  allowed: readonly number[],
  required: readonly number[],
  what: string,
): Map<number, CborValue> {
  return expectMap(v, allowed, required, what);
}

/** A map with text keys drawn from `allowed` and all of `required` present; unknown keys rejected. */
export function expectTextMap(
  v: CborValue,
  allowed: readonly string[],
  required: readonly string[],
  what: string,
): Map<string, CborValue> {
  return expectMap(v, allowed, required, what);
}

export function expectBytes(v: CborValue | undefined, len: number | undefined, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new VeenError("E.SIZE", `${what} must be a byte string`);
  if (len !== undefined && v.length !== len) {
    throw new VeenError("E.SIZE", `${what} must be ${len} bytes, got ${v.length}`);
  }
  return v;
}

/** An array of at most `max` 32-byte hashes. */
export function expectHashList(v: CborValue | undefined, max: number, what: string): Uint8Array[] {
  if (!Array.isArray(v) || v.length > max) {
    throw new VeenError("E.SIZE", `${what} must be an array of at most ${max} entries`);
  }
  return v.map((x, i) => expectBytes(x, 32, `${what}[${i}]`));
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

// ---- fast paths for flat arrays of uints, byte strings and null (MSG, RECEIPT): same bytes as encodeCbor ----

/** A flat wire array item. */
export type FlatItem = number | Uint8Array | null;

/** Length of the canonical (shortest) CBOR head for argument `n`. */
export function cborHeadLen(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1_0000_0000 ? 5 : 9;
}

/** Writes the canonical CBOR head (major type, argument `n`) at `o`; returns the next offset. */
export function writeCborHead(out: Uint8Array, o: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[o] = m | n;
    return o + 1;
  }
  if (n < 0x100) {
    out[o] = m | 24;
    out[o + 1] = n;
    return o + 2;
  }
  if (n < 0x10000) {
    out[o] = m | 25;
    out[o + 1] = n >>> 8;
    out[o + 2] = n & 0xff;
    return o + 3;
  }
  if (n < 0x1_0000_0000) {
    out[o] = m | 26;
    putU32be(out, o + 1, n);
    return o + 5;
  }
  out[o] = m | 27;
  putU32be(out, o + 1, Math.floor(n / 0x1_0000_0000));
  putU32be(out, o + 5, n >>> 0);
  return o + 9;
}

/**
 * Canonical CBOR of a flat array (identical to `encodeCbor(items)`), without cborg's generic tokenizer; `room`
 * zero bytes follow it in the same buffer (for a field the caller appends later).
 */
export function encodeFlatArray(items: readonly FlatItem[], room = 0): Uint8Array {
  let len = cborHeadLen(items.length);
  for (const it of items) {
    if (it === null) len += 1;
    else if (typeof it === "number") {
      if (!Number.isSafeInteger(it) || it < 0) throw new VeenError("E.SIZE", `Cannot encode ${it} as a uint`);
      len += cborHeadLen(it);
    } else len += cborHeadLen(it.length) + it.length;
  }
  const out = new Uint8Array(len + room);
  let o = writeCborHead(out, 0, 4, items.length);
  for (const it of items) {
    if (it === null) out[o++] = 0xf6;
    else if (typeof it === "number") o = writeCborHead(out, o, 0, it);
    else {
      o = writeCborHead(out, o, 2, it.length);
      out.set(it, o);
      o += it.length;
    }
  }
  return out;
}

/**
 * A strict reader for flat canonical arrays: each read checks the major type and the minimal-length head, so
 * accepted bytes are exactly what `encodeFlatArray` produces. Faults are E.SIZE naming `what`.
 */
export class FlatReader {
  private o = 0;
  constructor(private readonly b: Uint8Array, private readonly what: string) {}

  private fail(why: string): never {
    throw new VeenError("E.SIZE", `Cannot decode ${this.what}: ${why} at byte ${this.o}`);
  }

  private head(major: number): number {
    const b = this.b;
    if (this.o >= b.length) this.fail("truncated");
    const ib = b[this.o]!;
    if (ib >> 5 !== major) this.fail(`expected major type ${major}`);
    const ai = ib & 31;
    this.o++;
    if (ai < 24) return ai;
    const need = ai === 24
      ? 1
      : ai === 25
      ? 2
      : ai === 26
      ? 4
      : ai === 27
      ? 8
      : this.fail("indefinite or reserved length");
    if (this.o + need > b.length) this.fail("truncated");
    let n = 0;
    for (let i = 0; i < need; i++) n = n * 256 + b[this.o + i]!;
    this.o += need;
    if (n > Number.MAX_SAFE_INTEGER) this.fail("integer exceeds 2^53-1");
    const min = ai === 24 ? 24 : ai === 25 ? 0x100 : ai === 26 ? 0x10000 : 0x1_0000_0000;
    if (n < min) this.fail("non-minimal integer encoding");
    return n;
  }

  array(len: number): void {
    if (this.head(4) !== len) this.fail(`expected an array of ${len} items`);
  }

  uint(): number {
    return this.head(0);
  }

  bytes(len?: number): Uint8Array {
    const n = this.head(2);
    if (len !== undefined && n !== len) this.fail(`expected ${len} bytes, got ${n}`);
    if (this.o + n > this.b.length) this.fail("truncated");
    const out = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return out;
  }

  /** null, or a byte string of `len`. */
  nullOrBytes(len: number): Uint8Array | null {
    if (this.b[this.o] === 0xf6) {
      this.o++;
      return null;
    }
    return this.bytes(len);
  }

  get offset(): number {
    return this.o;
  }

  end(): void {
    if (this.o !== this.b.length) this.fail("trailing bytes");
  }
}
