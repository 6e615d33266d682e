/**
 * Overlay payload bodies are canonical CBOR maps with text keys (RPC0, CRDT0 write `{method, args, ...}`,
 * `{key, ts, value}`, ...). Decoding is strict, as the wire decisions require: the body must be one canonical CBOR
 * item, a map whose keys are all known, with every required key present. Failures are E.SIZE.
 */
import { type CborValue, decodeCbor, encodeCbor, VeenError } from "../core/mod.ts";

/** Decodes `bytes` as a text-keyed map with keys from `allowed` and all of `required`. */
export function decodeTextMap(
  bytes: Uint8Array,
  allowed: readonly string[],
  required: readonly string[],
  what: string,
): Map<string, CborValue> {
  const v = decodeCbor(bytes, what);
  if (!(v instanceof Map)) throw new VeenError("E.SIZE", `${what} must be a map`);
  for (const k of v.keys()) {
    if (typeof k !== "string" || !allowed.includes(k)) {
      throw new VeenError("E.SIZE", `${what} has unknown key ${JSON.stringify(k)}`);
    }
  }
  for (const k of required) if (!v.has(k)) throw new VeenError("E.SIZE", `${what} is missing "${k}"`);
  return v as Map<string, CborValue>;
}

/** Canonical CBOR of a text-keyed map; entries whose value is `undefined` are omitted. */
export function encodeTextMap(entries: Record<string, CborValue | undefined>): Uint8Array {
  const m = new Map<string, CborValue>();
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) m.set(k, v);
  return encodeCbor(m);
}
