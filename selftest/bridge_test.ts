/**
 * `veen selftest bridge` passes against the two hubs it starts, and can fail: with the test-only
 * `unsafe_skip_sig_check` (inherited by the hubs it starts) zone 1 accepts a forged MSG, so the suite exits 5 naming
 * bridge/source-integrity, and the export that meets the forged event fails its verification (E.SIG) rather than
 * writing it into a bundle.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest bridge passes against its own two hubs", async () => {
  const run = await runVeen(["selftest", "bridge", "--seed", "3"]);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] bridge/import",
    "[ok  ] bridge/tampered",
    "[ok  ] bridge/reconcile",
    "result: PASS (7 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest bridge exits 5 at bridge/source-integrity against a zone 1 that does not check signatures", async () => {
  const run = await runVeen(["selftest", "bridge", "--seed", "4"], {
    env: { VEEN_UNSAFE_SKIP_SIG_CHECK: "1" },
  });
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[FAIL] bridge/source-integrity",
    "result: FAIL at step bridge/source-integrity:",
    "expected E.SIG, but the hub answered 200",
    "[FAIL] bridge/export",
    "E.SIG: MSG.sig does not verify",
  ]);
  await assertNothingLeft(run);
});
