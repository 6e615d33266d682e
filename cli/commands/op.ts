/**
 * `veen op ...` (CLI goals 3 §5, spec-3 operation profiles): authoring the named operation schemas.
 *
 * - `op send --schema-name NAME --body-json JSON`: the body is converted and checked by the profile's codec (types,
 *   required and optional keys, hex → bstr where the schema says bstr, integers only) before anything is sent;
 *   prints `{stream_seq, msg_id, operation_id, schema_name}` with `operation_id = Ht("veen/operation-id", msg_id)`.
 * - Typed commands build the body from bounded flags: `op paid`, `op delegated`, `op agreement-define`,
 *   `op agreement-confirm`, `op publish`, `op state-checkpoint`, `op recovery-request|-approval|-execution`,
 *   `op query-audit`.
 * - `op access-grant` / `op access-revoke` publish admin records on the realm's stream_fed_admin (overlay
 *   decisions): the hub enforces them; access-grant prints the derived auth_ref the subject sends with
 *   (`--auth-ref`). Sent with `op send` on any other stream they have no effect, and `op send` warns.
 *
 * payload_hdr.cap_ref, when present, equals MSG.auth_ref (spec-3 §1.3): both come from `--cap FILE` (a cap_token)
 * or `--auth-ref HEX32` (an access grant's derived auth_ref), set together by the sender.
 */
import { type CborValue, type PayloadHdr, streamIdFor, toHex } from "../../core/mod.ts";
import { type FlagSpec, parseHex32, parseUint, usageError } from "../../cmd/mod.ts";
import {
  ACCESS_GRANT,
  ACCESS_REVOKE,
  AGREEMENT_CONFIRMATION,
  AGREEMENT_DEFINITION,
  type BodyCodec,
  type BodyRecord,
  DATA_PUBLICATION,
  DELEGATED_EXECUTION,
  grantAuthRef,
  OPERATION_PROFILES,
  operationId,
  PAID_OPERATION,
  profileByName,
  QUERY_AUDIT,
  RECOVERY_APPROVAL,
  RECOVERY_EXECUTION,
  RECOVERY_REQUEST,
  STATE_CHECKPOINT,
} from "../../overlays/mod.ts";
import { ADMIN_CAP_FLAG, ADMIN_FLAG, adminDir, publishAdminRecord, REALM_FLAG } from "../admin.ts";
import { parseJsonFlag } from "../body.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  connectFromFlags,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  nowSec,
  PASSPHRASE_FLAG,
  POW_FLAGS,
  recipientOf,
  STREAM_FLAG,
  TO_FLAG,
} from "../context.ts";
import { computeSnapshot, contentRootOfFiles } from "../operation_reader.ts";
import { sendAndSave } from "../sender.ts";
import { readCapAuthRef } from "./send.ts";

const AUTH_FLAGS: FlagSpec[] = [
  { name: "cap", metavar: "FILE", help: "cap_token (sets MSG.auth_ref and payload_hdr.cap_ref)" },
  {
    name: "auth-ref",
    metavar: "HEX32",
    help: "auth_ref to send under, e.g. an access grant's (sets MSG.auth_ref and payload_hdr.cap_ref)",
  },
];
const SEND_TAIL: FlagSpec[] = [
  ...AUTH_FLAGS,
  { name: "expires-at", metavar: "UNIX_TIME", help: "payload_hdr.expires_at" },
  { name: "parent-id", metavar: "HEX32", help: "payload_hdr.parent_id (a msg_id)" },
  TO_FLAG,
  HUB_KEY_FLAG,
  PASSPHRASE_FLAG,
  ...POW_FLAGS,
];
const COMMON: FlagSpec[] = [HUB_FLAG, CLIENT_FLAG, STREAM_FLAG];

const hex32 = (ctx: CommandContext, name: string) => parseHex32(ctx.flags.req(name), `--${name}`);
const optHex32 = (ctx: CommandContext, name: string) => {
  const v = ctx.flags.str(name);
  return v === undefined ? undefined : parseHex32(v, `--${name}`);
};
const optUint = (ctx: CommandContext, name: string) => {
  const v = ctx.flags.str(name);
  return v === undefined ? undefined : parseUint(v, `--${name}`);
};
const optJson = (ctx: CommandContext, name: string): unknown => {
  const v = ctx.flags.str(name);
  return v === undefined ? undefined : parseJsonFlag(v, `--${name}`);
};

/** The auth_ref of `--cap FILE` or `--auth-ref HEX32` (not both). */
async function authRefFromFlags(ctx: CommandContext): Promise<Uint8Array | undefined> {
  const cap = ctx.flags.str("cap");
  const ref = ctx.flags.str("auth-ref");
  if (cap !== undefined && ref !== undefined) throw usageError("Give --cap or --auth-ref, not both");
  if (cap !== undefined) return await readCapAuthRef(cap);
  return ref === undefined ? undefined : parseHex32(ref, "--auth-ref");
}

/**
 * The body record of `codec` from a JSON object whose values are the JSON forms `--body-json` takes (hex for bytes,
 * integers only); undefined values are left out. Checked as the codec encodes.
 */
function bodyOf(codec: BodyCodec, json: Record<string, unknown>): BodyRecord {
  const clean = Object.fromEntries(Object.entries(json).filter(([, v]) => v !== undefined));
  try {
    return codec.fromJson(clean);
  } catch (e) {
    throw usageError(`Invalid ${codec.name} body: ${e instanceof Error ? e.message : e}`, "E.SIZE");
  }
}

/**
 * Sends one operation of `codec` with body `rec` on `--stream` and prints where it landed; payload_hdr.expires_at is
 * `--expires-at`, else `defaultExpiresAt`.
 */
async function sendOperation(
  ctx: CommandContext,
  codec: BodyCodec,
  rec: BodyRecord,
  defaultExpiresAt?: number,
): Promise<number> {
  const dir = clientDir(ctx);
  const stream = ctx.flags.req("stream");
  if (codec === ACCESS_GRANT || codec === ACCESS_REVOKE) {
    ctx.out.warn(
      `${codec.name} on stream "${stream}" has no effect: the hub enforces it only as an admin record ` +
        `(use veen op ${codec === ACCESS_GRANT ? "access-grant" : "access-revoke"})`,
    );
  }
  const bodyBytes = codec.encode(rec);
  const hdr: PayloadHdr = { schema: codec.schemaId };
  const parent = optHex32(ctx, "parent-id");
  if (parent !== undefined) hdr.parentId = parent;
  const exp = optUint(ctx, "expires-at") ?? defaultExpiresAt;
  if (exp !== undefined) hdr.expiresAt = exp;
  const authRef = await authRefFromFlags(ctx);
  const keys = await loadKeys(ctx, dir);
  const to = await recipientOf(ctx, keys);
  const { res, target } = await sendAndSave(ctx, dir, keys, stream, {
    recipientPk: to.hpkePk,
    hdr,
    bodyBytes,
    ...(authRef === undefined ? {} : { authRef }),
  });
  const opId = toHex(operationId(res.msgId));
  ctx.out.result(
    {
      stream_seq: res.receipt.streamSeq,
      msg_id: toHex(res.msgId),
      operation_id: opId,
      schema_name: codec.name,
      stream,
      label: toHex(target.label),
      hub_ts: res.receipt.hubTs,
      mmr_root: toHex(res.receipt.mmrRoot),
      body: codec.toJson(rec),
    },
    [
      `stream_seq: ${res.receipt.streamSeq}`,
      `msg_id: ${toHex(res.msgId)}`,
      `operation_id: ${opId}`,
      `schema_name: ${codec.name}`,
    ],
  );
  return 0;
}

export const opSend: Command = {
  path: ["op", "send"],
  summary: "send an operation of a named schema, the body checked against the schema first",
  usage:
    "veen op send --hub H --client DIR --stream NAME --schema-name NAME --body-json JSON [--cap FILE | --auth-ref HEX32] [--expires-at UNIX] [--parent-id HEX32]",
  flags: [
    ...COMMON,
    {
      name: "schema-name",
      metavar: "NAME",
      required: true,
      help: `one of ${OPERATION_PROFILES.map((c) => c.name).join(", ")}`,
    },
    {
      name: "body-json",
      metavar: "JSON",
      required: true,
      help: "the body: hex for bstr fields, integers only",
    },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const name = ctx.flags.req("schema-name");
    const codec = profileByName(name);
    if (codec === undefined) {
      throw usageError(
        `Unknown schema name "${name}"; one of ${OPERATION_PROFILES.map((c) => c.name).join(", ")}`,
        "E.PROFILE",
      );
    }
    const json = parseJsonFlag(ctx.flags.req("body-json"), "--body-json");
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw usageError(`--body-json must be a JSON object`, "E.SIZE");
    }
    return await sendOperation(ctx, codec, bodyOf(codec, json as Record<string, unknown>));
  },
};

export const opPaid: Command = {
  path: ["op", "paid"],
  summary: "send a paid operation (paid.operation.v1): an operation and its payment as one event",
  usage:
    "veen op paid --hub H --client DIR --stream NAME --op-type TYPE --payer HEX32 --payee HEX32 --amount N --currency-code TEXT [--op-args-json JSON] [--ttl-seconds N] [--op-ref HEX32] [--parent-op HEX32] [--cap FILE | --auth-ref HEX32]",
  flags: [
    ...COMMON,
    { name: "op-type", metavar: "TYPE", required: true, help: "operation_type, e.g. translate" },
    { name: "payer", metavar: "HEX32", required: true, help: "payer_account" },
    { name: "payee", metavar: "HEX32", required: true, help: "payee_account" },
    { name: "amount", metavar: "N", required: true, help: "amount in the smallest unit" },
    { name: "currency-code", metavar: "TEXT", required: true, help: "currency_code" },
    { name: "op-args-json", metavar: "JSON", help: "operation_args (default null)" },
    {
      name: "ttl-seconds",
      metavar: "N",
      help: "ttl_seconds; also sets payload_hdr.expires_at = now + N, after which the ledger skips it",
    },
    { name: "op-ref", metavar: "HEX32", help: "operation_reference" },
    { name: "parent-op", metavar: "HEX32", help: "parent_operation_id" },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const ttl = optUint(ctx, "ttl-seconds");
    const rec = bodyOf(PAID_OPERATION, {
      operation_type: ctx.flags.req("op-type"),
      operation_args: optJson(ctx, "op-args-json") ?? null,
      payer_account: ctx.flags.req("payer"),
      payee_account: ctx.flags.req("payee"),
      amount: parseUint(ctx.flags.req("amount"), "--amount"),
      currency_code: ctx.flags.req("currency-code"),
      operation_reference: ctx.flags.str("op-ref"),
      parent_operation_id: ctx.flags.str("parent-op"),
      ttl_seconds: ttl,
    });
    // The ledger skips a paid operation sequenced after payload_hdr.expires_at (docs/operations-profiles.md).
    return await sendOperation(ctx, PAID_OPERATION, rec, ttl === undefined ? undefined : nowSec(ctx) + ttl);
  },
};

export const opDelegated: Command = {
  path: ["op", "delegated"],
  summary: "send a delegated execution (delegated.execution.v1): an operation under delegated authority",
  usage:
    "veen op delegated --hub H --client DIR --stream NAME --principal HEX32 --agent HEX32 --delegation-cap HEX32,... --operation-schema-id HEX32 --operation-body-json JSON [--parent-op HEX32]",
  flags: [
    ...COMMON,
    { name: "principal", metavar: "HEX32", required: true, help: "principal_identity" },
    { name: "agent", metavar: "HEX32", required: true, help: "agent_identity" },
    {
      name: "delegation-cap",
      metavar: "HEX32,...",
      required: true,
      help: "delegation_chain: auth_refs from principal to agent, comma-separated",
    },
    { name: "operation-schema-id", metavar: "HEX32", required: true, help: "operation_schema" },
    { name: "operation-body-json", metavar: "JSON", required: true, help: "operation_body" },
    { name: "parent-op", metavar: "HEX32", help: "parent_operation_id" },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const chain = ctx.flags.req("delegation-cap").split(",").map((s) => s.trim());
    if (chain.length === 0 || chain.some((s) => s === "")) {
      throw usageError("--delegation-cap must list at least one HEX32 (D1)");
    }
    chain.forEach((s) => parseHex32(s, "--delegation-cap"));
    const rec = bodyOf(DELEGATED_EXECUTION, {
      principal_identity: ctx.flags.req("principal"),
      agent_identity: ctx.flags.req("agent"),
      delegation_chain: chain,
      operation_schema: ctx.flags.req("operation-schema-id"),
      operation_body: parseJsonFlag(ctx.flags.req("operation-body-json"), "--operation-body-json"),
      parent_operation_id: ctx.flags.str("parent-op"),
    });
    return await sendOperation(ctx, DELEGATED_EXECUTION, rec);
  },
};

export const opAgreementDefine: Command = {
  path: ["op", "agreement-define"],
  summary: "send an agreement definition (agreement.definition.v1)",
  usage:
    "veen op agreement-define --hub H --client DIR --stream NAME --agreement-id HEX32 --version N --terms-hash HEX32 --party HEX32... [--effective-time UNIX] [--expiry-time UNIX] [--terms-attachment-root HEX32]",
  flags: [
    ...COMMON,
    { name: "agreement-id", metavar: "HEX32", required: true, help: "agreement_id" },
    { name: "version", metavar: "N", required: true, help: "version" },
    { name: "terms-hash", metavar: "HEX32", required: true, help: "terms_hash" },
    { name: "terms-attachment-root", metavar: "HEX32", help: "terms_attachment_root" },
    { name: "party", metavar: "HEX32", multiple: true, required: true, help: "a party expected to confirm" },
    { name: "effective-time", metavar: "UNIX", help: "effective_time" },
    { name: "expiry-time", metavar: "UNIX", help: "expiry_time" },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const rec = bodyOf(AGREEMENT_DEFINITION, {
      agreement_id: ctx.flags.req("agreement-id"),
      version: parseUint(ctx.flags.req("version"), "--version"),
      terms_hash: ctx.flags.req("terms-hash"),
      terms_attachment_root: ctx.flags.str("terms-attachment-root"),
      parties: ctx.flags.list("party"),
      effective_time: optUint(ctx, "effective-time"),
      expiry_time: optUint(ctx, "expiry-time"),
    });
    return await sendOperation(ctx, AGREEMENT_DEFINITION, rec);
  },
};

export const opAgreementConfirm: Command = {
  path: ["op", "agreement-confirm"],
  summary: "send an agreement confirmation (agreement.confirmation.v1)",
  usage:
    "veen op agreement-confirm --hub H --client DIR --stream NAME --agreement-id HEX32 --version N --party HEX32 --decision accept|reject|withdraw [--decision-time UNIX] [--parent-op HEX32]",
  flags: [
    ...COMMON,
    { name: "agreement-id", metavar: "HEX32", required: true, help: "agreement_id" },
    { name: "version", metavar: "N", required: true, help: "version" },
    { name: "party", metavar: "HEX32", required: true, help: "party_identity" },
    { name: "decision", metavar: "TEXT", required: true, help: "accept, reject or withdraw" },
    { name: "decision-time", metavar: "UNIX", help: "decision_time (default: now)" },
    { name: "parent-op", metavar: "HEX32", help: "parent_operation_id" },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const rec = bodyOf(AGREEMENT_CONFIRMATION, {
      agreement_id: ctx.flags.req("agreement-id"),
      version: parseUint(ctx.flags.req("version"), "--version"),
      party_identity: ctx.flags.req("party"),
      decision: ctx.flags.req("decision"),
      decision_time: optUint(ctx, "decision-time") ?? nowSec(ctx),
      parent_operation_id: ctx.flags.str("parent-op"),
    });
    return await sendOperation(ctx, AGREEMENT_CONFIRMATION, rec);
  },
};

export const opPublish: Command = {
  path: ["op", "publish"],
  summary: "send a data publication (data.publication.v1) binding a content root to the log",
  usage:
    "veen op publish --hub H --client DIR --stream NAME --publication-id HEX32 --publisher HEX32 (--content-root HEX32 | --file PATH...) --content-class TEXT --version TEXT [--label TEXT]... [--source-uri URI]",
  flags: [
    ...COMMON,
    { name: "publication-id", metavar: "HEX32", required: true, help: "publication_id" },
    { name: "publisher", metavar: "HEX32", required: true, help: "publisher_identity" },
    { name: "content-root", metavar: "HEX32", help: "content_root" },
    {
      name: "file",
      metavar: "PATH",
      multiple: true,
      help: "content files: content_root is computed over H(file) in order (docs/operations-profiles.md)",
    },
    {
      name: "content-class",
      metavar: "TEXT",
      required: true,
      help: "model, dataset, configuration, binary, ...",
    },
    { name: "version", metavar: "TEXT", required: true, help: "version" },
    { name: "label", metavar: "TEXT", multiple: true, help: "labels" },
    { name: "source-uri", metavar: "URI", help: "source_uri" },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const files = ctx.flags.list("file");
    const given = ctx.flags.str("content-root");
    if ((given === undefined) === (files.length === 0)) {
      throw usageError("Give --content-root or --file, not both");
    }
    const root = given ?? toHex(await contentRootOfFiles(files));
    const labels = ctx.flags.list("label");
    const rec = bodyOf(DATA_PUBLICATION, {
      publication_id: ctx.flags.req("publication-id"),
      publisher_identity: ctx.flags.req("publisher"),
      content_root: root,
      content_class: ctx.flags.req("content-class"),
      version: ctx.flags.req("version"),
      labels: labels.length === 0 ? undefined : labels,
      source_uri: ctx.flags.str("source-uri"),
    });
    return await sendOperation(ctx, DATA_PUBLICATION, rec);
  },
};

export const opStateCheckpoint: Command = {
  path: ["op", "state-checkpoint"],
  summary:
    "send a state checkpoint (state.checkpoint.v1); without --state-hash it is computed from the stream",
  usage:
    "veen op state-checkpoint --hub H --client DIR --stream NAME --state-id HEX32 --upto-stream-seq N --state-class CLASS [--state-hash HEX32 --mmr-root HEX32]",
  flags: [
    ...COMMON,
    { name: "state-id", metavar: "HEX32", required: true, help: "state_id" },
    { name: "upto-stream-seq", metavar: "N", required: true, help: "upto_stream_seq (inclusive)" },
    { name: "state-class", metavar: "CLASS", required: true, help: "state_class, e.g. wallet.ledger" },
    { name: "state-hash", metavar: "HEX32", help: "state_hash (default: computed by the class's fold)" },
    {
      name: "mmr-root",
      metavar: "HEX32",
      help: "mmr_root (default: the hub's RECEIPT root at upto_stream_seq)",
    },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const stateId = hex32(ctx, "state-id");
    const upto = parseUint(ctx.flags.req("upto-stream-seq"), "--upto-stream-seq");
    const cls = ctx.flags.req("state-class");
    let stateHash = optHex32(ctx, "state-hash");
    let mmrRoot = optHex32(ctx, "mmr-root");
    if (stateHash === undefined || mmrRoot === undefined) {
      const computed = await computeSnapshot(ctx, stateId, upto, cls);
      stateHash ??= computed.stateHash;
      mmrRoot ??= computed.mmrRoot;
    }
    const rec = bodyOf(STATE_CHECKPOINT, {
      state_id: toHex(stateId),
      upto_stream_seq: upto,
      mmr_root: toHex(mmrRoot),
      state_hash: toHex(stateHash),
      state_class: cls,
    });
    return await sendOperation(ctx, STATE_CHECKPOINT, rec);
  },
};

export const opRecoveryRequest: Command = {
  path: ["op", "recovery-request"],
  summary: "send a recovery request (recovery.request.v1)",
  usage:
    "veen op recovery-request --hub H --client DIR --stream NAME --target-identity HEX32 --new-identity HEX32 [--reason TEXT] [--request-time UNIX]",
  flags: [
    ...COMMON,
    {
      name: "target-identity",
      metavar: "HEX32",
      required: true,
      help: "target_identity (the lost identity)",
    },
    { name: "new-identity", metavar: "HEX32", required: true, help: "requested_new_identity" },
    { name: "reason", metavar: "TEXT", help: "reason" },
    { name: "request-time", metavar: "UNIX", help: "request_time (default: now)" },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const rec = bodyOf(RECOVERY_REQUEST, {
      target_identity: ctx.flags.req("target-identity"),
      requested_new_identity: ctx.flags.req("new-identity"),
      reason: ctx.flags.str("reason"),
      request_time: optUint(ctx, "request-time") ?? nowSec(ctx),
    });
    return await sendOperation(ctx, RECOVERY_REQUEST, rec);
  },
};

export const opRecoveryApproval: Command = {
  path: ["op", "recovery-approval"],
  summary: "send a guardian's recovery approval (recovery.approval.v1); approver_identity is the sender",
  usage:
    "veen op recovery-approval --hub H --client DIR --stream NAME --target-identity HEX32 --new-identity HEX32 [--decision approve|reject] [--policy-group-id HEX32] [--parent-op HEX32]",
  flags: [
    ...COMMON,
    { name: "target-identity", metavar: "HEX32", required: true, help: "target_identity" },
    { name: "new-identity", metavar: "HEX32", required: true, help: "requested_new_identity" },
    { name: "decision", metavar: "TEXT", help: "approve (default) or reject" },
    { name: "policy-group-id", metavar: "HEX32", help: "policy_group_id" },
    { name: "decision-time", metavar: "UNIX", help: "decision_time (default: now)" },
    { name: "parent-op", metavar: "HEX32", help: "parent_operation_id (the request's operation_id)" },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const keys = await loadKeys(ctx, clientDir(ctx));
    const rec = bodyOf(RECOVERY_APPROVAL, {
      target_identity: ctx.flags.req("target-identity"),
      requested_new_identity: ctx.flags.req("new-identity"),
      approver_identity: toHex(keys.client.public),
      policy_group_id: ctx.flags.str("policy-group-id"),
      decision: ctx.flags.str("decision") ?? "approve",
      decision_time: optUint(ctx, "decision-time") ?? nowSec(ctx),
      parent_operation_id: ctx.flags.str("parent-op"),
    });
    return await sendOperation(ctx, RECOVERY_APPROVAL, rec);
  },
};

export const opRecoveryExecution: Command = {
  path: ["op", "recovery-execution"],
  summary: "send a recovery execution (recovery.execution.v1) naming the approvals by operation_id",
  usage:
    "veen op recovery-execution --hub H --client DIR --stream NAME --target-identity HEX32 --new-identity HEX32 --approval HEX32... [--applied-time UNIX]",
  flags: [
    ...COMMON,
    { name: "target-identity", metavar: "HEX32", required: true, help: "target_identity" },
    { name: "new-identity", metavar: "HEX32", required: true, help: "new_identity" },
    {
      name: "approval",
      metavar: "HEX32",
      multiple: true,
      required: true,
      help: "approval_references: an approval's operation_id",
    },
    { name: "applied-time", metavar: "UNIX", help: "applied_time (default: now)" },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const rec = bodyOf(RECOVERY_EXECUTION, {
      target_identity: ctx.flags.req("target-identity"),
      new_identity: ctx.flags.req("new-identity"),
      applied_time: optUint(ctx, "applied-time") ?? nowSec(ctx),
      approval_references: ctx.flags.list("approval"),
    });
    return await sendOperation(ctx, RECOVERY_EXECUTION, rec);
  },
};

export const opQueryAudit: Command = {
  path: ["op", "query-audit"],
  summary: "send a query audit record (query.audit.v1)",
  usage:
    "veen op query-audit --hub H --client DIR --stream NAME --requester HEX32 --resource-id TEXT --resource-class TEXT [--purpose-code TEXT] [--result-digest HEX32] [--query-parameters-json JSON] [--request-time UNIX]",
  flags: [
    ...COMMON,
    { name: "requester", metavar: "HEX32", required: true, help: "requester_identity" },
    { name: "resource-id", metavar: "TEXT", required: true, help: "resource_identifier" },
    { name: "resource-class", metavar: "TEXT", required: true, help: "resource_class, e.g. personal-data" },
    { name: "purpose-code", metavar: "TEXT", help: "purpose_code" },
    { name: "result-digest", metavar: "HEX32", help: "result_digest (the query's rows_hash)" },
    { name: "query-parameters-json", metavar: "JSON", help: "query_parameters" },
    { name: "request-time", metavar: "UNIX", help: "request_time (default: now)" },
    ...SEND_TAIL,
  ],
  async run(ctx) {
    const rec = bodyOf(QUERY_AUDIT, {
      requester_identity: ctx.flags.req("requester"),
      resource_identifier: ctx.flags.req("resource-id"),
      resource_class: ctx.flags.req("resource-class"),
      query_parameters: optJson(ctx, "query-parameters-json"),
      purpose_code: ctx.flags.str("purpose-code"),
      result_digest: ctx.flags.str("result-digest"),
      request_time: optUint(ctx, "request-time") ?? nowSec(ctx),
    });
    return await sendOperation(ctx, QUERY_AUDIT, rec);
  },
};

const ADMIN_TAIL: FlagSpec[] = [REALM_FLAG, ADMIN_CAP_FLAG, HUB_KEY_FLAG, PASSPHRASE_FLAG];

export const opAccessGrant: Command = {
  path: ["op", "access-grant"],
  summary: "grant a subject write access (access.grant.v1 admin record); prints the auth_ref it sends with",
  usage:
    "veen op access-grant --hub H --admin DIR --subject-identity HEX32 --stream NAME --expiry-time UNIX [--allowed-stream HEX32]... [--max-rate-per-second N] [--max-burst N] [--max-amount N] [--currency-code TEXT] [--reason TEXT]",
  flags: [
    HUB_FLAG,
    ADMIN_FLAG,
    { name: "subject-identity", metavar: "HEX32", required: true, help: "the subject's client_id" },
    { name: "stream", metavar: "NAME", required: true, help: "the stream allowed when no --allowed-stream" },
    { name: "expiry-time", metavar: "UNIX", required: true, help: "expiry_time (inclusive)" },
    { name: "allowed-stream", metavar: "HEX32", multiple: true, help: "a stream_id allowed (repeatable)" },
    { name: "max-rate-per-second", metavar: "N", help: "maximum_rate_per_second" },
    { name: "max-burst", metavar: "N", help: "maximum_burst" },
    { name: "max-amount", metavar: "N", help: "maximum_amount" },
    { name: "currency-code", metavar: "TEXT", help: "currency_code" },
    { name: "reason", metavar: "TEXT", help: "reason" },
    { name: "subject-label", metavar: "TEXT", help: "subject_label" },
    ...ADMIN_TAIL,
  ],
  async run(ctx) {
    const allowed = ctx.flags.list("allowed-stream");
    const stream = ctx.flags.req("stream");
    const rec = bodyOf(ACCESS_GRANT, {
      subject_identity: ctx.flags.req("subject-identity"),
      subject_label: ctx.flags.str("subject-label"),
      allowed_stream_ids: allowed.length > 0 ? allowed : [toHex(streamIdFor(stream))],
      expiry_time: parseUint(ctx.flags.req("expiry-time"), "--expiry-time"),
      maximum_rate_per_second: optUint(ctx, "max-rate-per-second"),
      maximum_burst: optUint(ctx, "max-burst"),
      maximum_amount: optUint(ctx, "max-amount"),
      currency_code: ctx.flags.str("currency-code"),
      reason: ctx.flags.str("reason"),
    });
    const ref = toHex(grantAuthRef(ACCESS_GRANT.encode(rec)));
    const { res } = await publishAdminRecord(ctx, adminDir(ctx), "fed_admin", ACCESS_GRANT, rec);
    return printAdmin(ctx, ACCESS_GRANT, rec, res, { auth_ref: ref }, [`auth_ref: ${ref}`]);
  },
};

export const opAccessRevoke: Command = {
  path: ["op", "access-revoke"],
  summary: "revoke a subject's access grants (access.revoke.v1 admin record), one or all",
  usage:
    "veen op access-revoke --hub H --admin DIR --subject-identity HEX32 [--target-cap-ref HEX32] [--reason TEXT]",
  flags: [
    HUB_FLAG,
    ADMIN_FLAG,
    { name: "subject-identity", metavar: "HEX32", required: true, help: "the subject's client_id" },
    {
      name: "target-cap-ref",
      metavar: "HEX32",
      help: "the grant's auth_ref (default: every grant of the subject)",
    },
    { name: "reason", metavar: "TEXT", help: "reason" },
    ...ADMIN_TAIL,
  ],
  async run(ctx) {
    const rec = bodyOf(ACCESS_REVOKE, {
      subject_identity: ctx.flags.req("subject-identity"),
      target_capability_reference: ctx.flags.str("target-cap-ref"),
      reason: ctx.flags.str("reason"),
    });
    const { res } = await publishAdminRecord(ctx, adminDir(ctx), "fed_admin", ACCESS_REVOKE, rec);
    return printAdmin(ctx, ACCESS_REVOKE, rec, res, {}, []);
  },
};

export const opAccessGrants: Command = {
  path: ["op", "access-grants"],
  summary: "list the access grants the hub enforces (GET /admin/grants)",
  usage: "veen op access-grants --hub H [--subject HEX32] [--active-only]",
  flags: [
    HUB_FLAG,
    { name: "subject", metavar: "HEX32", help: "only this subject_identity" },
    { name: "active-only", arity: 0, help: "only grants neither revoked nor expired" },
    HUB_KEY_FLAG,
  ],
  async run(ctx) {
    const subject = optHex32(ctx, "subject");
    const session = await connectFromFlags(ctx);
    const r = await session.http.json("/admin/grants", {
      subject: subject === undefined ? undefined : toHex(subject),
      active_only: ctx.flags.bool("active-only") ? 1 : undefined,
    });
    const list = Array.isArray(r.grants) ? r.grants as Record<string, unknown>[] : [];
    ctx.out.result(
      { grants: list },
      list.map((g) =>
        `${g.auth_ref} subject=${g.subject_identity} expiry=${g.expiry_time} revoked=${g.revoked} active=${g.active}`
      ),
    );
    return 0;
  },
};

function printAdmin(
  ctx: CommandContext,
  codec: BodyCodec,
  rec: BodyRecord,
  res: { receipt: { streamSeq: number }; msgId: Uint8Array },
  extra: Record<string, CborValue>,
  lines: string[],
): number {
  const opId = toHex(operationId(res.msgId));
  ctx.out.result(
    {
      stream_seq: res.receipt.streamSeq,
      msg_id: toHex(res.msgId),
      operation_id: opId,
      schema_name: codec.name,
      stream: "stream_fed_admin",
      ...extra,
      body: codec.toJson(rec),
    },
    [
      `stream_seq: ${res.receipt.streamSeq}`,
      `msg_id: ${toHex(res.msgId)}`,
      `operation_id: ${opId}`,
      `schema_name: ${codec.name}`,
      ...lines,
    ],
  );
  return 0;
}

/** Every op command, in help order. */
export const OP_COMMANDS: readonly Command[] = [
  opSend,
  opPaid,
  opAccessGrant,
  opAccessRevoke,
  opAccessGrants,
  opDelegated,
  opAgreementDefine,
  opAgreementConfirm,
  opPublish,
  opStateCheckpoint,
  opRecoveryRequest,
  opRecoveryApproval,
  opRecoveryExecution,
  opQueryAudit,
];
