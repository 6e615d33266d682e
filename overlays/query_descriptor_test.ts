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

Deno.test("timestamps are YYYY-MM-DDTHH:MM:SSZ from 1970 on, real dates only, and round-trip", async () => {
  const { parseTimestamp, formatTimestamp } = await import("./query_descriptor.ts");
  assert.equal(parseTimestamp("2025-11-19T03:20:00Z"), Date.UTC(2025, 10, 19, 3, 20) / 1000);
  assert.equal(parseTimestamp("2024-02-29T23:59:59Z"), Date.UTC(2024, 1, 29, 23, 59, 59) / 1000);
  for (
    const bad of [
      "2023-02-29T00:00:00Z",
      "2025-11-19T24:00:00Z",
      "1969-12-31T23:59:59Z",
      "2025-11-19 03:20:00Z",
    ]
  ) {
    assert.equal(parseTimestamp(bad), undefined, bad);
  }
  for (const t of [0, 951_782_400, 1_700_000_000, 4_102_444_799]) {
    assert.equal(formatTimestamp(t), new Date(t * 1000).toISOString().replace(".000Z", "Z"));
    assert.equal(parseTimestamp(formatTimestamp(t)), t);
  }
});
