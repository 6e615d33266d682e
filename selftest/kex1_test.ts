/**
 * `veen selftest kex1` end to end: it passes against its own hub, and it can fail: against a hub that does not
 * enforce revocations (the test-only `unsafe_skip_revocations` key) it exits 5 naming the revocation steps.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest kex1 passes against its own hub and leaves nothing behind", async () => {
  const run = await runVeen(["selftest", "kex1", "--seed", "9"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] kex1/kex-policy",
    "[ok  ] kex1/msg-bound",
    "send 4: E.AUTH",
    "rotate client key",
    "[ok  ] kex1/cap-ttl-bound",
    "[ok  ] kex1/cap-expiry",
    "[ok  ] kex1/revoke-client-id",
    "bob's next send: E.AUTH (Revoked (client-id: selftest))",
    "[ok  ] kex1/revoke-auth-ref",
    "[ok  ] kex1/restart",
    "result: PASS (8 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest kex1 exits 5 at kex1/revoke-client-id against a hub that does not enforce revocations", async () => {
  const run = await runVeen(["selftest", "kex1", "--seed", "8"], {
    env: { VEEN_UNSAFE_SKIP_REVOCATIONS: "1" },
  });
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "WARNING hub kex1: started with the test-only unsafe_skip_revocations key",
    "[FAIL] kex1/revoke-client-id",
    "result: FAIL at step kex1/revoke-client-id:",
    "[FAIL] kex1/revoke-auth-ref",
    "[FAIL] kex1/restart",
  ]);
  assert.match(run.stdout, /\[ok {2}\] kex1\/msg-bound/);
  await assertNothingLeft(run);
});
