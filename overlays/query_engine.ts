/**
 * The Query API engine, pure (spec 001 query-api §5-6; overlay decisions "Products, query and discovery"):
 * filter recorder events, project or aggregate them into ResultRows, hash the rows, choose the rows to verify and
 * build the evidence summary and the ResultDigest. Reading and verifying receipts is the caller's (I/O).
 *
 * - Rows come in scope order, then stream_seq order; aggregate rows in canonical-JSON order of their group keys.
 *   `rows_hash = hex(SHA-256(canonical_json(rows)))` over the whole ordered result, whatever page is fetched.
 * - Row fields: `event_time` as `YYYY-MM-DDTHH:MM:SSZ`, `principal_id` as hex, `payload` as JSON (byte strings as
 *   hex), `receipt_id` = hex of the source RECEIPT's leaf_hash (the msg_id, which the receipt is resolved and
 *   checked by), `stream` and `stream_seq` its position. `payload.a.b` picks a path (null when absent);
 *   `payload.*` is the whole payload.
 * - Evidence targets: every matched source event (full), or those whose index i (0-based, in row order of a
 *   selection, in source order of an aggregate) has the first 8 bytes of `Ht("veen/query-sample", utf8(query_id)
 *   || u64be(i))` below `floor(sample_rate × 2^64)`, computed exactly from the rate's decimal form (spot).
 */
import { H, Ht, toHex, u64be, utf8 } from "../core/mod.ts";
import { canonicalJson, canonicalJsonBytes } from "./canonical_json.ts";
import {
  DEFAULT_PROJECTION,
  formatTimestamp,
  parseTimestamp,
  type QueryDescriptor,
} from "./query_descriptor.ts";

/** One verified, opened record.event.v1 of a scope stream, as the engine sees it. */
export interface SourceEvent {
  stream: string;
  streamSeq: number;
  /** hex(RECEIPT.leaf_hash). */
  receiptId: string;
  subjectId: string;
  /** hex(principal_id). */
  principalId: string;
  eventType: string;
  eventTime: number;
  origin: string;
  /** The payload as JSON. */
  payload: unknown;
}

export type ResultRow = Record<string, unknown>;

/** Events of `events` (already in scope and seq order) that pass the descriptor's filter. */
export function selectEvents(d: QueryDescriptor, events: readonly SourceEvent[]): SourceEvent[] {
  const { subject_id, event_type, time } = d.filter;
  const from = time.from === null ? undefined : parseTimestamp(time.from)!;
  const to = time.to === null ? undefined : parseTimestamp(time.to)!;
  return events.filter((e) =>
    (subject_id === null || e.subjectId === subject_id) &&
    (event_type === null || event_type.includes(e.eventType)) &&
    (from === undefined || e.eventTime >= from) &&
    (to === undefined || e.eventTime < to)
  );
}

function field(e: SourceEvent, f: string): unknown {
  switch (f) {
    case "stream":
      return e.stream;
    case "stream_seq":
      return e.streamSeq;
    case "subject_id":
      return e.subjectId;
    case "principal_id":
      return e.principalId;
    case "event_type":
      return e.eventType;
    case "event_time":
      return formatTimestamp(e.eventTime);
    case "origin":
      return e.origin;
    case "receipt_id":
      return e.receiptId;
    case "payload":
    case "payload.*":
      return e.payload;
  }
  let v: unknown = e.payload;
  for (const k of f.split(".").slice(1)) {
    v = typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)[k]
      : undefined;
  }
  return v ?? null;
}

function aggregateRows(
  a: NonNullable<QueryDescriptor["aggregate"]>,
  events: readonly SourceEvent[],
): ResultRow[] {
  const groups = new Map<string, { key: ResultRow; count: number; min: number; max: number }>();
  for (const e of events) {
    const key: ResultRow = {};
    for (const g of a.group_by) key[g] = field(e, g);
    const k = canonicalJson(a.group_by.map((g) => key[g]));
    const got = groups.get(k);
    if (got === undefined) groups.set(k, { key, count: 1, min: e.eventTime, max: e.eventTime });
    else {
      got.count++;
      got.min = Math.min(got.min, e.eventTime);
      got.max = Math.max(got.max, e.eventTime);
    }
  }
  return [...groups].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, g]) => {
    const row: ResultRow = { ...g.key };
    for (const m of a.metrics) {
      row[m] = m === "count" ? g.count : formatTimestamp(m === "min(event_time)" ? g.min : g.max);
    }
    return row;
  });
}

/** The ResultRows of the matched events: projections of a selection, or the groups of an aggregate. */
export function materializeRows(d: QueryDescriptor, matched: readonly SourceEvent[]): ResultRow[] {
  if (d.aggregate !== undefined) return aggregateRows(d.aggregate, matched);
  const fields = d.projection[0] === "*" ? DEFAULT_PROJECTION : d.projection;
  return matched.map((e) => Object.fromEntries(fields.map((f) => [f, field(e, f)])));
}

/** `rows_hash = hex(SHA-256(canonical_json(rows)))` (§5.3). */
export function rowsHash(rows: readonly ResultRow[]): string {
  return toHex(H(canonicalJsonBytes(rows)));
}

/** `floor(rate × 2^64)`, exact from the decimal form of `rate` (0 < rate <= 1). */
export function sampleThreshold(rate: number): bigint {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(String(rate));
  if (m === null || !(rate > 0 && rate <= 1)) throw new RangeError(`Bad sample_rate ${rate}`);
  const frac = m[2] ?? "";
  const mantissa = BigInt(m[1]! + frac);
  const exp = Number(m[3] ?? "0") - frac.length;
  const scaled = mantissa << 64n;
  return exp >= 0 ? scaled * 10n ** BigInt(exp) : scaled / 10n ** BigInt(-exp);
}

/** Whether row `i` is checked by a spot query with this threshold (overlay decisions). */
export function isSampled(queryId: string, i: number, threshold: bigint): boolean {
  const h = Ht("veen/query-sample", utf8(queryId), u64be(i));
  let x = 0n;
  for (let j = 0; j < 8; j++) x = (x << 8n) | BigInt(h[j]!);
  return x < threshold;
}

/** Indexes into `matched` whose receipts the evidence mode requires to be verified. */
export function evidenceTargets(d: QueryDescriptor, matchedCount: number): number[] {
  const { mode, sample_rate } = d.evidence;
  if (mode === "none") return [];
  const all = [...Array(matchedCount).keys()];
  if (mode === "full") return all;
  const t = sampleThreshold(sample_rate!);
  return all.filter((i) => isSampled(d.query_id, i, t));
}

/** One verified source event in the evidence summary (§5.4). */
export interface VerifiedEntry {
  receipt_id: string;
  mmr_root: string;
  hub_id: string;
  stream: string;
  stream_seq: number;
}

/** The evidence summary (§5.4): `{mode: "none"}`, or the query, result, mode, rate and verified entries. */
export function evidenceSummary(
  d: QueryDescriptor,
  resultId: string,
  verified: readonly VerifiedEntry[],
): Record<string, unknown> {
  if (d.evidence.mode === "none") return { mode: "none" };
  return {
    query_id: d.query_id,
    result_id: resultId,
    mode: d.evidence.mode,
    ...(d.evidence.mode === "spot" ? { sample_rate: d.evidence.sample_rate } : {}),
    verified,
  };
}

export interface ResultDigest {
  query_id: string;
  result_id: string;
  version: 1;
  row_count: number;
  evidence_policy: QueryDescriptor["evidence"];
  rows_hash: string;
  evidence_hash: string;
  executed_at: string;
  hub_id: string;
  profile_id: string;
}

/** The ResultDigest (§5.2) of a materialized result. */
export function resultDigest(a: {
  descriptor: QueryDescriptor;
  resultId: string;
  rows: readonly ResultRow[];
  summary: Record<string, unknown>;
  executedAt: number;
  hubId: string;
  profileId: string;
}): ResultDigest {
  return {
    query_id: a.descriptor.query_id,
    result_id: a.resultId,
    version: 1,
    row_count: a.rows.length,
    evidence_policy: a.descriptor.evidence,
    rows_hash: rowsHash(a.rows),
    evidence_hash: toHex(H(canonicalJsonBytes(a.summary))),
    executed_at: formatTimestamp(a.executedAt),
    hub_id: a.hubId,
    profile_id: a.profileId,
  };
}
