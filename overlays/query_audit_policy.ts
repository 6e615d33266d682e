/**
 * Query audit reading and policy checks (spec-3 §9; CLI goals 3 §8): the rows of query.audit.v1 records filtered by
 * resource_identifier prefix and time, and the two rules of an enforce-check policy file:
 * - `require_audit {stream, resource_class}`: a violation when no query.audit.v1 of that resource_class appears on
 *   the stream (Q1);
 * - `require_recovery_threshold {target_identity_prefix, min_approvals}`: a violation for every
 *   recovery.execution.v1 whose target starts with the prefix and that names fewer than min_approvals distinct
 *   approvals.
 */
import { toHex } from "../core/mod.ts";
import type { OperationRecord } from "./operation_log.ts";
import { operationId } from "./operation_profiles.ts";

export interface AuditRow {
  stream_seq: number;
  requester_identity: string;
  resource_identifier: string;
  resource_class: string;
  purpose_code: string | null;
  request_time: number;
  result_digest: string | null;
}

/** The audit rows with `resource_identifier` starting with `prefix`, at or after `since` (request_time, else hub_ts). */
export function auditRows(records: readonly OperationRecord[], prefix = "", since = 0): AuditRow[] {
  const out: AuditRow[] = [];
  for (const r of records) {
    if (r.codec.name !== "query.audit.v1") continue;
    const id = r.body.resource_identifier as string;
    const t = (r.body.request_time as number | undefined) ?? r.hubTs;
    if (!id.startsWith(prefix) || t < since) continue;
    const digest = r.body.result_digest as Uint8Array | undefined;
    out.push({
      stream_seq: r.seq,
      requester_identity: toHex(r.body.requester_identity as Uint8Array),
      resource_identifier: id,
      resource_class: r.body.resource_class as string,
      purpose_code: (r.body.purpose_code as string | undefined) ?? null,
      request_time: t,
      result_digest: digest === undefined ? null : toHex(digest),
    });
  }
  return out;
}

export type PolicyRule =
  | { type: "require_audit"; stream: string; resource_class: string }
  | {
    type: "require_recovery_threshold";
    target_identity_prefix: string;
    min_approvals: number;
    stream?: string;
  };

export interface AuditPolicy {
  version: 1;
  rules: PolicyRule[];
}

/** Parses and checks a policy file's JSON; throws an Error naming the first problem. */
export function parseAuditPolicy(v: unknown): AuditPolicy {
  const o = v as Record<string, unknown>;
  if (typeof o !== "object" || o === null || o.version !== 1) throw new Error("policy version must be 1");
  if (!Array.isArray(o.rules)) throw new Error("policy rules must be an array");
  const rules = o.rules.map((r: Record<string, unknown>, i: number): PolicyRule => {
    if (r?.type === "require_audit") {
      if (typeof r.stream !== "string" || typeof r.resource_class !== "string") {
        throw new Error(`rules[${i}]: require_audit needs stream and resource_class text`);
      }
      return { type: r.type, stream: r.stream, resource_class: r.resource_class };
    }
    if (r?.type === "require_recovery_threshold") {
      const p = r.target_identity_prefix;
      const m = r.min_approvals;
      if (
        typeof p !== "string" || !/^[0-9a-fA-F]*$/.test(p) || !Number.isSafeInteger(m) || (m as number) < 0
      ) {
        throw new Error(
          `rules[${i}]: require_recovery_threshold needs a hex target_identity_prefix and a uint min_approvals`,
        );
      }
      return {
        type: r.type,
        target_identity_prefix: p.toLowerCase(),
        min_approvals: m as number,
        ...(typeof r.stream === "string" ? { stream: r.stream } : {}),
      };
    }
    throw new Error(`rules[${i}]: unknown rule type ${JSON.stringify(r?.type)}`);
  });
  return { version: 1, rules };
}

/** The streams a policy reads. */
export function policyStreams(p: AuditPolicy): string[] {
  return [...new Set(p.rules.flatMap((r) => r.stream === undefined ? [] : [r.stream]))];
}

/** The violations of `policy` over the operation records of each stream (`logs`: stream name → records). */
export function enforceCheck(
  policy: AuditPolicy,
  logs: ReadonlyMap<string, readonly OperationRecord[]>,
): string[] {
  const out: string[] = [];
  for (const rule of policy.rules) {
    if (rule.type === "require_audit") {
      const recs = logs.get(rule.stream) ?? [];
      if (
        !recs.some((r) => r.codec.name === "query.audit.v1" && r.body.resource_class === rule.resource_class)
      ) {
        out.push(
          `require_audit: no query.audit.v1 for resource_class "${rule.resource_class}" on stream "${rule.stream}"`,
        );
      }
      continue;
    }
    for (const [stream, recs] of logs) {
      if (rule.stream !== undefined && rule.stream !== stream) continue;
      for (const r of recs) {
        if (r.codec.name !== "recovery.execution.v1") continue;
        const target = toHex(r.body.target_identity as Uint8Array);
        if (!target.startsWith(rule.target_identity_prefix)) continue;
        const n = new Set((r.body.approval_references as Uint8Array[]).map(toHex)).size;
        if (n < rule.min_approvals) {
          out.push(
            `require_recovery_threshold: recovery.execution.v1 ${
              toHex(operationId(r.msgId))
            } on stream "${stream}" ` +
              `for ${target} has ${n} approvals, fewer than ${rule.min_approvals}`,
          );
        }
      }
    }
  }
  return out;
}
