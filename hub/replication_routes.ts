/**
 * The replication routes (docs/replication.md), on a hub with a replication intake (hub/replication.ts):
 *
 * - `POST /replicate?primary_pk=HEX`: a CBOR sequence of `[RECEIPT, MSG]` items of one label, in stream_seq order,
 *   as the primary's `/stream` serves them → `{ok, label, appended, held, seq, mmr_root}` (the label's head after).
 * - `POST /replicate/checkpoint?primary_pk=HEX`: a CBOR sequence of the primary's CHECKPOINTs → `{ok, stored, held}`.
 * - `GET /replication`: the labels this hub replicates now → `{ok, hub_id, admin_source, labels: [{label,
 *   stream_id, primary_hub, policy, ts, ttl, seq, mmr_root}]}` (seq and mmr_root: this hub's head of the label; a
 *   tenant hub lists its admin labels too, hub/admin_source.ts).
 */
import { hubIdFor, toHex, VeenError } from "../core/mod.ts";
import { jsonResponse, type Query } from "./http.ts";
import type { Replication } from "./replication.ts";
import type { HubStore } from "./store.ts";

/** Bytes of a /replicate body beyond the largest MSG: the bridge sends at most 1 MiB of items per request. */
export const REPLICATE_BODY_SLACK = 2 * 1024 * 1024;

export interface ReplicationRoutesContext {
  replication: Replication | undefined;
  store: HubStore;
  now: () => number;
  maxMsgBytes: number;
  /** Reads a request body within the hub's body-read bounds. */
  body: (req: Request, max: number, peer: string) => Promise<Uint8Array>;
}

/** The response of a replication route, or undefined when `path` is not one. */
export function replicationRoute(
  c: ReplicationRoutesContext,
  req: Request,
  path: string,
  q: Query,
  peer: string,
): Promise<Response> | undefined {
  if (path !== "/replicate" && path !== "/replicate/checkpoint" && path !== "/replication") return undefined;
  const r = c.replication;
  if (r === undefined) throw new VeenError("E.NOT_FOUND", `No route ${req.method} ${path}`);
  if (req.method === "POST" && path === "/replicate") {
    return (async () => {
      const pk = q.label("primary_pk");
      const res = await r.intake(pk, await c.body(req, c.maxMsgBytes + REPLICATE_BODY_SLACK, peer));
      return jsonResponse({
        ok: true,
        label: toHex(res.label),
        appended: res.appended,
        held: res.held,
        seq: res.seq,
        mmr_root: toHex(res.root),
      });
    })();
  }
  if (req.method === "POST" && path === "/replicate/checkpoint") {
    return (async () => {
      const pk = q.label("primary_pk");
      const res = await r.intakeCheckpoints(pk, await c.body(req, 64 * 1024, peer));
      return jsonResponse({ ok: true, ...res });
    })();
  }
  if ((req.method === "GET" || req.method === "HEAD") && path === "/replication") {
    return replicationList(c, r);
  }
  throw new VeenError("E.NOT_FOUND", `No route ${req.method} ${path}`);
}

/** One label of GET /replication. */
interface ReplicationRow {
  label: string;
  stream_id: string;
  primary_hub: string | null;
  policy: string;
  ts: number | null;
  ttl: number | null;
  seq: number;
  mmr_root: string;
}

/**
 * GET /replication: the labels replicated by authority record, then, on a tenant hub, its admin labels with policy
 * `admin_source` and primary_hub the admin source's hub_id (null until its key is pinned), ts and ttl null.
 */
async function replicationList(c: ReplicationRoutesContext, r: Replication): Promise<Response> {
  const head = (label: Uint8Array) => {
    const h = c.store.head(label);
    return { seq: h?.seq ?? 0, mmr_root: toHex(h?.root ?? new Uint8Array(32)) };
  };
  const labels: ReplicationRow[] = r.replicatedLabels(Math.floor(c.now() / 1000)).map((
    { label, streamId, record },
  ) => ({
    label: toHex(label),
    stream_id: toHex(streamId),
    primary_hub: toHex(record.primaryHub),
    policy: record.policy,
    ts: record.ts,
    ttl: record.ttl,
    ...head(label),
  }));
  const tenant = r.isTenant ? await r.tenantLabels() : undefined;
  for (const s of tenant?.streams ?? []) {
    labels.push({
      label: toHex(s.label),
      stream_id: toHex(s.streamId),
      primary_hub: tenant!.key === undefined ? null : toHex(hubIdFor(tenant!.key)),
      policy: "admin_source",
      ts: null,
      ttl: null,
      ...head(s.label),
    });
  }
  return jsonResponse({ ok: true, hub_id: toHex(r.hubId), admin_source: tenant?.url ?? null, labels });
}
