/**
 * Canonical JSON (RFC 8785 JCS), the encoding the Query API hashes (spec 001 query-api §3.1, overlay decisions
 * "Products, query and discovery"): no insignificant whitespace, object keys sorted by UTF-16 code units, numbers
 * in the ECMAScript shortest form (RFC 8785 §3.2.2.3, which is `JSON.stringify`'s), strings with the JSON escapes
 * of RFC 8785 §3.2.2.2 (also `JSON.stringify`'s). Non-finite numbers and values JSON cannot carry are refused.
 */

/** The RFC 8785 canonical form of `v`; a TypeError for NaN, Infinity, undefined, bigint, functions and symbols. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new TypeError(`Cannot encode ${v} as canonical JSON`);
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (typeof v === "object" && !(v instanceof Uint8Array)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  throw new TypeError(`Cannot encode a ${typeof v} as canonical JSON`);
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalJsonBytes(v: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(v));
}
