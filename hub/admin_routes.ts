/**
 * The admin plane's read routes (docs/admin.md): the signed realm descriptor and one JSON route per view, public to
 * anyone who can reach the hub (overlay decisions: encryption protects the wire and the stored log, the views are
 * what the hub enforces).
 *
 * - `GET /realm`: the signed realm descriptor (application/cbor, core/realm_descriptor.ts).
 * - `GET /admin/revocations?kind=&since=&active_only=1&limit=`: `{ok, now, revocations: [{kind, target, ts, ttl,
 *   reason, active_now, stream_seq}]}` in stream order (ttl and reason null when absent), at most `limit` (1000).
 */
import { toHex, VeenError } from "../core/mod.ts";
import { type Revocation, REVOCATION_KINDS, revocationActive } from "../overlays/mod.ts";
import type { AdminPlane } from "./admin_plane.ts";
import { cborResponse, jsonResponse, type Query } from "./http.ts";
import type { Realm } from "./realm.ts";

export const ADMIN_LIST_MAX = 1000;

export interface AdminRoutesContext {
  admin: AdminPlane;
  realm: Realm;
  now: () => number;
}

/** The JSON of one revocation at `now`. */
export function revocationJson(r: Revocation, now: number): Record<string, unknown> {
  return {
    kind: r.kind,
    target: toHex(r.target),
    ts: r.ts,
    ttl: r.ttl ?? null,
    reason: r.reason ?? null,
    active_now: revocationActive(r, now),
    stream_seq: r.seq,
  };
}

/** The response of an admin route `path`, or undefined when `path` is not one. */
export function adminRoute(c: AdminRoutesContext, path: string, q: Query): Response | undefined {
  switch (path) {
    case "/realm":
      return cborResponse(c.realm.descriptor);
    case "/admin/revocations":
      return revocations(c, q);
  }
  return undefined;
}

function revocations(c: AdminRoutesContext, q: Query): Response {
  const now = Math.floor(c.now() / 1000);
  const kind = q.text("kind");
  if (kind !== undefined && !(REVOCATION_KINDS as readonly string[]).includes(kind)) {
    throw new VeenError("E.SIZE", `Query parameter "kind" must be one of ${REVOCATION_KINDS.join(", ")}`);
  }
  const since = q.uint("since", 0);
  const activeOnly = q.flag("active_only");
  const limit = Math.min(q.uint("limit", ADMIN_LIST_MAX), ADMIN_LIST_MAX);
  const out = c.admin.revocations.list()
    .filter((r) => (kind === undefined || r.kind === kind) && r.ts >= since)
    .filter((r) => !activeOnly || revocationActive(r, now))
    .slice(0, limit)
    .map((r) => revocationJson(r, now));
  return jsonResponse({ ok: true, now, revocations: out });
}
