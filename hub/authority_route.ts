/**
 * `GET /authority` (docs/federation.md): the hub's role and AUTH1 label authority, what `veen hub role`, `veen fed
 * authority show|publish` and `veen label authority` print. Public like the other views.
 *
 * - no parameter: `{ok, hub_id, role, configured_role, realm_id, auth1, now}` (`now`: hub time, seconds);
 * - `?stream_id=HEX32` or `?label=HEX32`: the same plus `stream_id` (null when no authority record names a stream
 *   with that label), `label`, `policy` (single-primary | multi-primary | unspecified), the deciding record's
 *   `primary_hub`, `replica_hubs`, `ts`, `ttl`, `expires_at` and `stream_seq` (null, [] when unspecified),
 *   `active_now`, `local_is_primary` and `locally_authorized` (whether this hub would accept a write now).
 *
 * `role` is the spec's coarse role (standalone, federated-primary, federated-replica), `configured_role` the
 * `role` setting; `auth1` is false only with the test-only `unsafe_skip_authority`.
 */
import { bytesEqual, fromHex, toHex } from "../core/mod.ts";
import { jsonResponse, type Query } from "./http.ts";
import { type LabelAuthority, type LabelAuthorityInfo, SPEC_ROLE } from "./label_authority.ts";

/** The JSON of label_authority `info` at hub `a`. */
export function labelAuthorityJson(a: LabelAuthority, info: LabelAuthorityInfo): Record<string, unknown> {
  const r = info.record;
  return {
    stream_id: info.streamId === undefined ? null : toHex(info.streamId),
    label: toHex(info.label),
    policy: info.policy,
    primary_hub: info.primaryHub === undefined ? null : toHex(info.primaryHub),
    replica_hubs: info.replicaHubs.map(toHex),
    ts: r?.ts ?? null,
    ttl: r?.ttl ?? null,
    expires_at: r === undefined ? null : r.ts + r.ttl,
    active_now: r !== undefined,
    stream_seq: r?.seq ?? null,
    local_is_primary: info.primaryHub !== undefined && bytesEqual(info.primaryHub, a.hubId),
    locally_authorized: !a.enforced || a.refusal(info) === undefined,
  };
}

/** GET /authority at `now` (seconds). */
export function authorityRoute(a: LabelAuthority, realmId: Uint8Array, q: Query, now: number): Response {
  const head = {
    ok: true,
    hub_id: toHex(a.hubId),
    role: SPEC_ROLE[a.role],
    configured_role: a.role,
    realm_id: toHex(realmId),
    auth1: a.enforced,
    now,
  };
  const streamId = q.text("stream_id");
  if (streamId !== undefined) {
    return jsonResponse({
      ...head,
      ...labelAuthorityJson(a, a.ofStream(fromHex(streamId, 32, "stream_id"), now)),
    });
  }
  if (q.has("label")) return jsonResponse({ ...head, ...labelAuthorityJson(a, a.ofLabel(q.label(), now)) });
  return jsonResponse(head);
}
