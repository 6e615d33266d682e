/**
 * Overlay payload bodies are canonical CBOR maps with text keys (RPC0, CRDT0 write `{method, args, ...}`,
 * `{key, ts, value}`, ...). Decoding is strict, as the wire decisions require: the body must be one canonical CBOR
 * item, a map whose keys are all known, with every required key present. Failures are E.SIZE.
 */
import { type CborValue, decodeCbor, encodeCbor, expectTextMap } from "../core/mod.ts";

/** Decodes `bytes` as a text-keyed map with keys from `allowed` and all of `required`. */
export function decodeTextMap(
  bytes: Uint8Array,
  allowed: readonly string[],
  required: readonly string[],
  what: string,
): Map<string, CborValue> {
  return expectTextMap(decodeCbor(bytes, what), allowed, required, what);
}

/** Canonical CBOR of a text-keyed map; entries whose value is `undefined` are omitted. */
export function encodeTextMap(entries: Record<string, CborValue | undefined>): Uint8Array {
  const m = new Map<string, CborValue>();
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) m.set(k, v);
  return encodeCbor(m);
}
