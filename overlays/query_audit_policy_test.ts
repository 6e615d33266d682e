/** Audit rows and policy rules: require_audit per stream and class, require_recovery_threshold by prefix. */
import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { OPERATION_LOG } from "./operation_log.ts";
import { QUERY_AUDIT, RECOVERY_EXECUTION } from "./operation_profiles.ts";
import { auditRows, enforceCheck, parseAuditPolicy } from "./query_audit_policy.ts";
import { entry } from "./testing/laws.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);

Deno.test("audit: rows by prefix and time; policy violations named", () => {
  const s = OPERATION_LOG.empty();
  OPERATION_LOG.apply(
    s,
    entry(
      1,
      QUERY_AUDIT.schemaId,
      QUERY_AUDIT.encode({
        requester_identity: b32(1),
        resource_identifier: "patient:1",
        resource_class: "personal-data",
        request_time: 50,
      }),
    ),
  );
  OPERATION_LOG.apply(
    s,
    entry(
      2,
      RECOVERY_EXECUTION.schemaId,
      RECOVERY_EXECUTION.encode({
        target_identity: b32(0xab),
        new_identity: b32(2),
        approval_references: [b32(5)],
      }),
    ),
  );
  assert.equal(auditRows(s.records, "patient:").length, 1);
  assert.equal(auditRows(s.records, "system:").length, 0);
  assert.equal(auditRows(s.records, "", 51).length, 0);
  const policy = parseAuditPolicy({
    version: 1,
    rules: [
      { type: "require_audit", stream: "a", resource_class: "personal-data" },
      { type: "require_audit", stream: "a", resource_class: "financial-record" },
      { type: "require_recovery_threshold", target_identity_prefix: "AB", min_approvals: 2 },
      { type: "require_recovery_threshold", target_identity_prefix: "cd", min_approvals: 2 },
    ],
  });
  const v = enforceCheck(policy, new Map([["a", s.records]]));
  assert.equal(v.length, 2, v.join("\n"));
  assert.match(v[0]!, /financial-record/);
  assert.match(v[1]!, new RegExp(toHex(b32(0xab))));
  assert.throws(() => parseAuditPolicy({ version: 2, rules: [] }));
  assert.throws(() => parseAuditPolicy({ version: 1, rules: [{ type: "nope" }] }));
});
