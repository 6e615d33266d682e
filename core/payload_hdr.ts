/**
 * payload_hdr, the HPKE-sealed inner header of a payload (spec 004 §6): canonical CBOR map
 * `{1: schema bstr32, 2?: parent_id bstr32, 3?: att_root bstr32, 4?: cap_ref bstr32, 5?: expires_at uint}`.
 * Absent fields are omitted (never null); unknown keys, wrong sizes and non-canonical bytes are E.SIZE.
 */
import { check32 } from "./bytes.ts";
import { type CborValue, decodeCbor, encodeCbor, expectBytes, expectIntMap, expectUint } from "./cbor.ts";
import { VeenError } from "./errors.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

export interface PayloadHdr {
  schema: Uint8Array;
  parentId?: Uint8Array;
  attRoot?: Uint8Array;
  capRef?: Uint8Array;
  expiresAt?: number;
}

const KEYS = [1, 2, 3, 4, 5] as const;
const OPTIONAL_BYTES: ReadonlyArray<[number, "parentId" | "attRoot" | "capRef", string]> = [
  [2, "parentId", "payload_hdr.parent_id"],
  [3, "attRoot", "payload_hdr.att_root"],
  [4, "capRef", "payload_hdr.cap_ref"],
];

/** Canonical CBOR of `h`; fields that are `undefined` are omitted. */
export function encodePayloadHdr(h: PayloadHdr): Uint8Array {
  const m = new Map<number, CborValue>([[1, check32(h.schema, "payload_hdr.schema")]]);
  for (const [k, field, what] of OPTIONAL_BYTES) {
    const v = h[field];
    if (v !== undefined) m.set(k, check32(v, what));
  }
  if (h.expiresAt !== undefined) {
    if (!Number.isSafeInteger(h.expiresAt) || h.expiresAt < 0) {
      throw new VeenError("E.SIZE", "payload_hdr.expires_at must be an unsigned integer");
    }
    m.set(5, h.expiresAt);
  }
  return encodeCbor(m);
}

/** Decodes and validates a payload_hdr; any violation (including size over `maxHdrBytes`) is E.SIZE. */
export function decodePayloadHdr(
  bytes: Uint8Array,
  maxHdrBytes: number = DEFAULT_LIMITS.maxHdrBytes,
): PayloadHdr {
  if (bytes.length > maxHdrBytes) {
    throw new VeenError("E.SIZE", `payload_hdr is ${bytes.length} bytes, over the ${maxHdrBytes}-byte limit`);
  }
  const m = expectIntMap(decodeCbor(bytes, "payload_hdr"), KEYS, [1], "payload_hdr");
  const h: PayloadHdr = { schema: expectBytes(m.get(1), 32, "payload_hdr.schema").slice() };
  for (const [k, field, what] of OPTIONAL_BYTES) {
    if (m.has(k)) h[field] = expectBytes(m.get(k), 32, what).slice();
  }
  if (m.has(5)) h.expiresAt = expectUint(m.get(5), "payload_hdr.expires_at");
  return h;
}
