/** The operation log fold: profile entries only, rejected bodies counted, monoid laws, JSON round trip. */
import assert from "node:assert/strict";
import { utf8 } from "../core/mod.ts";
import { OPERATION_LOG } from "./operation_log.ts";
import { PAID_OPERATION, QUERY_AUDIT } from "./operation_profiles.ts";
import { checkMergeLaws, entry, sequence } from "./testing/laws.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);
const paid = (n: number) =>
  PAID_OPERATION.encode({
    operation_type: "t",
    operation_args: new Map([["n", n]]),
    payer_account: b32(1),
    payee_account: b32(2),
    amount: n,
    currency_code: "c",
  });

Deno.test("OPERATION_LOG: folds profile bodies, rejects bad ones, ignores other schemas; merge laws hold", () => {
  const entries = sequence(
    Array.from(
      { length: 30 },
      (_, i) => (seq: number) =>
        i % 5 === 4
          ? entry(seq, PAID_OPERATION.schemaId, utf8("not cbor"))
          : i % 7 === 3
          ? entry(seq, b32(3), utf8("{}"))
          : i % 3 === 0
          ? entry(
            seq,
            QUERY_AUDIT.schemaId,
            QUERY_AUDIT.encode({
              requester_identity: b32(i),
              resource_identifier: `r:${i}`,
              resource_class: "personal-data",
            }),
          )
          : entry(seq, PAID_OPERATION.schemaId, paid(i), b32(1), { expiresAt: 5 }),
    ),
  );
  const s = OPERATION_LOG.empty();
  const results = entries.map((e) => OPERATION_LOG.apply(s, e));
  assert.equal(results.filter((r) => r === "rejected").length, 6);
  assert.equal(results.filter((r) => r === "ignored").length, 3);
  assert.equal(s.records.length, 21);
  checkMergeLaws(OPERATION_LOG, entries, 22);
});

Deno.test("OPERATION_LOG: a profile entry whose cap_ref is not its MSG.auth_ref is rejected (spec-3 §1.3)", () => {
  const s = OPERATION_LOG.empty();
  const at = (seq: number, capRef: Uint8Array | undefined, authRef: Uint8Array | null | undefined) =>
    OPERATION_LOG.apply(s, {
      ...entry(seq, PAID_OPERATION.schemaId, paid(seq), b32(1), capRef === undefined ? {} : { capRef }),
      ...(authRef === undefined ? {} : { authRef }),
    });
  assert.equal(at(1, b32(5), b32(5)), "applied");
  assert.equal(at(2, b32(5), b32(6)), "rejected");
  assert.equal(at(3, b32(5), null), "rejected");
  assert.equal(at(4, undefined, b32(6)), "applied"); // no cap_ref: nothing to compare
  assert.equal(at(5, b32(5), undefined), "applied"); // auth_ref unknown to this reader
  assert.deepEqual(s.rejected.map((r) => r.seq), [2, 3]);
  // The record keeps MSG.auth_ref when set (a grant's bounds apply to it), through the JSON codec too.
  const refs = (l: typeof s) => l.records.map((r) => r.authRef === undefined ? undefined : r.authRef[0]);
  assert.deepEqual(refs(s), [5, 6, undefined]);
  assert.deepEqual(
    refs(OPERATION_LOG.fromJson(JSON.parse(JSON.stringify(OPERATION_LOG.toJson(s))))),
    refs(s),
  );
  const [first] = (OPERATION_LOG.toJson(s) as { records: Record<string, unknown>[] }).records;
  assert.throws(
    () => OPERATION_LOG.fromJson({ records: [{ ...first, auth_ref: "ab" }], rejected: [] }),
    /auth_ref/,
  );
});
