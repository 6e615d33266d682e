import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { RECORD_EVENT, recordNamespaceOf } from "./recorder.ts";
import { throwsCode } from "../tests/util.ts";

Deno.test("record.event.v1: the spec's six keys in order; round trip; a wrong type or extra key is E.SIZE", () => {
  const rec = RECORD_EVENT.fromJson({
    subject_id: "user-1",
    principal_id: "ab".repeat(32),
    event_type: "login",
    event_time: 1700000000,
    origin: "auth",
    payload: { ip: "10.0.0.1", n: 2 },
  });
  const bytes = RECORD_EVENT.encode(rec);
  const back = RECORD_EVENT.decode(bytes);
  assert.equal(toHex(back.principal_id as Uint8Array), "ab".repeat(32));
  assert.deepEqual(RECORD_EVENT.toJson(back).payload, { ip: "10.0.0.1", n: 2 });
  assert.deepEqual(RECORD_EVENT.fields.map((f) => f.name), [
    "subject_id",
    "principal_id",
    "event_type",
    "event_time",
    "origin",
    "payload",
  ]);
  throwsCode(() => RECORD_EVENT.encode({ ...rec, event_time: "now" }), "E.SIZE");
  throwsCode(() => RECORD_EVENT.encode({ ...rec, extra: 1 }), "E.SIZE");
  throwsCode(() => RECORD_EVENT.encode({ ...rec, principal_id: new Uint8Array(31) }), "E.SIZE");
});

Deno.test("recorder namespaces: record/app|security|infrastructure/NAME only", () => {
  assert.equal(recordNamespaceOf("record/security/auth"), "security");
  assert.equal(recordNamespaceOf("record/infrastructure/changes"), "infrastructure");
  assert.equal(recordNamespaceOf("record/app/http/access"), "app");
  for (const s of ["record/app/", "record/query/requests", "export/x", "record/apps/x"]) {
    assert.equal(recordNamespaceOf(s), undefined, s);
  }
});
