/**
 * `veen selftest recorder` passes against the hub it starts, and can fail: with the test-only
 * `unsafe_skip_admin_fold` (inherited by the hub it starts) label classes are not folded, so the recorder streams
 * are not long_term and the suite exits 5 naming recorder/init, still cleaning up after itself.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest recorder passes against its own hub with admin_keys", async () => {
  const run = await runVeen(["selftest", "recorder", "--seed", "3"]);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] recorder/checkpoint",
    "[ok  ] recorder/replay-range",
    "[ok  ] recorder/replay-window",
    "result: PASS (6 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest recorder exits 5 at recorder/init against a hub that does not fold label classes", async () => {
  const run = await runVeen(["selftest", "recorder", "--seed", "4"], {
    env: { VEEN_UNSAFE_SKIP_ADMIN_FOLD: "1" },
  });
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[FAIL] recorder/init",
    "result: FAIL at step recorder/init:",
    'class "unset", expected long_term',
  ]);
  assert.match(run.stderr, /E\.SELFTEST: /);
  await assertNothingLeft(run);
});

Deno.test("selftest recorder --hub URL reports its steps as skipped (it needs its own admin key)", async () => {
  const run = await runVeen(["selftest", "recorder", "--hub", "http://127.0.0.1:9", "--seed", "1"]);
  assertIncludes(run.stdout, ["[skip] recorder/setup"]);
  await assertNothingLeft(run);
});
