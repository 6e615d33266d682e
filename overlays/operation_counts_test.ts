/** The operation counts fold: a monoid, the counts of the operation log, in first-appearance order. */
import assert from "node:assert/strict";
import { prng } from "../tests/util.ts";
import type { OverlayEntry } from "./fold.ts";
import { countsJson, OPERATION_COUNTS } from "./operation_counts.ts";
import { OPERATION_LOG } from "./operation_log.ts";
import { QUERY_AUDIT, RECOVERY_REQUEST } from "./operation_profiles.ts";
import { checkMergeLaws, entry, foldAll, sequence } from "./testing/laws.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);
const make = [
  (seq: number) =>
    entry(
      seq,
      RECOVERY_REQUEST.schemaId,
      RECOVERY_REQUEST.encode({ target_identity: b32(1), requested_new_identity: b32(2) }),
    ),
  (seq: number) =>
    entry(
      seq,
      QUERY_AUDIT.schemaId,
      QUERY_AUDIT.encode({ requester_identity: b32(1), resource_identifier: "r", resource_class: "c" }),
    ),
  (seq: number) => entry(seq, QUERY_AUDIT.schemaId, new Uint8Array([0xa0])), // rejected: not counted
  (seq: number) => entry(seq, new Uint8Array(32), new Uint8Array([0xa0])), // not a profile
];
const randomOps = (seed: number): OverlayEntry[] => {
  const r = prng(seed);
  return sequence(Array.from({ length: 10 + r.int(30) }, () => make[r.int(make.length)]!));
};

Deno.test("operation counts merge is associative with an identity and equals the sequential fold (property)", () => {
  for (let seed = 1; seed <= 10; seed++) checkMergeLaws(OPERATION_COUNTS, randomOps(seed), seed);
});

Deno.test("operation counts: the operation log's records by schema, in first-appearance order", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const entries = randomOps(seed);
    const [log, s] = [foldAll(OPERATION_LOG, entries), foldAll(OPERATION_COUNTS, entries)];
    const want: Record<string, number> = {};
    for (const r of log.records) want[r.codec.name] = (want[r.codec.name] ?? 0) + 1;
    assert.equal(JSON.stringify(countsJson(s)), JSON.stringify(want), `seed ${seed}`);
  }
  assert.throws(() => OPERATION_COUNTS.fromJson({ "no.such.v1": { count: 1, first: 1 } }));
  assert.throws(() => OPERATION_COUNTS.fromJson({ "query.audit.v1": { count: -1, first: 1 } }));
});
