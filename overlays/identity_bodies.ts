/**
 * The nine `id.*.v1` payload bodies of the ID layer (spec 001 ID §5-11), each a {@link BodyCodec} with the keys in
 * the order the spec lists them (overlay decisions, "Bodies and identifiers"). Rules the codec cannot express are
 * checked by {@link checkIdBody}: `flags` holds only `disabled: bool`, `info`/`prefs`/`metadata`/`attributes` are
 * maps, an external link names a ctx_id or an org_id, a revocation names a device, auth_ref, ctx or org.
 */
import { type CborValue, VeenError } from "../core/mod.ts";
import { BodyCodec, type BodyRecord } from "./body_codec.ts";

/** id.principal.v1 (§6.1), on stream_id_principal. */
export const ID_PRINCIPAL = new BodyCodec("id.principal.v1", [
  { name: "principal_pk", type: "bytes32" },
  { name: "created_at", type: "uint" },
  { name: "info", type: "any", optional: true },
]);

/** id.device.v1 (§6.2), on stream_id_principal. */
export const ID_DEVICE = new BodyCodec("id.device.v1", [
  { name: "principal_pk", type: "bytes32" },
  { name: "device_id", type: "bytes32" },
  { name: "device_pk", type: "bytes32" },
  { name: "dh_pk", type: "bytes32" },
  { name: "label", type: "text", optional: true },
  { name: "created_at", type: "uint" },
  { name: "expires_at", type: "uint", optional: true },
  { name: "flags", type: "any", optional: true },
]);

/** id.ctx.profile.v1 (§7.1), on stream_id_ctx. */
export const ID_CTX_PROFILE = new BodyCodec("id.ctx.profile.v1", [
  { name: "ctx_id", type: "bytes32" },
  { name: "realm_id", type: "bytes32" },
  { name: "display_name", type: "text", optional: true },
  { name: "avatar_coid", type: "bytes32", optional: true },
  { name: "prefs", type: "any", optional: true },
  { name: "updated_at", type: "uint" },
]);

/** id.org.profile.v1 (§8.1), on stream_id_org. */
export const ID_ORG_PROFILE = new BodyCodec("id.org.profile.v1", [
  { name: "org_id", type: "bytes32" },
  { name: "display_name", type: "text", optional: true },
  { name: "metadata", type: "any", optional: true },
  { name: "created_at", type: "uint" },
  { name: "updated_at", type: "uint" },
]);

/** id.group.v1 (§8.2), on stream_id_org or a realm-scoped variant. */
export const ID_GROUP = new BodyCodec("id.group.v1", [
  { name: "org_id", type: "bytes32" },
  { name: "realm_id", type: "bytes32", optional: true },
  { name: "group_id", type: "bytes32" },
  { name: "name", type: "text" },
  { name: "members_add", type: "bytes32[]", optional: true },
  { name: "members_remove", type: "bytes32[]", optional: true },
  { name: "updated_at", type: "uint" },
]);

/** id.role.v1 (§8.3), on stream_id_org or a realm-scoped variant. */
export const ID_ROLE = new BodyCodec("id.role.v1", [
  { name: "org_id", type: "bytes32" },
  { name: "realm_id", type: "bytes32", optional: true },
  { name: "role", type: "text" },
  { name: "targets_ctx", type: "bytes32[]", optional: true },
  { name: "targets_group", type: "bytes32[]", optional: true },
  { name: "ts", type: "uint" },
]);

/** id.handlemap.v1 (§10.1), on stream_id_handle_ns. */
export const ID_HANDLEMAP = new BodyCodec("id.handlemap.v1", [
  { name: "realm_id", type: "bytes32" },
  { name: "handle", type: "text" },
  { name: "target_type", type: "text", oneOf: ["ctx", "org"] },
  { name: "target_id", type: "bytes32" },
  { name: "ts", type: "uint" },
]);

/** id.external.v1 (§10.2), on stream_id_ctx or stream_id_org. */
export const ID_EXTERNAL = new BodyCodec("id.external.v1", [
  { name: "realm_id", type: "bytes32" },
  { name: "ctx_id", type: "bytes32", optional: true },
  { name: "org_id", type: "bytes32", optional: true },
  { name: "provider", type: "text" },
  { name: "external_sub", type: "text" },
  { name: "attributes", type: "any", optional: true },
  { name: "ts", type: "uint" },
]);

/** id.revoke.v1 (§11.1), on stream_id_principal or stream_id_org. */
export const ID_REVOKE = new BodyCodec("id.revoke.v1", [
  { name: "principal_pk", type: "bytes32", optional: true },
  { name: "org_id", type: "bytes32", optional: true },
  { name: "device_id", type: "bytes32", optional: true },
  { name: "revoked_auth_ref", type: "bytes32", optional: true },
  { name: "realm_id", type: "bytes32", optional: true },
  { name: "ctx_id", type: "bytes32", optional: true },
  { name: "reason", type: "text", optional: true },
  { name: "ts", type: "uint" },
]);

/** Every id.* codec, in spec order (§5). */
export const ID_CODECS: readonly BodyCodec[] = [
  ID_PRINCIPAL,
  ID_DEVICE,
  ID_CTX_PROFILE,
  ID_ORG_PROFILE,
  ID_GROUP,
  ID_ROLE,
  ID_HANDLEMAP,
  ID_EXTERNAL,
  ID_REVOKE,
];

const MAP_FIELDS = ["info", "prefs", "metadata", "attributes"];

function bad(msg: string): never {
  throw new VeenError("E.SIZE", msg);
}

/** The rules of an id.* body beyond key order and types; E.SIZE naming the field. Returns `rec`. */
export function checkIdBody(codec: BodyCodec, rec: BodyRecord): BodyRecord {
  for (const f of MAP_FIELDS) {
    const v = rec[f];
    if (v !== undefined && !(v instanceof Map)) bad(`${codec.name}.${f} must be a map`);
  }
  if (codec === ID_DEVICE && rec.flags !== undefined) {
    const fl = rec.flags;
    if (!(fl instanceof Map)) return bad(`${codec.name}.flags must be a map`);
    for (const [k, v] of fl as Map<CborValue, CborValue>) {
      if (k !== "disabled") bad(`${codec.name}.flags has unknown key ${JSON.stringify(k)}`);
      if (typeof v !== "boolean") bad(`${codec.name}.flags.disabled must be a boolean`);
    }
  }
  if (codec === ID_EXTERNAL && rec.ctx_id === undefined && rec.org_id === undefined) {
    bad(`${codec.name} must name a ctx_id or an org_id`);
  }
  if (
    codec === ID_REVOKE && rec.device_id === undefined && rec.revoked_auth_ref === undefined &&
    rec.ctx_id === undefined && rec.org_id === undefined
  ) bad(`${codec.name} must name a device_id, revoked_auth_ref, ctx_id or org_id`);
  return rec;
}

/** Encodes an id.* body after {@link checkIdBody}. */
export function encodeIdBody(codec: BodyCodec, rec: Record<string, CborValue | undefined>): Uint8Array {
  const clean: BodyRecord = {};
  for (const [k, v] of Object.entries(rec)) if (v !== undefined) clean[k] = v;
  checkIdBody(codec, clean);
  return codec.encode(rec);
}

/** Decodes an id.* body and applies {@link checkIdBody}. */
export function decodeIdBody(codec: BodyCodec, bytes: Uint8Array): BodyRecord {
  return checkIdBody(codec, codec.decode(bytes));
}
