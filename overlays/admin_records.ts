/**
 * Admin records (spec 002 §2.2, §4.3, §6.1, §7.1; overlay decisions "Realm and admin records"): the bodies of the
 * MSGs on a realm's four admin streams, which the hub opens with the realm admin key and folds into views. Each
 * admin stream admits only its own schemas (anything else is E.SIZE at admission).
 */
import { type AdminStream, adminStreamId, labelFor } from "../core/mod.ts";
import { BodyCodec } from "./body_codec.ts";
import { ACCESS_GRANT, ACCESS_REVOKE } from "./access_grant.ts";

/** `veen.fed.authority.v1` on stream_fed_admin (FED1 §2.2). */
export const FED_AUTHORITY = new BodyCodec("veen.fed.authority.v1", [
  { name: "realm_id", type: "bytes32" },
  { name: "stream_id", type: "bytes32" },
  { name: "primary_hub", type: "bytes32" },
  { name: "replica_hubs", type: "bytes32[]" },
  { name: "policy", type: "text", oneOf: ["single-primary", "multi-primary"] },
  { name: "ts", type: "uint" },
  { name: "ttl", type: "uint" },
]);

export const REVOCATION_KINDS = ["client-id", "auth-ref", "cap-token"] as const;
export type RevocationKind = typeof REVOCATION_KINDS[number];

/** `veen.revocation.v1` on stream_revocation (KEX1+ §4.3). */
export const REVOCATION = new BodyCodec("veen.revocation.v1", [
  { name: "kind", type: "text", oneOf: REVOCATION_KINDS },
  { name: "target", type: "bytes32" },
  { name: "reason", type: "text", optional: true },
  { name: "ts", type: "uint" },
  { name: "ttl", type: "uint", optional: true },
]);

/** `veen.label.class.v1` on stream_label_class (LCLASS0 §6.1). */
export const LABEL_CLASS = new BodyCodec("veen.label.class.v1", [
  { name: "label", type: "bytes32" },
  { name: "class", type: "text" },
  { name: "sensitivity", type: "text", optional: true },
  { name: "retention_hint", type: "uint", optional: true },
]);

/** `veen.meta.schema.v1` on stream_schema_meta (META0+ §7.1). */
export const META_SCHEMA = new BodyCodec("veen.meta.schema.v1", [
  { name: "schema_id", type: "bytes32" },
  { name: "name", type: "text" },
  { name: "version", type: "text" },
  { name: "doc_url", type: "text", optional: true },
  { name: "owner", type: "bytes32", optional: true },
  { name: "ts", type: "uint" },
]);

/** The four admin streams of a realm, by the names the routes and docs use. */
export const ADMIN_STREAMS = {
  fed_admin: "veen/admin",
  revocation: "veen/revocation",
  label_class: "veen/label-class",
  schema_meta: "veen/meta-schema",
} as const satisfies Record<string, AdminStream>;
export type AdminStreamName = keyof typeof ADMIN_STREAMS;
export const ADMIN_STREAM_NAMES = Object.keys(ADMIN_STREAMS) as AdminStreamName[];

/** The schemas each admin stream admits (access grants and revokes are admin records: overlays/access_grant.ts). */
export const ADMIN_SCHEMAS: Record<AdminStreamName, BodyCodec[]> = {
  fed_admin: [FED_AUTHORITY, ACCESS_GRANT, ACCESS_REVOKE],
  revocation: [REVOCATION],
  label_class: [LABEL_CLASS],
  schema_meta: [META_SCHEMA],
};

/** One admin stream of a realm: its stream_id and its (epoch-0) label. */
export interface AdminStreamIds {
  name: AdminStreamName;
  streamId: Uint8Array;
  label: Uint8Array;
}

/**
 * The realm's admin streams: `stream_id = Ht(kind, realm_id)` (002 §1.3) and the epoch-0 label under the hub's
 * routing key (overlay decisions: overlay and admin streams use epoch-0 labels).
 */
export function adminStreamsOf(realmId: Uint8Array, routingKey: Uint8Array): AdminStreamIds[] {
  return ADMIN_STREAM_NAMES.map((name) => {
    const streamId = adminStreamId(ADMIN_STREAMS[name], realmId);
    return { name, streamId, label: labelFor(streamId, routingKey, 0) };
  });
}
