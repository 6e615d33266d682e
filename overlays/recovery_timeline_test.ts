/** Recovery executions: R1 (earlier approvals only), R2 (approve, matching identities), signer, guardians, threshold. */
import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { OPERATION_LOG } from "./operation_log.ts";
import {
  operationId,
  RECOVERY_APPROVAL,
  RECOVERY_EXECUTION,
  RECOVERY_REQUEST,
} from "./operation_profiles.ts";
import { identityRemap, recoveryTimeline } from "./recovery_timeline.ts";
import { entry } from "./testing/laws.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);
const [T, N, X] = [b32(1), b32(2), b32(3)];

function run(steps: ((seq: number) => ReturnType<typeof entry>)[]) {
  const s = OPERATION_LOG.empty();
  steps.forEach((f, i) => OPERATION_LOG.apply(s, f(i + 1)));
  return s.records;
}
const req = (seq: number) =>
  entry(
    seq,
    RECOVERY_REQUEST.schemaId,
    RECOVERY_REQUEST.encode({ target_identity: T, requested_new_identity: N }),
  );
const approval = (g: number, decision = "approve", next = N, signer = g) => (seq: number) =>
  entry(
    seq,
    RECOVERY_APPROVAL.schemaId,
    RECOVERY_APPROVAL.encode({
      target_identity: T,
      requested_new_identity: next,
      approver_identity: b32(g),
      decision,
    }),
    b32(signer),
  );
const opAt = (seq: number) => operationId(entry(seq, b32(0), new Uint8Array()).msgId);
const exec = (...approvalSeqs: number[]) => (seq: number) =>
  entry(
    seq,
    RECOVERY_EXECUTION.schemaId,
    RECOVERY_EXECUTION.encode({
      target_identity: T,
      new_identity: N,
      approval_references: approvalSeqs.map(opAt),
    }),
  );

Deno.test("recoveryTimeline: an execution takes effect only with threshold valid approvals", () => {
  const verdicts = (steps: Parameters<typeof run>[0], threshold = 2, guardians?: string[]) =>
    recoveryTimeline(run(steps), { threshold, ...(guardians ? { guardians } : {}) })
      .filter((e) => e.type === "execution").map((e) => e.effective ? "ok" : e.reason);
  assert.deepEqual(verdicts([req, approval(10), approval(11), exec(2, 3)]), ["ok"]);
  assert.match(verdicts([req, approval(10), exec(2)])[0]!, /threshold is 2/);
  assert.match(verdicts([req, approval(10), approval(10), exec(2, 3)])[0]!, /1 distinct/);
  assert.match(verdicts([req, approval(10), exec(2, 4), approval(11)])[0]!, /R1/);
  assert.match(verdicts([req, approval(10), approval(11, "reject"), exec(2, 3)])[0]!, /R2/);
  assert.match(verdicts([req, approval(10), approval(11, "approve", X), exec(2, 3)])[0]!, /R2/);
  assert.match(verdicts([req, approval(10), approval(11, "approve", N, 12), exec(2, 3)])[0]!, /not signed/);
  assert.match(
    verdicts([req, approval(10), approval(11), exec(2, 3)], 2, [toHex(b32(10))])[0]!,
    /not a guardian/,
  );
  assert.match(verdicts([approval(10), approval(11), exec(1, 2)])[0]!, /no earlier recovery.request/);
  const remap = identityRemap(run([req, approval(10), approval(11), exec(2, 3)]), { threshold: 2 });
  assert.equal(remap(toHex(T)), toHex(N));
  assert.equal(remap(toHex(X)), toHex(X));
});
