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
import { type CborValue, type PayloadHdr, streamIdFor, toHex, VeenError } from "../../core/mod.ts";
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
  paidOutOfBounds,
  profileByName,
  QUERY_AUDIT,
  RECOVERY_APPROVAL,
  RECOVERY_EXECUTION,
  RECOVERY_REQUEST,
  STATE_CHECKPOINT,
} from "../../overlays/mod.ts";
import { ADMIN_CAP_FLAG, ADMIN_FLAG, adminDir, publishAdminRecord, REALM_FLAG } from "../admin.ts";
import { parseJsonFlag } from "../body.ts";
import { grantCache } from "../cap_fetch.ts";
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
import { pinnedSession } from "../overlay_io.ts";
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

/** How a body field is read from its flag: hex or text as given, a uint, JSON, a repeatable list, a time (default now). */
type FieldKind = "str" | "uint" | "json" | "list" | "time";

/** One body field of a typed command and the flag it comes from. */
interface FieldFlag {
  flag: string;
  field: string;
  kind?: FieldKind;
  metavar?: string;
  required?: boolean;
  help?: string;
}

/**
 * A typed `op` command: the body is the fields read from their flags (`fields`), then adjusted by `finish` (flags
 * that need more than one field's reading); sent on `--stream` as `sendOperation` does.
 */
interface TypedOp {
  word: string;
  codec: BodyCodec;
  summary: string;
  fields: FieldFlag[];
  /** Extra flags that are not one body field each. */
  flags?: FlagSpec[];
  finish?(
    ctx: CommandContext,
    json: Record<string, unknown>,
  ): Promise<number | undefined> | number | undefined;
}

const METAVAR: Record<FieldKind, string> = {
  str: "HEX32",
  uint: "N",
  json: "JSON",
  list: "HEX32",
  time: "UNIX",
};

function fieldValue(ctx: CommandContext, f: FieldFlag): unknown {
  switch (f.kind ?? "str") {
    case "str":
      return ctx.flags.str(f.flag);
    case "uint":
      return optUint(ctx, f.flag);
    case "json":
      return optJson(ctx, f.flag);
    case "list": {
      const l = ctx.flags.list(f.flag);
      return l.length === 0 ? undefined : l;
    }
    case "time":
      return optUint(ctx, f.flag) ?? nowSec(ctx);
  }
}

function typedOp(t: TypedOp): Command {
  const fieldFlags: FlagSpec[] = t.fields.map((f) => ({
    name: f.flag,
    metavar: f.metavar ?? METAVAR[f.kind ?? "str"],
    help: f.help ?? `${f.field}${f.kind === "time" ? " (default: now)" : ""}`,
    ...(f.required === true ? { required: true } : {}),
    ...(f.kind === "list" ? { multiple: true } : {}),
  }));
  const shown = (f: FlagSpec) => {
    const one = `--${f.name} ${f.metavar ?? ""}`.trim() + (f.multiple === true ? "..." : "");
    return f.required === true ? one : `[${one}]`;
  };
  const own = [...fieldFlags, ...(t.flags ?? [])];
  return {
    path: ["op", t.word],
    summary: t.summary,
    usage: `veen op ${t.word} --hub H --client DIR --stream NAME ${
      own.map(shown).join(" ")
    } [--cap FILE | --auth-ref HEX32]`,
    flags: [...COMMON, ...own, ...SEND_TAIL],
    async run(ctx) {
      const json: Record<string, unknown> = {};
      for (const f of t.fields) json[f.field] = fieldValue(ctx, f);
      const expiresAt = await t.finish?.(ctx, json);
      return await sendOperation(ctx, t.codec, bodyOf(t.codec, json), expiresAt ?? undefined);
    },
  };
}

const PARENT_OP: FieldFlag = { flag: "parent-op", field: "parent_operation_id" };
const REQ = { required: true } as const;

export const opPaid = typedOp({
  word: "paid",
  codec: PAID_OPERATION,
  summary: "send a paid operation (paid.operation.v1): an operation and its payment as one event",
  fields: [
    {
      flag: "op-type",
      field: "operation_type",
      metavar: "TYPE",
      ...REQ,
      help: "operation_type, e.g. translate",
    },
    { flag: "payer", field: "payer_account", ...REQ },
    { flag: "payee", field: "payee_account", ...REQ },
    { flag: "amount", field: "amount", kind: "uint", ...REQ, help: "amount in the smallest unit" },
    { flag: "currency-code", field: "currency_code", metavar: "TEXT", ...REQ },
    { flag: "op-args-json", field: "operation_args", kind: "json", help: "operation_args (default null)" },
    {
      flag: "ttl-seconds",
      field: "ttl_seconds",
      kind: "uint",
      help: "ttl_seconds; also sets payload_hdr.expires_at = now + N, after which the ledger skips it",
    },
    { flag: "op-ref", field: "operation_reference" },
    PARENT_OP,
  ],
  async finish(ctx, json) {
    json.operation_args ??= null;
    await checkGrantBounds(ctx, json.amount as number, json.currency_code as string);
    // The ledger skips a paid operation sequenced after payload_hdr.expires_at (docs/operations-profiles.md).
    const ttl = json.ttl_seconds as number | undefined;
    return ttl === undefined ? undefined : nowSec(ctx) + ttl;
  },
});

/**
 * Refuses (E.CAP, exit 4) before anything is sent a paid operation whose auth_ref (`--auth-ref`, `--cap`) is an
 * access grant's and whose amount is over its maximum_amount or whose currency_code is not the one it names
 * (spec-3 §3.2; the hub cannot read the amount, and the ledger would skip it).
 */
async function checkGrantBounds(ctx: CommandContext, amount: number, currency: string): Promise<void> {
  const ref = await authRefFromFlags(ctx);
  if (ref === undefined) return;
  const grants = grantCache((await pinnedSession(ctx, clientDir(ctx))).http);
  await grants.load(ref);
  const why = paidOutOfBounds(grants.get(ref), amount, currency);
  if (why !== undefined) throw new VeenError("E.CAP", `${why}; nothing was sent`);
}

export const opDelegated = typedOp({
  word: "delegated",
  codec: DELEGATED_EXECUTION,
  summary: "send a delegated execution (delegated.execution.v1): an operation under delegated authority",
  fields: [
    { flag: "principal", field: "principal_identity", ...REQ },
    { flag: "agent", field: "agent_identity", ...REQ },
    {
      flag: "delegation-cap",
      field: "delegation_chain",
      metavar: "HEX32,...",
      ...REQ,
      help: "delegation_chain: auth_refs from principal to agent, comma-separated",
    },
    { flag: "operation-schema-id", field: "operation_schema", ...REQ },
    { flag: "operation-body-json", field: "operation_body", kind: "json", ...REQ },
    PARENT_OP,
  ],
  finish(_ctx, json) {
    const chain = (json.delegation_chain as string).split(",").map((x) => x.trim());
    if (chain.some((x) => x === "")) throw usageError("--delegation-cap must list at least one HEX32 (D1)");
    chain.forEach((x) => parseHex32(x, "--delegation-cap"));
    json.delegation_chain = chain;
  },
});

export const opAgreementDefine = typedOp({
  word: "agreement-define",
  codec: AGREEMENT_DEFINITION,
  summary: "send an agreement definition (agreement.definition.v1)",
  fields: [
    { flag: "agreement-id", field: "agreement_id", ...REQ },
    { flag: "version", field: "version", kind: "uint", ...REQ },
    { flag: "terms-hash", field: "terms_hash", ...REQ },
    { flag: "terms-attachment-root", field: "terms_attachment_root" },
    { flag: "party", field: "parties", kind: "list", ...REQ, help: "a party expected to confirm" },
    { flag: "effective-time", field: "effective_time", kind: "uint", metavar: "UNIX" },
    { flag: "expiry-time", field: "expiry_time", kind: "uint", metavar: "UNIX" },
  ],
});

export const opAgreementConfirm = typedOp({
  word: "agreement-confirm",
  codec: AGREEMENT_CONFIRMATION,
  summary: "send an agreement confirmation (agreement.confirmation.v1)",
  fields: [
    { flag: "agreement-id", field: "agreement_id", ...REQ },
    { flag: "version", field: "version", kind: "uint", ...REQ },
    { flag: "party", field: "party_identity", ...REQ },
    { flag: "decision", field: "decision", metavar: "TEXT", ...REQ, help: "accept, reject or withdraw" },
    { flag: "decision-time", field: "decision_time", kind: "time" },
    PARENT_OP,
  ],
});

export const opPublish = typedOp({
  word: "publish",
  codec: DATA_PUBLICATION,
  summary: "send a data publication (data.publication.v1) binding a content root to the log",
  fields: [
    { flag: "publication-id", field: "publication_id", ...REQ },
    { flag: "publisher", field: "publisher_identity", ...REQ },
    { flag: "content-root", field: "content_root", help: "content_root (or --file)" },
    { flag: "content-class", field: "content_class", metavar: "TEXT", ...REQ, help: "model, dataset, ..." },
    { flag: "version", field: "version", metavar: "TEXT", ...REQ },
    { flag: "label", field: "labels", kind: "list", metavar: "TEXT", help: "a label (repeatable)" },
    { flag: "source-uri", field: "source_uri", metavar: "URI" },
  ],
  flags: [{
    name: "file",
    metavar: "PATH",
    multiple: true,
    help: "content files: content_root is computed over H(file) in order (docs/operations-profiles.md)",
  }],
  async finish(ctx, json) {
    const files = ctx.flags.list("file");
    if ((json.content_root === undefined) === (files.length === 0)) {
      throw usageError("Give --content-root or --file, not both");
    }
    if (files.length > 0) json.content_root = toHex(await contentRootOfFiles(files));
  },
});

export const opStateCheckpoint = typedOp({
  word: "state-checkpoint",
  codec: STATE_CHECKPOINT,
  summary:
    "send a state checkpoint (state.checkpoint.v1); without --state-hash it is computed from the stream",
  fields: [
    { flag: "state-id", field: "state_id", ...REQ },
    {
      flag: "upto-stream-seq",
      field: "upto_stream_seq",
      kind: "uint",
      ...REQ,
      help: "upto_stream_seq (inclusive)",
    },
    {
      flag: "state-class",
      field: "state_class",
      metavar: "CLASS",
      ...REQ,
      help: "state_class: wallet.ledger, counter.map or configuration.map",
    },
    { flag: "state-hash", field: "state_hash", help: "state_hash (default: computed by the class's fold)" },
    {
      flag: "mmr-root",
      field: "mmr_root",
      help: "mmr_root (default: the hub's RECEIPT root at upto_stream_seq)",
    },
  ],
  async finish(ctx, json) {
    if (json.state_hash === undefined || json.mmr_root === undefined) {
      const stateId = parseHex32(json.state_id as string, "--state-id");
      const c = await computeSnapshot(
        ctx,
        stateId,
        json.upto_stream_seq as number,
        json.state_class as string,
      );
      json.state_hash ??= toHex(c.stateHash);
      json.mmr_root ??= toHex(c.mmrRoot);
    }
  },
});

const RECOVERY_PAIR: FieldFlag[] = [
  { flag: "target-identity", field: "target_identity", ...REQ, help: "target_identity (the lost identity)" },
  { flag: "new-identity", field: "requested_new_identity", ...REQ },
];

export const opRecoveryRequest = typedOp({
  word: "recovery-request",
  codec: RECOVERY_REQUEST,
  summary: "send a recovery request (recovery.request.v1)",
  fields: [
    ...RECOVERY_PAIR,
    { flag: "reason", field: "reason", metavar: "TEXT" },
    { flag: "request-time", field: "request_time", kind: "time" },
  ],
});

export const opRecoveryApproval = typedOp({
  word: "recovery-approval",
  codec: RECOVERY_APPROVAL,
  summary: "send a guardian's recovery approval (recovery.approval.v1); approver_identity is the sender",
  fields: [
    ...RECOVERY_PAIR,
    { flag: "policy-group-id", field: "policy_group_id" },
    { flag: "decision", field: "decision", metavar: "TEXT", help: "approve (default) or reject" },
    { flag: "decision-time", field: "decision_time", kind: "time" },
    { ...PARENT_OP, help: "parent_operation_id (the request's operation_id)" },
  ],
  async finish(ctx, json) {
    const keys = await loadKeys(ctx, clientDir(ctx));
    json.approver_identity = toHex(keys.client.public);
    json.decision ??= "approve";
  },
});

export const opRecoveryExecution = typedOp({
  word: "recovery-execution",
  codec: RECOVERY_EXECUTION,
  summary: "send a recovery execution (recovery.execution.v1) naming the approvals by operation_id",
  fields: [
    { flag: "target-identity", field: "target_identity", ...REQ },
    { flag: "new-identity", field: "new_identity", ...REQ },
    { flag: "applied-time", field: "applied_time", kind: "time" },
    {
      flag: "approval",
      field: "approval_references",
      kind: "list",
      ...REQ,
      help: "approval_references: an approval's operation_id",
    },
  ],
});

export const opQueryAudit = typedOp({
  word: "query-audit",
  codec: QUERY_AUDIT,
  summary: "send a query audit record (query.audit.v1)",
  fields: [
    { flag: "requester", field: "requester_identity", ...REQ },
    { flag: "resource-id", field: "resource_identifier", metavar: "TEXT", ...REQ },
    { flag: "resource-class", field: "resource_class", metavar: "TEXT", ...REQ, help: "e.g. personal-data" },
    { flag: "query-parameters-json", field: "query_parameters", kind: "json" },
    { flag: "purpose-code", field: "purpose_code", metavar: "TEXT" },
    { flag: "result-digest", field: "result_digest", help: "result_digest (the query's rows_hash)" },
    { flag: "request-time", field: "request_time", kind: "time" },
  ],
});

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
