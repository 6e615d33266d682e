/**
 * The Query API service behind `veen query serve` (spec 001 query-api §7-8; overlay decisions "Products, query
 * and discovery"): a client-side HTTP service on a loopback address that holds the client's read keys; the hub only
 * orders and stores sealed records and never reads a payload.
 *
 * - `POST /api/query/submit`: authenticate (bearer token when configured, else 401 unauthorized), parse (400
 *   invalid_json), normalize (400 invalid_query_descriptor / unsupported_version), refuse a used query_id (409
 *   duplicate_query_id) and scopes outside `--allow-scope` (403 forbidden_scope) or unknown to the hub (400), record
 *   the normalized descriptor on `record/query/requests` as a record.event.v1 (event_type `query.submitted`,
 *   payload its canonical JSON), and answer 202 `{query_id, result_id, status: "pending"}`.
 *   `result_id = "r-" || hex(Ht("veen/query-result", request msg_id))`; a generated query_id is `"q-"` and 32
 *   random hex digits.
 * - Execution, one query at a time in submission order: PENDING → RUNNING → COMPLETED | FAILED. RUNNING reads the
 *   scope (cli/query_read.ts), materializes the rows, verifies the evidence targets, then records the
 *   ResultDigest on `record/query/results` (event_type `query.result`); COMPLETED only once the hub's RECEIPT for
 *   it verified (§8.2). Any failure is FAILED with error_code execution_failed and no digest. Final states never
 *   change.
 * - `GET /api/query/status/{result_id}`, `GET /api/query/result/{result_id}?offset&limit` (limit 1..1000, default
 *   1000; 409 result_not_ready before completion, 500 execution_failed after a failure), `GET
 *   /api/query/descriptor/{query_id}`. Unknown ids are 404 query_not_found. Every error body is `{error_code,
 *   message}` (overlays/query_error.ts).
 *
 * Descriptors already on `record/query/requests` are read at start, so query_ids stay unique across restarts and
 * their descriptors stay answerable. Result rows live in memory only: after a restart earlier result_ids are 404.
 */
import { defaultRandom, Ht, toHex, utf8, VeenError } from "../core/mod.ts";
import {
  canonicalJson,
  evidenceSummary,
  evidenceTargets,
  materializeRows,
  normalizeDescriptor,
  type QueryDescriptor,
  QueryError,
  RECORD_EVENT,
  type ResultDigest,
  resultDigest,
  type ResultRow,
  selectEvents,
  type VerifiedEntry,
} from "../overlays/mod.ts";
import type { CommandContext } from "./context.ts";
import type { HubSession } from "./hub_session.ts";
import { streamTarget } from "./hub_session.ts";
import { type ClientKeys, decryptionSecrets } from "./keystore.ts";
import { pinnedSession } from "./overlay_io.ts";
import { readRecordEvents, verifyEvidence } from "./query_read.ts";
import { sendAndSave } from "./sender.ts";

export const REQUESTS_STREAM = "record/query/requests";
export const RESULTS_STREAM = "record/query/results";
export const MAX_PAGE = 1000;
const ORIGIN = "veen query serve";

export type QueryStatus = "pending" | "running" | "completed" | "failed";

interface RecordRef {
  stream: string;
  seq: number;
  hub_id: string;
  receipt_id: string;
}

interface Job {
  queryId: string;
  resultId: string;
  status: QueryStatus;
  errorCode: string | null;
  message: string | null;
  digest?: ResultDigest;
  digestRecord?: RecordRef;
  rows?: ResultRow[];
}

export interface QueryServiceOptions {
  ctx: CommandContext;
  dir: string;
  keys: ClientKeys;
  /** `host:port` on a loopback address. */
  listen: string;
  /** Bearer token every request must carry, when set. */
  token?: string | undefined;
  /** Stream-name prefixes a scope may name (every stream when empty). */
  allowScope: readonly string[];
  /** Called on each state change (logging). */
  onEvent?: (e: Record<string, unknown>) => void;
}

export interface QueryService {
  url: string;
  /** Resolves when every query submitted so far reached a final state. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const fail = (e: QueryError) => json(e.body(), e.status);

function pageParam(u: URL, name: string, dflt: number, min: number, max: number): number {
  const s = u.searchParams.get(name);
  if (s === null) return dflt;
  if (!/^\d{1,15}$/.test(s) || Number(s) < min || Number(s) > max) {
    throw new QueryError("invalid_parameter", `${name} must be an integer from ${min} to ${max}, got "${s}"`);
  }
  return Number(s);
}

/** Starts the service; `close()` stops listening and waits for the running query. */
export async function startQueryService(o: QueryServiceOptions): Promise<QueryService> {
  const { ctx, dir, keys } = o;
  const m = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d{1,5})$/.exec(o.listen);
  if (m === null) throw new VeenError("E.AUTH", `Query service listens on loopback only, not "${o.listen}"`);
  const session: HubSession = await pinnedSession(ctx, dir);
  const secrets = decryptionSecrets(keys);
  const descriptors = new Map<string, { descriptor: QueryDescriptor; record: RecordRef }>();
  const jobs = new Map<string, Job>();
  const emit = o.onEvent ?? (() => {});

  for (const e of (await readRecordEvents(session, REQUESTS_STREAM, secrets)).events) {
    if (e.eventType !== "query.submitted" || typeof e.payload !== "string") continue;
    try {
      const d = JSON.parse(e.payload) as QueryDescriptor;
      if (typeof d.query_id !== "string") continue;
      descriptors.set(d.query_id, {
        descriptor: d,
        record: {
          stream: REQUESTS_STREAM,
          seq: e.streamSeq,
          hub_id: toHex(session.hubId),
          receipt_id: e.receiptId,
        },
      });
    } catch { /* not ours */ }
  }

  /** Appends one record.event.v1 sealed to the service itself; its stream position. */
  const record = async (
    stream: string,
    eventType: string,
    subject: string,
    payload: string,
  ): Promise<RecordRef> => {
    const bodyBytes = RECORD_EVENT.encode({
      subject_id: subject,
      principal_id: keys.client.public,
      event_type: eventType,
      event_time: Math.floor(ctx.io.now() / 1000),
      origin: ORIGIN,
      payload,
    });
    const { res, session: s } = await sendAndSave(ctx, dir, keys, stream, {
      recipientPk: keys.prekey.public,
      hdr: { schema: RECORD_EVENT.schemaId },
      bodyBytes,
    });
    return { stream, seq: res.receipt.streamSeq, hub_id: toHex(s.hubId), receipt_id: toHex(res.msgId) };
  };

  const execute = async (job: Job, d: QueryDescriptor) => {
    job.status = "running";
    emit({ result_id: job.resultId, status: job.status });
    try {
      const events = [];
      for (const stream of d.scope) events.push(...(await readRecordEvents(session, stream, secrets)).events);
      const matched = selectEvents(d, events);
      const rows = materializeRows(d, matched);
      const verified: VerifiedEntry[] = [];
      for (const i of evidenceTargets(d, matched.length)) {
        verified.push(await verifyEvidence(session, matched[i]! as (typeof events)[number]));
      }
      const digest = resultDigest({
        descriptor: d,
        resultId: job.resultId,
        rows,
        summary: evidenceSummary(d, job.resultId, verified),
        executedAt: Math.floor(ctx.io.now() / 1000),
        hubId: toHex(session.hubId),
        profileId: toHex(session.profileId),
      });
      job.digestRecord = await record(
        RESULTS_STREAM,
        "query.result",
        toHex(keys.client.public),
        canonicalJson(digest),
      );
      job.digest = digest;
      job.rows = rows;
      job.status = "completed";
    } catch (e) {
      job.status = "failed";
      job.errorCode = "execution_failed";
      job.message = e instanceof VeenError
        ? `${e.code}: ${e.detail}`
        : e instanceof Error
        ? e.message
        : String(e);
    }
    emit({
      result_id: job.resultId,
      status: job.status,
      ...(job.message === null ? {} : { message: job.message }),
    });
  };

  let queue: Promise<void> = Promise.resolve();

  const submit = async (req: Request): Promise<Response> => {
    let input: unknown;
    try {
      input = JSON.parse(await req.text());
    } catch (e) {
      throw new QueryError("invalid_json", `Request body is not JSON (${(e as Error).message})`);
    }
    const d = normalizeDescriptor(input, () => `q-${toHex(defaultRandom(16))}`);
    if (descriptors.has(d.query_id)) {
      throw new QueryError("duplicate_query_id", `query_id "${d.query_id}" was submitted before`);
    }
    for (const s of d.scope) {
      if (o.allowScope.length > 0 && !o.allowScope.some((p) => s.startsWith(p))) {
        throw new QueryError("forbidden_scope", `Stream "${s}" is outside the scopes this service allows`);
      }
      if ((await session.http.labelSize(streamTarget(session, s).label)) === 0) {
        throw new QueryError(
          "invalid_query_descriptor",
          `scope stream "${s}" is unknown to the hub (no items)`,
        );
      }
    }
    // Reserve the id before the await so a concurrent duplicate is refused.
    descriptors.set(d.query_id, {
      descriptor: d,
      record: { stream: REQUESTS_STREAM, seq: 0, hub_id: "", receipt_id: "" },
    });
    let ref: RecordRef;
    try {
      const subject = typeof d.meta?.requested_by === "string"
        ? d.meta.requested_by
        : toHex(keys.client.public);
      ref = await record(REQUESTS_STREAM, "query.submitted", subject, canonicalJson(d));
    } catch (e) {
      descriptors.delete(d.query_id);
      throw e;
    }
    descriptors.set(d.query_id, { descriptor: d, record: ref });
    const resultId = `r-${toHex(Ht("veen/query-result", utf8(ref.receipt_id)))}`;
    const job: Job = { queryId: d.query_id, resultId, status: "pending", errorCode: null, message: null };
    jobs.set(resultId, job);
    emit({ query_id: d.query_id, result_id: resultId, status: job.status, request_seq: ref.seq });
    queue = queue.then(() => execute(job, d));
    return json({ query_id: d.query_id, result_id: resultId, status: "pending" }, 202);
  };

  const jobOf = (rid: string): Job => {
    const j = jobs.get(rid);
    if (j === undefined) throw new QueryError("query_not_found", `No result "${rid}"`);
    return j;
  };

  const route = async (req: Request): Promise<Response> => {
    if (o.token !== undefined && req.headers.get("authorization") !== `Bearer ${o.token}`) {
      throw new QueryError("unauthorized", "Missing or wrong bearer token");
    }
    const u = new URL(req.url);
    const p = u.pathname;
    if (req.method === "POST" && p === "/api/query/submit") return await submit(req);
    if (req.method !== "GET") throw new QueryError("query_not_found", `No route ${req.method} ${p}`);
    let x: RegExpExecArray | null;
    if ((x = /^\/api\/query\/status\/([^/]+)$/.exec(p)) !== null) {
      const j = jobOf(decodeURIComponent(x[1]!));
      return json({
        query_id: j.queryId,
        result_id: j.resultId,
        status: j.status,
        error_code: j.errorCode,
        message: j.message,
      });
    }
    if ((x = /^\/api\/query\/result\/([^/]+)$/.exec(p)) !== null) {
      const j = jobOf(decodeURIComponent(x[1]!));
      const offset = pageParam(u, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = pageParam(u, "limit", MAX_PAGE, 1, MAX_PAGE);
      if (j.status === "failed") throw new QueryError("execution_failed", j.message ?? "Query failed");
      if (j.status !== "completed") {
        throw new QueryError("result_not_ready", `Result "${j.resultId}" is ${j.status}`);
      }
      const rows = j.rows!;
      return json({
        result_digest: j.digest,
        rows: rows.slice(offset, offset + limit),
        page: { offset, limit, total: rows.length, has_more: offset + limit < rows.length },
        record_event: j.digestRecord,
      });
    }
    if ((x = /^\/api\/query\/descriptor\/([^/]+)$/.exec(p)) !== null) {
      const qid = decodeURIComponent(x[1]!);
      const got = descriptors.get(qid);
      if (got === undefined || got.record.seq === 0) {
        throw new QueryError("query_not_found", `No query "${qid}"`);
      }
      return json({ descriptor: got.descriptor, record_event: got.record });
    }
    throw new QueryError("query_not_found", `No route GET ${p}`);
  };

  const server = Deno.serve({
    hostname: m[1]!.replace(/^\[|\]$/g, ""),
    port: Number(m[2]),
    onListen: () => {},
  }, async (req) => {
    try {
      return await route(req);
    } catch (e) {
      if (e instanceof QueryError) return fail(e);
      return fail(new QueryError("internal_error", e instanceof Error ? e.message : String(e)));
    }
  });
  const addr = server.addr as Deno.NetAddr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    url: `http://${host}:${addr.port}`,
    idle: () => queue,
    close: async () => {
      await server.shutdown();
      await queue;
    },
  };
}
