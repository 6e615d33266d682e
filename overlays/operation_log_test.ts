/**
 * The operation log fold: profile entries only, rejected bodies counted, monoid laws, JSON round trip; its records
 * taken into index rows under the keys commands look them up by, the summary two counts.
 */
import assert from "node:assert/strict";
import { H, toHex, utf8 } from "../core/mod.ts";
import {
  OPERATION_KEYS,
  OPERATION_LOG,
  type OperationRecord,
  parseRecord,
  recordJson,
  RECOVERY_LOG,
} from "./operation_log.ts";
import {
  DATA_PUBLICATION,
  DELEGATED_EXECUTION,
  operationId,
  PAID_OPERATION,
  QUERY_AUDIT,
  STATE_CHECKPOINT,
} from "./operation_profiles.ts";
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
  const refs = (rs: OperationRecord[]) => rs.map((r) => r.authRef === undefined ? undefined : r.authRef[0]);
  assert.deepEqual(refs(s.records), [5, 6, undefined]);
  assert.deepEqual(refs(s.records.map((r) => parseRecord(JSON.parse(JSON.stringify(recordJson(r)))))), [
    5,
    6,
    undefined,
  ]);
  assert.throws(() => parseRecord({ ...recordJson(s.records[0]!), auth_ref: "ab" }), /auth_ref/);
});

Deno.test("OPERATION_LOG: records are taken into index rows under their lookup keys; the summary is two counts", () => {
  const s = OPERATION_LOG.empty();
  const long = "c".repeat(200);
  const bodies = [
    [PAID_OPERATION, paid(1)],
    [
      QUERY_AUDIT,
      QUERY_AUDIT.encode({ requester_identity: b32(1), resource_identifier: "r", resource_class: long }),
    ],
    [
      STATE_CHECKPOINT,
      STATE_CHECKPOINT.encode({
        state_id: b32(1),
        upto_stream_seq: 1,
        mmr_root: b32(2),
        state_hash: b32(3),
        state_class: "wallet.ledger",
      }),
    ],
    [
      DATA_PUBLICATION,
      DATA_PUBLICATION.encode({
        publication_id: b32(4),
        publisher_identity: b32(5),
        content_root: b32(6),
        content_class: "model",
        version: "v1",
      }),
    ],
    [
      DELEGATED_EXECUTION,
      DELEGATED_EXECUTION.encode({
        principal_identity: b32(1),
        agent_identity: b32(2),
        delegation_chain: [b32(7)],
        operation_schema: b32(8),
        operation_body: null,
      }),
    ],
  ] as const;
  const entries = sequence(bodies.map(([c, body]) => (seq: number) => entry(seq, c.schemaId, body)));
  for (const e of entries) OPERATION_LOG.apply(s, e);
  OPERATION_LOG.apply(s, entry(6, PAID_OPERATION.schemaId, utf8("not cbor")));
  const rows = OPERATION_LOG.indexed!.take(s);
  const k = OPERATION_KEYS;
  assert.deepEqual(rows.map((r) => r.keys), [
    [k.schema("paid.operation.v1"), k.account(toHex(b32(1))), k.account(toHex(b32(2)))],
    [k.schema("query.audit.v1"), ["audit-class", H(utf8(long))]], // a long text is keyed by its hash
    [k.schema("state.checkpoint.v1"), k.checkpoint(toHex(b32(1)), 1)],
    [
      k.schema("data.publication.v1"),
      k.publication(toHex(b32(4))),
      k.publicationVersion(toHex(b32(4)), "v1"),
    ],
    [k.schema("delegated.execution.v1"), k.delegated(toHex(operationId(entries[4]!.msgId)))],
  ]);
  assert.deepEqual(k.auditClass(long), ["audit-class", H(utf8(long))]);
  // A row's value is the record's one JSON form.
  for (const [i, r] of rows.entries()) {
    assert.deepEqual(
      parseRecord(JSON.parse(JSON.stringify(r.value))).body,
      bodies[i]![0].decode(bodies[i]![1]),
    );
  }
  assert.deepEqual([s.records, s.rejected], [[], []], "taken out of the state");
  assert.deepEqual(OPERATION_LOG.toJson(s), { records: 5, rejected: 1 });
  OPERATION_LOG.apply(s, entry(7, PAID_OPERATION.schemaId, paid(7)));
  assert.deepEqual(OPERATION_LOG.toJson(s), { records: 6, rejected: 1 });
  assert.deepEqual(OPERATION_LOG.indexed!.take(s).map((r) => r.seq), [7], "only what came after");
  const back = OPERATION_LOG.fromJson(OPERATION_LOG.toJson(s));
  assert.deepEqual(OPERATION_LOG.toJson(back), { records: 6, rejected: 1 });
  // A summary written before the index (the list of records) is damaged, so the reader folds again.
  assert.throws(() => OPERATION_LOG.fromJson({ records: [], rejected: [] }), /before the record index/);
  // The recovery log keeps its records in its summary.
  assert.equal(RECOVERY_LOG.indexed, undefined);
});
