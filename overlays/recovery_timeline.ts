/**
 * Recovery timelines (spec-3 §8; CLI goals 3 §6.4, §9.2): the requests, approvals and executions for a
 * target_identity in stream order, and which executions take effect under a policy.
 *
 * An approval counts for (target, new) when its decision is "approve", its signer (MSG.client_id) is its
 * approver_identity, it comes after a request for the same (target, new) and, with a guardian set, the approver is a
 * guardian. An execution takes effect when every approval_reference (an operation_id) names an approval earlier in
 * the log (R1) with decision "approve" and matching target_identity and requested_new_identity = new_identity (R2),
 * and the distinct counted approvers reach the threshold; any failure rejects the whole execution. Effective
 * executions remap target_identity → new_identity in later folds (the ledger of the new identity).
 */
import { toHex } from "../core/mod.ts";
import type { OperationRecord } from "./operation_log.ts";
import { operationId } from "./operation_profiles.ts";

export interface RecoveryPolicy {
  /** Distinct approvers an execution needs (default 1). */
  threshold: number;
  /** Guardian identities (hex); undefined: any approver. */
  guardians?: readonly string[];
}

export interface TimelineEvent {
  type: "request" | "approval" | "execution";
  stream_seq: number;
  msg_id: string;
  operation_id: string;
  target_identity: string;
  requested_new_identity: string | null;
  new_identity: string | null;
  approver_identity: string | null;
  decision: string | null;
  /** Executions: whether it takes effect, approvals counted, and why not. */
  effective?: boolean;
  approvals?: number;
  reason?: string;
}

const hex = (r: OperationRecord, f: string) => toHex(r.body[f] as Uint8Array);

/** The events of `target` (every target when undefined), with each execution's verdict. */
export function recoveryTimeline(
  records: readonly OperationRecord[],
  policy: RecoveryPolicy,
  target?: string,
): TimelineEvent[] {
  const requested = new Set<string>(); // "target/new" with an open request
  const approvals = new Map<string, OperationRecord>(); // operation_id → approval
  const out: TimelineEvent[] = [];
  for (const r of records) {
    const kind = r.codec.name;
    if (!kind.startsWith("recovery.")) continue;
    const t = hex(r, "target_identity");
    if (target !== undefined && t !== target) continue;
    const base = {
      stream_seq: r.seq,
      msg_id: toHex(r.msgId),
      operation_id: toHex(operationId(r.msgId)),
      target_identity: t,
      requested_new_identity: null,
      new_identity: null,
      approver_identity: null,
      decision: null,
    };
    if (kind === "recovery.request.v1") {
      requested.add(`${t}/${hex(r, "requested_new_identity")}`);
      out.push({ ...base, type: "request", requested_new_identity: hex(r, "requested_new_identity") });
    } else if (kind === "recovery.approval.v1") {
      approvals.set(base.operation_id, r);
      out.push({
        ...base,
        type: "approval",
        requested_new_identity: hex(r, "requested_new_identity"),
        approver_identity: hex(r, "approver_identity"),
        decision: r.body.decision as string,
      });
    } else if (kind === "recovery.execution.v1") {
      const n = hex(r, "new_identity");
      const v = verdict(r, t, n, approvals, requested, records, policy);
      out.push({ ...base, type: "execution", new_identity: n, ...v });
    }
  }
  return out;
}

function verdict(
  exec: OperationRecord,
  target: string,
  next: string,
  approvals: Map<string, OperationRecord>,
  requested: Set<string>,
  records: readonly OperationRecord[],
  policy: RecoveryPolicy,
): { effective: boolean; approvals: number; reason?: string } {
  const approvers = new Set<string>();
  const fail = (reason: string) => ({ effective: false, approvals: approvers.size, reason });
  if (!requested.has(`${target}/${next}`)) {
    return fail("no earlier recovery.request.v1 for this new identity");
  }
  for (const ref of (exec.body.approval_references as Uint8Array[]).map(toHex)) {
    const a = approvals.get(ref);
    if (a === undefined) return fail(`approval ${ref} is not an earlier recovery.approval.v1 (R1)`);
    if (a.body.decision !== "approve") return fail(`approval ${ref} has decision "${a.body.decision}" (R2)`);
    if (hex(a, "target_identity") !== target || hex(a, "requested_new_identity") !== next) {
      return fail(`approval ${ref} names another target or new identity (R2)`);
    }
    const approver = hex(a, "approver_identity");
    if (toHex(a.clientId) !== approver) return fail(`approval ${ref} is not signed by its approver`);
    const req = records.find((x) =>
      x.codec.name === "recovery.request.v1" && hex(x, "target_identity") === target &&
      hex(x, "requested_new_identity") === next
    )!;
    if (a.seq < req.seq) return fail(`approval ${ref} precedes the request`);
    if (policy.guardians !== undefined && !policy.guardians.includes(approver)) {
      return fail(`approver ${approver} is not a guardian`);
    }
    approvers.add(approver);
  }
  if (approvers.size < policy.threshold) {
    return fail(`${approvers.size} distinct approvals, the threshold is ${policy.threshold}`);
  }
  return { effective: true, approvals: approvers.size };
}

/** target → new identity of every effective execution (applied transitively: a → b → c maps a to c). */
export function identityRemap(
  records: readonly OperationRecord[],
  policy: RecoveryPolicy,
): (account: string) => string {
  const map = new Map<string, string>();
  for (const e of recoveryTimeline(records, policy)) {
    if (e.type === "execution" && e.effective === true) map.set(e.target_identity, e.new_identity!);
  }
  return (a: string) => {
    const seen = new Set<string>();
    while (map.has(a) && !seen.has(a)) {
      seen.add(a);
      a = map.get(a)!;
    }
    return a;
  };
}
