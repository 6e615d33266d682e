/**
 * `veen selftest meta` passes against the hub it starts, and can fail: with the test-only `unsafe_skip_admin_fold`
 * (inherited by the hub it starts) label classes and schemas are not folded, and the suite exits 5 naming the steps
 * that check them, still cleaning up after itself.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest meta passes against its own hub with admin_keys", async () => {
  const run = await runVeen(["selftest", "meta", "--seed", "3"]);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] meta/label-class",
    "[ok  ] meta/schema-usage",
    "result: PASS (7 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest meta exits 5 at meta/hub-profile and meta/label-class against a hub that does not fold admin records", async () => {
  const run = await runVeen(["selftest", "meta", "--seed", "4"], {
    env: { VEEN_UNSAFE_SKIP_ADMIN_FOLD: "1" },
  });
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "WARNING hub meta: started with the test-only unsafe_skip_admin_fold key",
    "[FAIL] meta/hub-profile",
    "result: FAIL at step meta/hub-profile:",
    "hub profile: lclass0 is not claimed",
    "[FAIL] meta/label-class",
    'label-class show: class "unset", expected "selftest-audit"',
    "[FAIL] meta/schema-register",
  ]);
  assert.match(run.stderr, /E\.SELFTEST: /);
  await assertNothingLeft(run);
});

Deno.test("selftest meta --hub URL reports its steps as skipped (it needs its own admin key)", async () => {
  const run = await runVeen(["selftest", "meta", "--hub", "http://127.0.0.1:9", "--seed", "1"]);
  assertIncludes(run.stdout, ["[skip] meta/setup"]);
  await assertNothingLeft(run);
});
