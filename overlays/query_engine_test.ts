import assert from "node:assert/strict";
import { H, Ht, toHex, u64be, utf8 } from "../core/mod.ts";
import { canonicalJson } from "./canonical_json.ts";
import { normalizeDescriptor, type QueryDescriptor } from "./query_descriptor.ts";
import {
  evidenceSummary,
  evidenceTargets,
  isSampled,
  materializeRows,
  resultDigest,
  rowsHash,
  sampleThreshold,
  selectEvents,
  type SourceEvent,
} from "./query_engine.ts";

const ev = (seq: number, subject: string, type: string, time: number): SourceEvent => ({
  stream: "record/app/http",
  streamSeq: seq,
  receiptId: toHex(H(u64be(seq))),
  subjectId: subject,
  principalId: "aa".repeat(32),
  eventType: type,
  eventTime: time,
  origin: "gw",
  payload: { status: 200 + seq, path: { p: "/x" } },
});
const EVENTS = [
  ev(1, "u1", "login", 1_700_000_000),
  ev(2, "u2", "login", 1_700_000_100),
  ev(3, "u1", "logout", 1_700_000_200),
  ev(4, "u1", "login", 1_700_000_300),
];

const desc = (o: Record<string, unknown>): QueryDescriptor =>
  normalizeDescriptor({
    query_id: "q-1",
    scope: ["record/app/http"],
    filter: {},
    projection: ["*"],
    evidence: { mode: "none" },
    ...o,
  }, () => "unused");

Deno.test("selectEvents filters by subject, event_type and the half-open event_time window", () => {
  const d = desc({
    filter: {
      subject_id: "u1",
      event_type: ["login"],
      time: { from: "2023-11-14T22:13:20Z", to: "2023-11-14T22:18:20Z" },
    },
  });
  assert.deepEqual(selectEvents(d, EVENTS).map((e) => e.streamSeq), [1]); // 4 is at `to` (excluded)
});

Deno.test("materializeRows projects fields and payload paths; aggregates group in canonical order", () => {
  const d = desc({
    projection: ["subject_id", "event_time", "payload.path.p", "payload.none", "receipt_id"],
  });
  const rows = materializeRows(d, EVENTS.slice(0, 1));
  assert.deepEqual(rows, [{
    subject_id: "u1",
    event_time: "2023-11-14T22:13:20Z",
    "payload.path.p": "/x",
    "payload.none": null,
    receipt_id: EVENTS[0]!.receiptId,
  }]);
  const a = desc({ aggregate: { group_by: ["subject_id"], metrics: ["count", "max(event_time)"] } });
  assert.deepEqual(materializeRows(a, EVENTS), [
    { subject_id: "u1", count: 3, "max(event_time)": "2023-11-14T22:18:20Z" },
    { subject_id: "u2", count: 1, "max(event_time)": "2023-11-14T22:15:00Z" },
  ]);
});

Deno.test("rowsHash is SHA-256 of the canonical JSON of the whole row array", () => {
  const rows = [{ b: 1, a: "x" }];
  assert.equal(rowsHash(rows), toHex(H(utf8('[{"a":"x","b":1}]'))));
  assert.notEqual(rowsHash(rows), rowsHash([{ b: 2, a: "x" }]));
});

Deno.test("sampleThreshold is floor(rate × 2^64) exactly from the decimal form", () => {
  assert.equal(sampleThreshold(1), 1n << 64n);
  assert.equal(sampleThreshold(0.5), 1n << 63n);
  assert.equal(sampleThreshold(0.1), 1844674407370955161n); // floor(2^64 / 10), not the binary double's value
  assert.equal(sampleThreshold(1e-7), (1n << 64n) / 10_000_000n);
});

Deno.test("isSampled compares the first 8 bytes of Ht(veen/query-sample, query_id || u64be(i))", () => {
  const h = Ht("veen/query-sample", utf8("q-1"), u64be(5));
  const x = BigInt("0x" + toHex(h.subarray(0, 8)));
  assert.equal(isSampled("q-1", 5, x), false);
  assert.equal(isSampled("q-1", 5, x + 1n), true);
  const d = desc({ evidence: { mode: "spot", sample_rate: 0.5 } });
  const picked = evidenceTargets(d, 200);
  assert.ok(picked.length > 60 && picked.length < 140, `${picked.length} of 200 sampled at 0.5`);
  assert.deepEqual(evidenceTargets(d, 200), picked, "deterministic");
  assert.deepEqual(evidenceTargets(desc({ evidence: { mode: "full" } }), 3), [0, 1, 2]);
  assert.deepEqual(evidenceTargets(desc({}), 3), []);
});

Deno.test("resultDigest binds rows and evidence; mode none has the minimal summary", () => {
  const d = desc({});
  const rows = materializeRows(d, EVENTS);
  const summary = evidenceSummary(d, "r-1", []);
  assert.deepEqual(summary, { mode: "none" });
  const g = resultDigest({
    descriptor: d,
    resultId: "r-1",
    rows,
    summary,
    executedAt: 0,
    hubId: "h",
    profileId: "p",
  });
  assert.equal(g.row_count, 4);
  assert.equal(g.rows_hash, rowsHash(rows));
  assert.equal(g.evidence_hash, toHex(H(utf8(canonicalJson({ mode: "none" })))));
  assert.equal(g.executed_at, "1970-01-01T00:00:00Z");
});
