import assert from "node:assert/strict";
import { encodeCbor, H, schemaIdFor, utf8 } from "../core/mod.ts";
import { RECORD_EVENT } from "./record_event.ts";

const body = {
  subject_id: "user:1",
  principal_id: new Uint8Array(32).fill(7),
  event_type: "login",
  event_time: 1_700_000_000,
  origin: "gw-1",
  payload: new Map([["status", 401]]),
};

Deno.test("record.event.v1 round-trips and its schema id is H(utf8(name))", () => {
  const bytes = RECORD_EVENT.encode(body);
  assert.deepEqual(RECORD_EVENT.decode(bytes), body);
  assert.deepEqual(RECORD_EVENT.schemaId, H(utf8("record.event.v1")));
  assert.deepEqual(schemaIdFor("record.event.v1"), RECORD_EVENT.schemaId);
});

Deno.test("record.event.v1 refuses misordered keys and a short principal_id", () => {
  const misordered = encodeCbor(
    new Map<string, never>(
      Object.entries({ ...body, subject_id: undefined })
        .filter(([, v]) => v !== undefined).concat([["subject_id", "user:1"]]) as never,
    ),
  );
  assert.throws(() => RECORD_EVENT.decode(misordered), /E\.SIZE/);
  assert.throws(() => RECORD_EVENT.encode({ ...body, principal_id: new Uint8Array(31) }), /32-byte/);
});
