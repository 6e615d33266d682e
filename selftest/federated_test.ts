/**
 * `veen selftest federated` end to end: it passes against the two hubs it starts, and it can fail: against hubs that
 * do not apply AUTH1 (the test-only `unsafe_skip_authority` key) it exits 5 naming the send steps.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest federated passes against its own two hubs and leaves nothing behind", async () => {
  const run = await runVeen(["selftest", "federated", "--seed", "5"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] federated/setup",
    "[ok  ] federated/publish-a",
    "[ok  ] federated/confirm-a",
    "[ok  ] federated/send-a",
    "send to hubb: E.AUTH (not primary for label",
    "[ok  ] federated/flip",
    "[ok  ] federated/cutover",
    "veen hub promote: local_seq 1, old primary's 1, may_lose 0",
    "[ok  ] federated/send-b",
    "send to hubb: stream_seq 2",
    "send to huba: E.AUTH (not primary for label",
    "result: PASS (7 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest federated exits 5 at federated/send-a against hubs that do not enforce AUTH1", async () => {
  const run = await runVeen(["selftest", "federated", "--seed", "6"], {
    env: { VEEN_UNSAFE_SKIP_AUTHORITY: "1" },
  });
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "WARNING hub huba: started with the test-only unsafe_skip_authority key",
    "[ok  ] federated/confirm-a",
    "[FAIL] federated/send-a",
    "result: FAIL at step federated/send-a:",
    "[FAIL] federated/send-b",
  ]);
  await assertNothingLeft(run);
});
