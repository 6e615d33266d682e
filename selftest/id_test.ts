/**
 * `veen selftest id` passes against the hubs it starts, and can fail: with the test-only `unsafe_skip_revocations`
 * (inherited by the hubs it starts) the hub does not refuse a revoked auth_ref, and the suite exits 5 naming the
 * revoke step, still cleaning up after itself. Also run through `selftest overlays --subset id`.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest id passes against its own two hubs", async () => {
  const run = await runVeen(["selftest", "overlays", "--subset", "id", "--seed", "5"]);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] id/derive",
    "[ok  ] id/devices",
    "[ok  ] id/external",
    "[ok  ] id/revoke",
    "[ok  ] id/bridge",
    "result: PASS (9 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest id exits 5 at id/revoke against a hub that does not check revocations", async () => {
  const run = await runVeen(["selftest", "id", "--seed", "6"], {
    env: { VEEN_UNSAFE_SKIP_REVOCATIONS: "1" },
  });
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] id/external",
    "[FAIL] id/revoke",
    "result: FAIL at step id/revoke:",
    "expected exit 4 with E.AUTH, got exit 0 (the command succeeded)",
    "[ok  ] id/bridge",
  ]);
  assert.match(run.stderr, /E\.SELFTEST: /);
  await assertNothingLeft(run);
});

Deno.test("selftest id --hub URL reports its steps as skipped (it needs its own hubs)", async () => {
  const run = await runVeen(["selftest", "id", "--hub", "http://127.0.0.1:9", "--seed", "1"]);
  assertIncludes(run.stdout, ["[skip] id/setup"]);
  await assertNothingLeft(run);
});
