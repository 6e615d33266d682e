/**
 * The spec-3 operation profiles (spec 001 L3017-3593; CLI goals 3 §5.1): the body codec of every named schema, in
 * the spec's key order, and `operation_id = Ht("veen/operation-id", msg_id)` (§1.1). Schema ids are
 * `H("veen/schema:" || name)` (overlay decisions, "Bodies and identifiers"), from the one table in core
 * `schemaIdFor`. access.grant.v1 and access.revoke.v1 are admin records (overlays/access_grant.ts);
 * federation.mirror.v1 is overlays/federation_mirror.ts.
 */
import { bytesEqual, Ht } from "../core/mod.ts";
import { ACCESS_GRANT, ACCESS_REVOKE } from "./access_grant.ts";
import { BodyCodec } from "./body_codec.ts";
import { FEDERATION_MIRROR } from "./federation_mirror.ts";

/** `operation_id = Ht("veen/operation-id", msg_id)` (spec-3 §1.1). */
export function operationId(msgId: Uint8Array): Uint8Array {
  return Ht("veen/operation-id", msgId);
}

const PARENT = { name: "parent_operation_id", type: "bytes32", optional: true } as const;
const METADATA = { name: "metadata", type: "any", optional: true } as const;

/** paid.operation.v1 (§2.2). */
export const PAID_OPERATION = new BodyCodec("paid.operation.v1", [
  { name: "operation_type", type: "text" },
  { name: "operation_args", type: "any" },
  { name: "payer_account", type: "bytes32" },
  { name: "payee_account", type: "bytes32" },
  { name: "amount", type: "uint" },
  { name: "currency_code", type: "text" },
  { name: "operation_reference", type: "bytes32", optional: true },
  PARENT,
  { name: "ttl_seconds", type: "uint", optional: true },
  METADATA,
]);

/** delegated.execution.v1 (§4.2); D1: delegation_chain is non-empty (checked by the chain verifier). */
export const DELEGATED_EXECUTION = new BodyCodec("delegated.execution.v1", [
  { name: "principal_identity", type: "bytes32" },
  { name: "agent_identity", type: "bytes32" },
  { name: "delegation_chain", type: "bytes32[]" },
  { name: "operation_schema", type: "bytes32" },
  { name: "operation_body", type: "any" },
  PARENT,
  METADATA,
]);

/** agreement.definition.v1 (§5.2). */
export const AGREEMENT_DEFINITION = new BodyCodec("agreement.definition.v1", [
  { name: "agreement_id", type: "bytes32" },
  { name: "version", type: "uint" },
  { name: "terms_hash", type: "bytes32" },
  { name: "terms_attachment_root", type: "bytes32", optional: true },
  { name: "parties", type: "bytes32[]" },
  { name: "effective_time", type: "uint", optional: true },
  { name: "expiry_time", type: "uint", optional: true },
  METADATA,
]);

/** agreement.confirmation.v1 (§5.2). */
export const AGREEMENT_CONFIRMATION = new BodyCodec("agreement.confirmation.v1", [
  { name: "agreement_id", type: "bytes32" },
  { name: "version", type: "uint" },
  { name: "party_identity", type: "bytes32" },
  { name: "decision", type: "text" },
  { name: "decision_time", type: "uint", optional: true },
  PARENT,
  METADATA,
]);

/** data.publication.v1 (§6.2). */
export const DATA_PUBLICATION = new BodyCodec("data.publication.v1", [
  { name: "publication_id", type: "bytes32" },
  { name: "publisher_identity", type: "bytes32" },
  { name: "content_root", type: "bytes32" },
  { name: "content_class", type: "text" },
  { name: "version", type: "text" },
  { name: "labels", type: "text[]", optional: true },
  { name: "source_uri", type: "text", optional: true },
  METADATA,
]);

/** state.checkpoint.v1 (§7.2). */
export const STATE_CHECKPOINT = new BodyCodec("state.checkpoint.v1", [
  { name: "state_id", type: "bytes32" },
  { name: "upto_stream_seq", type: "uint" },
  { name: "mmr_root", type: "bytes32" },
  { name: "state_hash", type: "bytes32" },
  { name: "state_class", type: "text" },
  METADATA,
]);

/** recovery.request.v1 (§8.2). */
export const RECOVERY_REQUEST = new BodyCodec("recovery.request.v1", [
  { name: "target_identity", type: "bytes32" },
  { name: "requested_new_identity", type: "bytes32" },
  { name: "reason", type: "text", optional: true },
  { name: "request_time", type: "uint", optional: true },
  METADATA,
]);

/** recovery.approval.v1 (§8.2). */
export const RECOVERY_APPROVAL = new BodyCodec("recovery.approval.v1", [
  { name: "target_identity", type: "bytes32" },
  { name: "requested_new_identity", type: "bytes32" },
  { name: "approver_identity", type: "bytes32" },
  { name: "policy_group_id", type: "bytes32", optional: true },
  { name: "decision", type: "text" },
  { name: "decision_time", type: "uint", optional: true },
  PARENT,
  METADATA,
]);

/** recovery.execution.v1 (§8.2); approval_references are operation_ids (overlay decisions). */
export const RECOVERY_EXECUTION = new BodyCodec("recovery.execution.v1", [
  { name: "target_identity", type: "bytes32" },
  { name: "new_identity", type: "bytes32" },
  { name: "applied_time", type: "uint", optional: true },
  { name: "approval_references", type: "bytes32[]" },
  METADATA,
]);

/** query.audit.v1 (§9.2); result_digest is the query's rows_hash (overlay decisions). */
export const QUERY_AUDIT = new BodyCodec("query.audit.v1", [
  { name: "requester_identity", type: "bytes32" },
  { name: "resource_identifier", type: "text" },
  { name: "resource_class", type: "text" },
  { name: "query_parameters", type: "any", optional: true },
  { name: "purpose_code", type: "text", optional: true },
  { name: "result_digest", type: "bytes32", optional: true },
  { name: "request_time", type: "uint", optional: true },
  METADATA,
]);

/** Every named schema of CLI goals 3 §5.1, in that order. */
export const OPERATION_PROFILES: readonly BodyCodec[] = [
  PAID_OPERATION,
  ACCESS_GRANT,
  ACCESS_REVOKE,
  DELEGATED_EXECUTION,
  AGREEMENT_DEFINITION,
  AGREEMENT_CONFIRMATION,
  DATA_PUBLICATION,
  STATE_CHECKPOINT,
  RECOVERY_REQUEST,
  RECOVERY_APPROVAL,
  RECOVERY_EXECUTION,
  QUERY_AUDIT,
  FEDERATION_MIRROR,
];

/** The profile codec of schema name `name`, if it is one. */
export function profileByName(name: string): BodyCodec | undefined {
  return OPERATION_PROFILES.find((c) => c.name === name);
}

/** The profile codec of schema id `schema`, if it is one. */
export function profileBySchema(schema: Uint8Array): BodyCodec | undefined {
  return OPERATION_PROFILES.find((c) => bytesEqual(c.schemaId, schema));
}
