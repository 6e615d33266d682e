/**
 * Payload bodies of the CLI (CLI-GOALS-1 §5.1: "--body: JSON string, encoded as CBOR for payload body").
 *
 * - A body is the deterministic CBOR of the JSON value: objects become text-keyed maps, integers stay integers.
 *   VEEN CBOR has no floats, so non-integer numbers are rejected (usage error).
 * - A message with attachments (payload_hdr.att_root present) carries the CLI envelope
 *   `{"attachments": [{"coid": bstr32, "len": uint, "name": text}, ...], "body": <value>}` so that a receiver
 *   knows the coids in index order (needed to fetch them and to recompute att_root).
 */
import {
  type CborValue,
  decodeCbor,
  encodeCbor,
  expectBytes,
  expectText,
  expectUint,
  toHex,
} from "../core/mod.ts";
import { usageError } from "../cmd/mod.ts";

export interface AttachmentEntry {
  coid: Uint8Array;
  /** Plaintext length in bytes. */
  len: number;
  name: string;
}

/** A JSON value as CBOR; floats and unsafe integers are usage errors. */
export function jsonToCbor(v: unknown, path = "body"): CborValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) {
      throw usageError(`${path}: ${v} is not an integer (VEEN CBOR has no floats)`);
    }
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => jsonToCbor(x, `${path}[${i}]`));
  if (typeof v === "object") {
    const m = new Map<string, CborValue>();
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      m.set(k, jsonToCbor(x, `${path}.${k}`));
    }
    return m;
  }
  throw usageError(`${path}: unsupported JSON value`);
}

/** CBOR as JSON for display: maps become objects (keys as text), byte strings `{"$hex": "..."}`. */
export function cborToJson(v: CborValue): unknown {
  if (v instanceof Uint8Array) return { $hex: toHex(v) };
  if (Array.isArray(v)) return v.map(cborToJson);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = cborToJson(x);
    return o;
  }
  return v;
}

/** Parses the text of `flag` (`--body`, `--args`) as JSON (usage error naming the flag otherwise). */
export function parseJsonFlag(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw usageError(`${flag} is not valid JSON: ${e instanceof Error ? e.message : e}`);
  }
}

/** JSON and text lines of an attachment list, in index order. */
export function describeAttachments(
  entries: readonly AttachmentEntry[],
): { json: Record<string, unknown>[]; lines: string[] } {
  return {
    json: entries.map((a, i) => ({ index: i, coid: toHex(a.coid), len: a.len, name: a.name })),
    lines: entries.map((a, i) => `attachment ${i}: coid ${toHex(a.coid)} len ${a.len} name ${a.name}`),
  };
}

/** The body bytes: CBOR(value), or the attachment envelope when there are attachments. */
export function encodeBody(value: unknown, attachments: readonly AttachmentEntry[] = []): Uint8Array {
  const body = jsonToCbor(value);
  if (attachments.length === 0) return encodeCbor(body);
  const list: CborValue[] = attachments.map((a) =>
    new Map<string, CborValue>([["coid", a.coid], ["len", a.len], ["name", a.name]])
  );
  return encodeCbor(new Map<string, CborValue>([["attachments", list], ["body", body]]));
}

export interface DecodedBody {
  /** The body as JSON, when it is canonical CBOR. */
  json?: unknown;
  /** Hex of the raw body when it is not canonical CBOR (for example from another tool). */
  rawHex?: string;
  attachments: AttachmentEntry[];
}

/** Decodes body bytes; `withAttachments` when payload_hdr.att_root is present. */
export function decodeBody(bytes: Uint8Array, withAttachments: boolean): DecodedBody {
  let v: CborValue;
  try {
    v = decodeCbor(bytes, "body");
  } catch {
    return { rawHex: toHex(bytes), attachments: [] };
  }
  if (withAttachments && v instanceof Map && v.size === 2 && v.has("attachments") && v.has("body")) {
    const list = v.get("attachments");
    if (Array.isArray(list)) {
      try {
        const attachments = list.map((e, i) => {
          if (!(e instanceof Map)) throw new Error("entry");
          return {
            coid: expectBytes(e.get("coid"), 32, `attachments[${i}].coid`),
            len: expectUint(e.get("len"), `attachments[${i}].len`),
            name: expectText(e.get("name"), `attachments[${i}].name`),
          };
        });
        return { json: cborToJson(v.get("body")!), attachments };
      } catch {
        // not the CLI envelope: show as is
      }
    }
  }
  return { json: cborToJson(v), attachments: [] };
}
