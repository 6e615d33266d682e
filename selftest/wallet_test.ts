/**
 * `veen selftest wallet` passes against the hubs it starts, and can fail: with the test-only
 * `VEEN_UNSAFE_WALLET_SKIP_CHECK=1` (inherited by the CLI it runs) `veen wallet` sends what the fold would skip
 * instead of refusing it, and the suite exits 5 naming the steps that check refusals, still cleaning up.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest wallet passes against its own hubs", async () => {
  const run = await runVeen(["selftest", "wallet", "--seed", "5"]);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] wallet/authorization",
    "[ok  ] wallet/refusal",
    "[ok  ] wallet/limits",
    "[ok  ] wallet/transfer",
    "[ok  ] wallet/bridge",
    "result: PASS",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest wallet exits 5 at wallet/authorization and wallet/refusal when the CLI does not refuse", async () => {
  const run = await runVeen(["selftest", "wallet", "--seed", "6"], {
    env: { VEEN_UNSAFE_WALLET_SKIP_CHECK: "1" },
  });
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[FAIL] wallet/authorization",
    "result: FAIL at step wallet/authorization:",
    "expected exit 4 with WAL.UNAUTHORIZED_OPERATION",
    "[FAIL] wallet/refusal",
  ]);
  assert.match(run.stderr, /E\.SELFTEST: /);
  await assertNothingLeft(run);
});

Deno.test("selftest wallet --hub URL reports its steps as skipped (it needs its own trusted issuer)", async () => {
  const run = await runVeen(["selftest", "wallet", "--hub", "http://127.0.0.1:9", "--seed", "1"]);
  assertIncludes(run.stdout, ["[skip] wallet/setup"]);
  await assertNothingLeft(run);
});
