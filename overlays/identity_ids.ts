/**
 * Identifiers of the ID layer (spec 001 ID §3-4): every one is `Ht(tag, ...)` over keys, names and other ids, so a
 * reader can recompute each from what it already holds. All are 32 bytes; realm names and group names are UTF-8.
 */
import { Ht, utf8, VeenError } from "../core/mod.ts";

function key32(k: Uint8Array, what: string): Uint8Array {
  if (k.length !== 32) throw new VeenError("E.SIZE", `${what} must be 32 bytes, got ${k.length}`);
  return k;
}

/** `principal_id = Ht("id/principal", principal_pk)` (§3.2, informative). */
export function principalIdFor(principalPk: Uint8Array): Uint8Array {
  return Ht("id/principal", key32(principalPk, "principal_pk"));
}

/** `ctx_id = Ht("id/ctx", principal_pk || realm_id)` (§3.3): one pseudonymous account per principal and realm. */
export function ctxIdFor(principalPk: Uint8Array, realmId: Uint8Array): Uint8Array {
  return Ht("id/ctx", key32(principalPk, "principal_pk"), key32(realmId, "realm_id"));
}

/** `device_id = Ht("id/device", device_pk)` (§3.4); on the wire MSG.client_id stays device_pk. */
export function deviceIdFor(devicePk: Uint8Array): Uint8Array {
  return Ht("id/device", key32(devicePk, "device_pk"));
}

/** `org_id = Ht("id/org", org_pk)` (§3.5). */
export function orgIdFor(orgPk: Uint8Array): Uint8Array {
  return Ht("id/org", key32(orgPk, "org_pk"));
}

/** `scoped_org_id = Ht("id/org/realm", org_id || realm_id)` (§3.5). */
export function scopedOrgIdFor(orgId: Uint8Array, realmId: Uint8Array): Uint8Array {
  return Ht("id/org/realm", key32(orgId, "org_id"), key32(realmId, "realm_id"));
}

/** `group_id = Ht("id/group", org_id || utf8(group_local_name))` (§3.6); org_id may be a scoped_org_id. */
export function groupIdFor(orgId: Uint8Array, groupLocalName: string): Uint8Array {
  return Ht("id/group", key32(orgId, "org_id"), utf8(groupLocalName));
}

/** `stream_id_principal = Ht("id/stream/principal", principal_pk)` (§4.1). */
export function principalStreamId(principalPk: Uint8Array): Uint8Array {
  return Ht("id/stream/principal", key32(principalPk, "principal_pk"));
}

/** `stream_id_ctx = Ht("id/stream/ctx", ctx_id || realm_id)` (§4.1). */
export function ctxStreamId(ctxId: Uint8Array, realmId: Uint8Array): Uint8Array {
  return Ht("id/stream/ctx", key32(ctxId, "ctx_id"), key32(realmId, "realm_id"));
}

/** `stream_id_org = Ht("id/stream/org", org_id)` (§4.1). */
export function orgStreamId(orgId: Uint8Array): Uint8Array {
  return Ht("id/stream/org", key32(orgId, "org_id"));
}

/** `stream_id_handle_ns = Ht("id/stream/handle", realm_id)` (§4.1). */
export function handleStreamId(realmId: Uint8Array): Uint8Array {
  return Ht("id/stream/handle", key32(realmId, "realm_id"));
}
