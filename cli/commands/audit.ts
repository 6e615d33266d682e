/**
 * `veen audit queries|summary|enforce-check` (CLI goals 3 §8; spec-3 §9), resumed from the client's summaries:
 * - `audit queries`: query.audit.v1 rows by resource_identifier prefix and time (the record index,
 *   cli/operation_reader.ts: the query.audit.v1 records only);
 * - `audit summary`: per stream, the profile schemas seen and whether query audits and access records appear (the
 *   operation counts fold, overlays/operation_counts.ts: a table per schema, not the log); with `--env FILE` also
 *   the streams the client knows under each tenant of the environment descriptor, tagged with the tenant;
 * - `audit enforce-check --policy-file`: the policy's violations (overlays/query_audit_policy.ts) over the records
 *   each rule needs, from the record index of each stream: per require_audit rule the latest query.audit.v1 of its
 *   resource_class (one lookup), and the recovery.execution.v1 records when a require_recovery_threshold rule
 *   applies; exit 4 when there are any.
 */
import { streamIdFor, toHex, VeenError } from "../../core/mod.ts";
import { checkFailure, parseEnvDescriptor, parseUint, tenantOfStream, usageError } from "../../cmd/mod.ts";
import {
  auditRows,
  countsJson,
  enforceCheck,
  OPERATION_COUNTS,
  OPERATION_KEYS,
  type OperationRecord,
  parseAuditPolicy,
  policyStreams,
} from "../../overlays/mod.ts";
import { knownStreams, readState } from "../client_state.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  HUB_KEY_FLAG,
  PASSPHRASE_FLAG,
  REFOLD_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { readInputFile } from "../files.ts";
import { readOperations } from "../operation_reader.ts";
import { pinnedSession } from "../overlay_io.ts";
import { foldJson, readFold } from "./crdt.ts";

const TAIL = [REFOLD_FLAG, HUB_KEY_FLAG, PASSPHRASE_FLAG];

export const auditQueries: Command = {
  path: ["audit", "queries"],
  summary: "list query audit records (query.audit.v1) by resource prefix and time",
  usage: "veen audit queries --hub H --client DIR --stream NAME [--resource-prefix TEXT] [--since UNIX]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    STREAM_FLAG,
    { name: "resource-prefix", metavar: "TEXT", help: "resource_identifier prefix" },
    { name: "since", metavar: "UNIX", help: "request_time at or after (hub_ts when absent)" },
    ...TAIL,
  ],
  async run(ctx) {
    const since = ctx.flags.str("since");
    const { cursor, ops } = await readOperations(ctx);
    const rows = auditRows(
      await ops.records(OPERATION_KEYS.schema("query.audit.v1")),
      ctx.flags.str("resource-prefix") ?? "",
      since === undefined ? 0 : parseUint(since, "--since"),
    );
    ctx.out.result(
      { stream: ctx.flags.req("stream"), rows, ...foldJson(cursor) },
      rows.map((r) =>
        `${r.request_time} ${
          r.requester_identity.slice(0, 16)
        }… ${r.resource_identifier} ${r.resource_class} ${r.purpose_code ?? "-"}`
      ),
    );
    return 0;
  },
};

/**
 * One stream's summary: the profile schemas it holds (counted by the operation counts fold), its label class and sensitivity (LCLASS0, from
 * the hub), whether query audits appear (missing for a sensitive stream: high sensitivity or a `sensitive` class)
 * and how many access grants the hub holds for it (the stream's authorization surface).
 */
async function summaryOf(ctx: CommandContext, stream: string) {
  const { cursor } = await readFold(ctx, OPERATION_COUNTS, stream);
  const schemas = countsJson(cursor.state);
  const http = cursor.session.http;
  const cls = await http.json("/admin/label-class", { label: toHex(cursor.label) }).catch(() => ({}));
  const grants = await http.json("/admin/grants", {}).catch(() => ({ grants: [] }));
  const streamId = toHex(streamIdFor(stream));
  const sensitivity = (cls as Record<string, unknown>).sensitivity ?? null;
  const klass = (cls as Record<string, unknown>).class ?? null;
  const sensitive = sensitivity === "high" || klass === "sensitive";
  const audited = schemas["query.audit.v1"] !== undefined;
  return {
    stream,
    schemas,
    label_class: klass,
    sensitivity,
    query_audit_present: audited,
    audit_missing: sensitive && !audited,
    access_grants: ((grants as { grants?: { allowed_stream_ids: string[] }[] }).grants ?? [])
      .filter((g) => g.allowed_stream_ids.includes(streamId)).length,
  };
}

/** The text line of one summary row. */
function summaryLine(s: Awaited<ReturnType<typeof summaryOf>>): string {
  return `${s.stream}: ${
    Object.entries(s.schemas).map(([k, n]) => `${k}×${n}`).join(", ") || "no operations"
  }; ` +
    `class ${s.label_class ?? "unset"}; query_audit ${s.query_audit_present ? "present" : "absent"}` +
    `${s.audit_missing ? " (MISSING for a sensitive stream)" : ""}; access grants ${s.access_grants}`;
}

/**
 * The rows of `audit summary --env FILE` (CLI goals 3 §8, "optionally use ENV_FILE for known streams and tenants"):
 * the given streams, then for each tenant (by tenant_id) the streams the client directory knows on this hub (its
 * label entries in state.json: every stream it has sent on or read) whose longest matching stream_prefix is the
 * tenant's, or one row saying the tenant has no known stream. Each row is tagged with its tenant_id, the tenant's
 * label_class and stream_prefix (null for a given stream under no tenant).
 */
async function envSummary(ctx: CommandContext, envFile: string, given: readonly string[]) {
  const env = parseEnvDescriptor(
    new TextDecoder().decode(await readInputFile(envFile, "environment file")),
    envFile,
  );
  const dir = clientDir(ctx);
  const session = await pinnedSession(ctx, dir);
  const known = knownStreams(await readState(dir), session.hubId);
  const tag = (id: string | undefined) => ({
    tenant_id: id ?? null,
    tenant_label_class: id === undefined ? null : env.tenants[id]!.label_class,
    stream_prefix: id === undefined ? null : env.tenants[id]!.stream_prefix,
  });
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const done = new Set<string>();
  const add = async (stream: string, id: string | undefined) => {
    done.add(stream);
    const row = await summaryOf(ctx, stream);
    rows.push({ ...row, ...tag(id), known_stream: true });
    lines.push(`${summaryLine(row)}; tenant ${id ?? "none"}`);
  };
  for (const s of given) if (!done.has(s)) await add(s, tenantOfStream(env, s));
  for (const id of Object.keys(env.tenants).sort()) {
    const mine = known.filter((s) => tenantOfStream(env, s) === id);
    for (const s of mine) if (!done.has(s)) await add(s, id);
    if (mine.length === 0) {
      rows.push({ stream: null, ...tag(id), known_stream: false });
      lines.push(`tenant ${id} (prefix "${env.tenants[id]!.stream_prefix}"): no known stream`);
    }
  }
  return { rows, lines };
}

export const auditSummary: Command = {
  path: ["audit", "summary"],
  summary: "per stream: operation schemas seen, label class, query audits present, access grants held",
  usage: "veen audit summary --hub H --client DIR (--stream NAME... | --env FILE [--stream NAME]...)",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    { ...STREAM_FLAG, required: false, multiple: true, help: "a stream to summarize (repeatable)" },
    {
      name: "env",
      metavar: "FILE",
      help: "environment descriptor: also the streams the client knows under each tenant's stream_prefix, " +
        "rows tagged with tenant_id and the tenant's label_class",
    },
    ...TAIL,
  ],
  async run(ctx) {
    const given = ctx.flags.list("stream");
    const envFile = ctx.flags.str("env");
    if (envFile !== undefined) {
      const { rows, lines } = await envSummary(ctx, envFile, given);
      ctx.out.result({ env: envFile, streams: rows }, lines);
      return 0;
    }
    if (given.length === 0) throw usageError("Give --stream NAME (repeatable) or --env FILE");
    const out = [];
    for (const s of given) out.push(await summaryOf(ctx, s));
    ctx.out.result({ streams: out }, out.map(summaryLine));
    return 0;
  },
};

export const auditEnforceCheck: Command = {
  path: ["audit", "enforce-check"],
  summary: "check the streams against an audit policy file; exit 4 on violations",
  usage: "veen audit enforce-check --hub H --client DIR --policy-file POLICY_JSON [--stream NAME]...",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    { name: "policy-file", metavar: "FILE", required: true, help: "policy JSON (version 1, rules)" },
    {
      name: "stream",
      metavar: "NAME",
      multiple: true,
      help: "further streams for require_recovery_threshold rules without a stream",
    },
    ...TAIL,
  ],
  async run(ctx) {
    const text = new TextDecoder().decode(await readInputFile(ctx.flags.req("policy-file"), "policy file"));
    let policy;
    try {
      policy = parseAuditPolicy(JSON.parse(text));
    } catch (e) {
      throw usageError(`Invalid policy file: ${e instanceof Error ? e.message : e}`);
    }
    const logs = new Map<string, OperationRecord[]>();
    for (const s of new Set([...policyStreams(policy), ...ctx.flags.list("stream")])) {
      const { ops } = await readOperations(ctx, s);
      const records: OperationRecord[] = [];
      for (const rule of policy.rules) {
        if (rule.type !== "require_audit" || rule.stream !== s) continue;
        const audit = await ops.latest(OPERATION_KEYS.auditClass(rule.resource_class));
        if (audit !== undefined) records.push(audit);
      }
      const threshold = policy.rules.some((r) =>
        r.type === "require_recovery_threshold" && (r.stream === undefined || r.stream === s)
      );
      if (threshold) records.push(...await ops.records(OPERATION_KEYS.schema("recovery.execution.v1")));
      logs.set(s, records);
    }
    const violations = enforceCheck(policy, logs);
    const json = { rules: policy.rules.length, streams: [...logs.keys()], violations };
    if (violations.length > 0) {
      throw checkFailure(new VeenError("E.PROFILE", `${violations.length} policy violation(s)`), {
        lines: violations,
        json: { ...json, ok: false },
      });
    }
    ctx.out.result({ ...json, ok: true }, [`ok: ${policy.rules.length} rule(s), no violations`]);
    return 0;
  },
};

export const AUDIT_COMMANDS: readonly Command[] = [auditQueries, auditSummary, auditEnforceCheck];
