/** The operation profile codecs: the spec's names and key order, schema ids, strict decoding, operation_id. */
import assert from "node:assert/strict";
import { decodeCborInOrder, H, Ht, toHex, utf8, VeenError } from "../core/mod.ts";
import {
  OPERATION_PROFILES,
  operationId,
  PAID_OPERATION,
  profileByName,
  profileBySchema,
  RECOVERY_EXECUTION,
} from "./operation_profiles.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);

Deno.test('operation profiles: the 13 names of CLI goals 3 §5.1 with schema_id = H("veen/schema:" || name)', () => {
  assert.deepEqual(OPERATION_PROFILES.map((c) => c.name), [
    "paid.operation.v1",
    "access.grant.v1",
    "access.revoke.v1",
    "delegated.execution.v1",
    "agreement.definition.v1",
    "agreement.confirmation.v1",
    "data.publication.v1",
    "state.checkpoint.v1",
    "recovery.request.v1",
    "recovery.approval.v1",
    "recovery.execution.v1",
    "query.audit.v1",
    "federation.mirror.v1",
  ]);
  for (const c of OPERATION_PROFILES) {
    assert.equal(toHex(c.schemaId), toHex(H(utf8(`veen/schema:${c.name}`))));
    assert.equal(profileBySchema(c.schemaId), c);
    assert.equal(profileByName(c.name), c);
  }
});

Deno.test("paid.operation.v1: spec key order, optional keys omitted, strict decode", () => {
  const rec = {
    operation_type: "translate",
    operation_args: null,
    payer_account: b32(1),
    payee_account: b32(2),
    amount: 5,
    currency_code: "JPY",
    ttl_seconds: 60,
  };
  const bytes = PAID_OPERATION.encode(rec);
  assert.deepEqual([...(decodeCborInOrder(bytes, "x") as Map<string, unknown>).keys()], Object.keys(rec));
  assert.deepEqual(PAID_OPERATION.decode(bytes), rec);
  assert.throws(() => PAID_OPERATION.encode({ ...rec, amount: -1 }), VeenError);
  assert.throws(() => PAID_OPERATION.encode({ ...rec, payer_account: b32(1).subarray(1) }), VeenError);
  assert.throws(() => PAID_OPERATION.fromJson({ ...PAID_OPERATION.toJson(rec), amount: 1.5 }), VeenError);
  assert.deepEqual(PAID_OPERATION.fromJson(PAID_OPERATION.toJson(rec)), rec);
  assert.throws(() => RECOVERY_EXECUTION.fromJson({ target_identity: "00", new_identity: toHex(b32(1)) }));
});

Deno.test('operation_id = Ht("veen/operation-id", msg_id)', () => {
  assert.equal(toHex(operationId(b32(7))), toHex(Ht("veen/operation-id", b32(7))));
});
