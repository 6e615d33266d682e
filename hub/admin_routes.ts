/**
 * The admin plane's read routes (docs/admin.md): the signed realm descriptor and one JSON route per view, public to
 * anyone who can reach the hub (overlay decisions: encryption protects the wire and the stored log, the views are
 * what the hub enforces).
 *
 * - `GET /realm`: the signed realm descriptor (application/cbor, core/realm_descriptor.ts).
 * - `GET /admin/revocations?kind=&since=&active_only=1&limit=`: `{ok, now, revocations: [{kind, target, ts, ttl,
 *   reason, active_now, stream_seq}]}` in stream order (ttl and reason null when absent), at most `limit` (1000).
 * - `GET /admin/label-class?label=HEX`: the effective classification of a label (hub/label_policy.ts).
 * - `GET /admin/label-classes?class=&limit=`: `{ok, label_classes: [{label, class, sensitivity, retention_hint,
 *   stream_seq}]}` in stream order of their records.
 * - `GET /admin/schema?schema_id=HEX`: one schema descriptor (404 E.NOT_FOUND when none is registered).
 * - `GET /admin/schemas?name_prefix=&owner=&limit=`: `{ok, schemas: [descriptor]}` in stream order.
 * - `GET /admin/grants?subject=HEX&active_only=1&limit=`: `{ok, now, grants: [{auth_ref, subject_identity,
 *   allowed_stream_ids, expiry_time, maximum_rate_per_second, maximum_burst, maximum_amount, currency_code,
 *   stream_seq, revoked, active}]}` in stream order (access.grant.v1 admin records, overlays/access_grant.ts).
 * - `GET /admin/grant?auth_ref=HEX`: the grant body (application/cbor, CBOR(access.grant.v1) as its derived auth_ref
 *   hashes it, revoked or not), so a reader checks it against auth_ref and reads its bounds; 404 E.NOT_FOUND.
 * - `GET /profile/features`: the v0.0.1+ feature descriptor (hub/features.ts).
 * - `GET /authority?stream_id=|label=`: role and AUTH1 label authority (hub/authority_route.ts).
 */
import { fromHex, hubIdFor, toHex, VeenError } from "../core/mod.ts";
import {
  grantJson,
  type LabelClass,
  type Revocation,
  REVOCATION_KINDS,
  revocationActive,
  type SchemaDescriptor,
} from "../overlays/mod.ts";
import type { AdminPlane } from "./admin_plane.ts";
import { authorityRoute } from "./authority_route.ts";
import type { LabelAuthority } from "./label_authority.ts";
import { FEATURES_VERSION, type HubFeatures } from "./features.ts";
import { cborResponse, jsonResponse, type Query } from "./http.ts";
import type { LabelPolicy } from "./label_policy.ts";
import type { Realm } from "./realm.ts";
import { readRetentionPolicy } from "./retention.ts";

export const ADMIN_LIST_MAX = 1000;

export interface AdminRoutesContext {
  admin: AdminPlane;
  realm: Realm;
  now: () => number;
  /** Label classes in effect (LCLASS0); the label-class routes are 404 without it. */
  labels?: LabelPolicy;
  /** AUTH1 label authority (GET /authority); 404 without it. */
  authority?: LabelAuthority;
  /** The feature descriptor of GET /profile/features; 404 without it. */
  features?: HubFeatures;
  hubPk: Uint8Array;
  profileId: Uint8Array;
  /** The data dir, whose retention.json the label-class route reports. */
  dataDir: string;
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
export function adminRoute(
  c: AdminRoutesContext,
  path: string,
  q: Query,
): Response | Promise<Response> | undefined {
  switch (path) {
    case "/realm":
      return cborResponse(c.realm.descriptor);
    case "/admin/revocations":
      return revocations(c, q);
    case "/admin/label-class":
      return labelClass(c, q);
    case "/admin/label-classes":
      return labelClasses(c, q);
    case "/admin/schema":
      return schema(c, q);
    case "/admin/schemas":
      return schemas(c, q);
    case "/admin/grants":
      return grants(c, q);
    case "/admin/grant":
      return grantBody(c, q);
    case "/profile/features":
      return features(c);
    case "/authority":
      if (c.authority === undefined) return undefined;
      return authorityRoute(c.authority, c.realm.realmId, q, Math.floor(c.now() / 1000));
  }
  return undefined;
}

const listLimit = (q: Query) => Math.min(q.uint("limit", ADMIN_LIST_MAX), ADMIN_LIST_MAX);

/** The JSON of one label class record. */
export function labelClassJson(c: LabelClass): Record<string, unknown> {
  return {
    label: toHex(c.label),
    class: c.class,
    sensitivity: c.sensitivity ?? null,
    retention_hint: c.retentionHint ?? null,
    stream_seq: c.seq,
  };
}

/** The JSON of one schema descriptor. */
export function schemaJson(d: SchemaDescriptor): Record<string, unknown> {
  return {
    schema_id: toHex(d.schemaId),
    name: d.name,
    version: d.version,
    doc_url: d.docUrl ?? null,
    owner: d.owner === undefined ? null : toHex(d.owner),
    ts: d.ts,
    stream_seq: d.seq,
  };
}

function labelPolicy(c: AdminRoutesContext): LabelPolicy {
  if (c.labels === undefined) throw new VeenError("E.NOT_FOUND", "This hub has no label classes");
  return c.labels;
}

async function labelClass(c: AdminRoutesContext, q: Query): Promise<Response> {
  const policy = labelPolicy(c);
  const label = q.label();
  return jsonResponse({ ok: true, ...policy.effective(label, await readRetentionPolicy(c.dataDir)) });
}

function labelClasses(c: AdminRoutesContext, q: Query): Response {
  labelPolicy(c);
  const cls = q.text("class");
  const out = c.admin.labelClasses.list()
    .filter((x) => cls === undefined || x.class === cls)
    .slice(0, listLimit(q))
    .map(labelClassJson);
  return jsonResponse({ ok: true, label_classes: out });
}

function schema(c: AdminRoutesContext, q: Query): Response {
  const id = q.label("schema_id");
  const d = c.admin.schemas.get(id);
  if (d === undefined) throw new VeenError("E.NOT_FOUND", `No schema ${toHex(id)} is registered`);
  return jsonResponse({ ok: true, ...schemaJson(d) });
}

function schemas(c: AdminRoutesContext, q: Query): Response {
  const prefix = q.text("name_prefix");
  const ownerHex = q.text("owner");
  const owner = ownerHex === undefined ? undefined : toHex(fromHex(ownerHex, 32, "owner"));
  const out = c.admin.schemas.list()
    .filter((d) => prefix === undefined || d.name.startsWith(prefix))
    .filter((d) => owner === undefined || (d.owner !== undefined && toHex(d.owner) === owner))
    .slice(0, listLimit(q))
    .map(schemaJson);
  return jsonResponse({ ok: true, schemas: out });
}

function features(c: AdminRoutesContext): Response {
  if (c.features === undefined) throw new VeenError("E.NOT_FOUND", "No feature descriptor");
  return jsonResponse({
    ok: true,
    version: FEATURES_VERSION,
    profile_id: toHex(c.profileId),
    hub_id: toHex(hubIdFor(c.hubPk)),
    features: c.features,
  });
}

function grants(c: AdminRoutesContext, q: Query): Response {
  const now = Math.floor(c.now() / 1000);
  const subject = q.text("subject")?.toLowerCase();
  const out = c.admin.grants.list()
    .map((g) => grantJson(g, now))
    .filter((g) =>
      (subject === undefined || g.subject_identity === subject) && (!q.flag("active_only") || g.active)
    )
    .slice(0, listLimit(q));
  return jsonResponse({ ok: true, now, grants: out });
}

function grantBody(c: AdminRoutesContext, q: Query): Response {
  const ref = q.label("auth_ref");
  const body = c.admin.grants.body(ref);
  if (body === undefined) throw new VeenError("E.NOT_FOUND", `No access grant for auth_ref ${toHex(ref)}`);
  return cborResponse(body);
}

function revocations(c: AdminRoutesContext, q: Query): Response {
  const now = Math.floor(c.now() / 1000);
  const kind = q.text("kind");
  if (kind !== undefined && !(REVOCATION_KINDS as readonly string[]).includes(kind)) {
    throw new VeenError("E.SIZE", `Query parameter "kind" must be one of ${REVOCATION_KINDS.join(", ")}`);
  }
  const since = q.uint("since", 0);
  const activeOnly = q.flag("active_only");
  const limit = listLimit(q);
  const out = c.admin.revocations.list()
    .filter((r) => (kind === undefined || r.kind === kind) && r.ts >= since)
    .filter((r) => !activeOnly || revocationActive(r, now))
    .slice(0, limit)
    .map((r) => revocationJson(r, now));
  return jsonResponse({ ok: true, now, revocations: out });
}
