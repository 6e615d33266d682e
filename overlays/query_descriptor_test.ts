import assert from "node:assert/strict";
import { normalizeDescriptor } from "./query_descriptor.ts";
import { QueryError } from "./query_error.ts";

const base = {
  scope: ["record/app/http"],
  filter: {},
  projection: ["subject_id"],
  evidence: { mode: "none" },
};
const norm = (o: Record<string, unknown>) => normalizeDescriptor({ ...base, ...o }, () => "q-generated");
const fails = (o: unknown, code: string, re: RegExp) =>
  assert.throws(() => normalizeDescriptor(o, () => "q"), (e) => {
    assert.ok(e instanceof QueryError);
    assert.equal(e.errorCode, code);
    assert.match(e.message, re);
    return true;
  });

Deno.test("normalizeDescriptor fills query_id, version, null filters and drops a null sample_rate", () => {
  assert.deepEqual(norm({ evidence: { mode: "full", sample_rate: null } }), {
    query_id: "q-generated",
    version: 1,
    scope: ["record/app/http"],
    filter: { subject_id: null, event_type: null, time: { from: null, to: null } },
    projection: ["subject_id"],
    evidence: { mode: "full" },
  });
  assert.equal(norm({ query_id: "mine" }).query_id, "mine");
});

Deno.test("normalizeDescriptor refuses bad descriptors with invalid_query_descriptor naming the field", () => {
  fails([], "invalid_query_descriptor", /descriptor must be an object/);
  fails({ ...base, scope: [] }, "invalid_query_descriptor", /scope must not be empty/);
  fails({ ...base, projection: ["secret"] }, "invalid_query_descriptor", /unsupported field "secret"/);
  fails(
    { ...base, evidence: { mode: "spot" } },
    "invalid_query_descriptor",
    /sample_rate must be in \(0, 1\]/,
  );
  fails({ ...base, evidence: { mode: "spot", sample_rate: 1.5 } }, "invalid_query_descriptor", /sample_rate/);
  fails(
    { ...base, evidence: { mode: "none", sample_rate: 0.1 } },
    "invalid_query_descriptor",
    /omitted or null/,
  );
  fails(
    { ...base, filter: { time: { from: "2025-13-01T00:00:00Z" } } },
    "invalid_query_descriptor",
    /time.from/,
  );
  fails({ ...base, filter: { color: "red" } }, "invalid_query_descriptor", /unknown key "color"/);
  fails({ ...base, aggregate: { metrics: ["sum(x)"] } }, "invalid_query_descriptor", /unsupported metric/);
  fails({ ...base, meta: { blob: "x".repeat(5000) } }, "invalid_query_descriptor", /more than 4096/);
  fails({ ...base, version: 2 }, "unsupported_version", /version 2/);
});
