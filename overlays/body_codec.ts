/**
 * The one codec of overlay payload bodies (overlay decisions, "Bodies and identifiers"): a CBOR map with text keys
 * in the order the spec lists them, exactly the listed key set, optional keys omitted (never null), strict types.
 * `bytes32` fields are exactly 32 bytes; every other byte and text string is at most {@link MAX_BODY_STRING} bytes,
 * also inside `any` values, which use RFC 8949 §4.2.1 key order. No floats, no tags. Decoding re-encodes and
 * compares, so accepted bytes are exactly the bytes `encode` produces; every failure is E.SIZE naming the field.
 */
import {
  type CborValue,
  concat,
  decodeCborInOrder,
  encodeCbor,
  fromHex,
  schemaIdFor,
  toHex,
  utf8,
  VeenError,
  writeCborHead,
} from "../core/mod.ts";

/** Largest byte or text string of an overlay body, except `bytes32` fields. */
export const MAX_BODY_STRING = 4096;

export type BodyFieldType = "bytes32" | "bytes" | "text" | "uint" | "bool" | "bytes32[]" | "text[]" | "any";

export interface BodyField {
  name: string;
  type: BodyFieldType;
  optional?: boolean;
  /** Allowed values of a `text` field. */
  oneOf?: readonly string[];
}

/** A decoded body: field name → value; optional fields absent. `bytes32[]` is `Uint8Array[]`, `text[]` `string[]`. */
export type BodyRecord = Record<string, CborValue>;

const bad = (msg: string): never => {
  throw new VeenError("E.SIZE", msg);
};

function checkAny(v: unknown, what: string, depth: number): void {
  if (depth > 16) bad(`${what} is nested deeper than 16 levels`);
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) bad(`${what} holds a float or an integer beyond 2^53-1`);
  } else if (typeof v === "string") {
    if (utf8(v).length > MAX_BODY_STRING) bad(`${what} holds a text longer than ${MAX_BODY_STRING} bytes`);
  } else if (v instanceof Uint8Array) {
    if (v.length > MAX_BODY_STRING) bad(`${what} holds a byte string longer than ${MAX_BODY_STRING} bytes`);
  } else if (Array.isArray(v)) {
    for (const x of v) checkAny(x, what, depth + 1);
  } else if (v instanceof Map) {
    for (const [k, x] of v) {
      if (typeof k !== "string" && typeof k !== "number") {
        bad(`${what} has a map key that is not text or uint`);
      }
      checkAny(k, what, depth + 1);
      checkAny(x, what, depth + 1);
    }
  } else if (v !== null && typeof v !== "boolean") {
    bad(`${what} holds a value of an unsupported CBOR type`);
  }
}

function checkField(f: BodyField, v: unknown, what: string): CborValue {
  const name = `${what}.${f.name}`;
  switch (f.type) {
    case "bytes32":
      if (!(v instanceof Uint8Array) || v.length !== 32) bad(`${name} must be a 32-byte string`);
      break;
    case "bytes":
      if (!(v instanceof Uint8Array)) bad(`${name} must be a byte string`);
      break;
    case "text":
      if (typeof v !== "string") bad(`${name} must be a text string`);
      if (f.oneOf !== undefined && !f.oneOf.includes(v as string)) {
        bad(`${name} must be one of ${f.oneOf.map((x) => `"${x}"`).join(", ")}, got "${v}"`);
      }
      break;
    case "uint":
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
        bad(`${name} must be an unsigned integer`);
      }
      break;
    case "bool":
      if (typeof v !== "boolean") bad(`${name} must be a boolean`);
      break;
    case "bytes32[]":
      if (!Array.isArray(v)) bad(`${name} must be an array`);
      (v as unknown[]).forEach((x, i) => {
        if (!(x instanceof Uint8Array) || x.length !== 32) bad(`${name}[${i}] must be a 32-byte string`);
      });
      break;
    case "text[]":
      if (!Array.isArray(v)) bad(`${name} must be an array`);
      (v as unknown[]).forEach((x, i) => {
        if (typeof x !== "string") bad(`${name}[${i}] must be a text string`);
      });
      break;
    case "any":
      break;
  }
  if (f.type !== "bytes32") checkAny(v, name, 0);
  return v as CborValue;
}

/** The codec of one overlay schema; `name` is the schema name and `schemaId` its id from the one table. */
export class BodyCodec {
  readonly schemaId: Uint8Array;

  constructor(readonly name: string, readonly fields: readonly BodyField[]) {
    this.schemaId = schemaIdFor(name);
  }

  /** CBOR of `rec`: the listed keys in order, optional ones left out when undefined. */
  encode(rec: Record<string, CborValue | undefined>): Uint8Array {
    for (const k of Object.keys(rec)) {
      if (!this.fields.some((f) => f.name === k)) {
        throw new VeenError("E.SIZE", `${this.name} has no field "${k}"`);
      }
    }
    const parts: Uint8Array[] = [];
    for (const f of this.fields) {
      const v = rec[f.name];
      if (v === undefined) {
        if (f.optional !== true) bad(`${this.name} is missing "${f.name}"`);
        continue;
      }
      checkField(f, v, this.name);
      parts.push(encodeCbor(f.name), encodeCbor(v));
    }
    const head = new Uint8Array(9);
    const n = writeCborHead(head, 0, 5, parts.length / 2);
    return concat(head.subarray(0, n), ...parts);
  }

  /** Decodes and checks a body; E.SIZE for anything `encode` would not have produced. */
  decode(bytes: Uint8Array): BodyRecord {
    const v = decodeCborInOrder(bytes, this.name);
    if (!(v instanceof Map)) return bad(`${this.name} must be a map`);
    const keys = [...v.keys()];
    const out: BodyRecord = {};
    let i = 0;
    for (const f of this.fields) {
      if (keys[i] === f.name) {
        out[f.name] = checkField(f, v.get(f.name), this.name);
        i++;
      } else if (f.optional !== true) {
        bad(
          v.has(f.name) ? `${this.name} has "${f.name}" out of order` : `${this.name} is missing "${f.name}"`,
        );
      }
    }
    if (i < keys.length) {
      const k = keys[i];
      bad(
        this.fields.some((f) => f.name === k)
          ? `${this.name} has ${JSON.stringify(k)} out of order`
          : `${this.name} has unknown key ${JSON.stringify(k)}`,
      );
    }
    const again = this.encode(out);
    if (again.length !== bytes.length || !again.every((b, j) => b === bytes[j])) {
      bad(`Non-canonical CBOR in ${this.name}`);
    }
    return out;
  }

  /** A JSON object for a body: byte strings as lower-case hex, everything else as is. */
  toJson(rec: BodyRecord): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of this.fields) {
      if (rec[f.name] !== undefined) out[f.name] = cborToJsonValue(rec[f.name]!);
    }
    return out;
  }

  /**
   * A body from JSON (`--body-json`): hex text where the schema says bytes, integers only, text stays text;
   * the result is checked as `encode` checks it.
   */
  fromJson(json: unknown): BodyRecord {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      bad(`${this.name} must be a JSON object`);
    }
    const obj = json as Record<string, unknown>;
    const out: BodyRecord = {};
    for (const k of Object.keys(obj)) {
      if (!this.fields.some((f) => f.name === k)) bad(`${this.name} has no field "${k}"`);
    }
    for (const f of this.fields) {
      const v = obj[f.name];
      if (v === undefined) continue;
      const what = `${this.name}.${f.name}`;
      if (f.type === "bytes32" || f.type === "bytes") out[f.name] = hexOf(v, what);
      else if (f.type === "bytes32[]") {
        if (!Array.isArray(v)) bad(`${what} must be an array of hex strings`);
        out[f.name] = (v as unknown[]).map((x, i) => hexOf(x, `${what}[${i}]`));
      } else out[f.name] = cborOfJson(v, what);
    }
    this.encode(out);
    return out;
  }
}

function hexOf(v: unknown, what: string): Uint8Array {
  if (typeof v !== "string") return bad(`${what} must be hex text`);
  try {
    return fromHex(v, undefined, what);
  } catch {
    return bad(`${what} must be hex text`);
  }
}

function cborOfJson(v: unknown, what: string): CborValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) bad(`${what} must hold integers only`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => cborOfJson(x, what));
  if (typeof v === "object") {
    return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, cborOfJson(x, what)]));
  }
  return bad(`${what} holds a value JSON cannot carry to CBOR`);
}

/** A CBOR value of an overlay body as JSON: byte strings as lower-case hex, map keys as text. */
export function cborToJsonValue(v: CborValue): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(cborToJsonValue);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), cborToJsonValue(x)]));
  return v;
}
