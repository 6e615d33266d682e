/**
 * Test helpers for overlay bodies (overlay decisions, "Bodies and identifiers": text keys in the spec's order):
 * a text-keyed map written in exactly the order given, and the spec-order check every schema's test runs.
 */
import assert from "node:assert/strict";
import {
  type CborValue,
  concat,
  decodeCborInOrder,
  encodeCbor,
  VeenError,
  writeCborHead,
} from "../../core/mod.ts";

/** CBOR of a text-keyed map with its entries in the order given (any order, canonical or not). */
export function mapInOrder(entries: readonly [string, CborValue][]): Uint8Array {
  const head = new Uint8Array(9);
  const n = writeCborHead(head, 0, 5, entries.length);
  return concat(head.subarray(0, n), ...entries.flatMap(([k, v]) => [encodeCbor(k), encodeCbor(v)]));
}

/** Asserts that `f` throws VeenError E.SIZE whose detail matches `re`. */
export function throwsSize(f: () => unknown, re: RegExp): void {
  assert.throws(f, (e) => e instanceof VeenError && e.code === "E.SIZE" && re.test(e.detail));
}

/**
 * Checks that `bytes` (a body of up to 23 keys) has the keys `order` in that order, so its first key follows the
 * one-byte map head, and that RFC 8949 canonical order of the same map is either the same bytes (`canonicalSame`,
 * schemas whose spec order happens to sort) or refused by `decode` as out of order.
 */
export function assertSpecOrder(
  bytes: Uint8Array,
  order: readonly string[],
  decode: (b: Uint8Array) => unknown,
  canonicalSame = false,
): void {
  const m = decodeCborInOrder(bytes);
  assert.ok(m instanceof Map);
  assert.deepEqual([...m.keys()], order);
  const first = encodeCbor(order[0]!);
  assert.deepEqual(bytes.subarray(1, 1 + first.length), first, `the body starts with "${order[0]}"`);
  const canonical = encodeCbor(m);
  if (canonicalSame) {
    assert.deepEqual(canonical, bytes);
    return;
  }
  assert.notDeepEqual(canonical, bytes);
  throwsSize(() => decode(canonical), /out of order/);
}
