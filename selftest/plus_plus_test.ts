/**
 * `veen selftest plus-plus` passes against the hubs it starts, and can fail: with the test-only
 * `unsafe_skip_admin_fold` (inherited by the hubs it starts) access grants are admitted but not folded, and the suite
 * exits 5 naming plus-plus/access-grant, still cleaning up after itself.
 */
import assert from "node:assert/strict";
import { suitesOf } from "./mod.ts";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest all runs plus-plus after the overlay suites", () => {
  const all = suitesOf("all", []);
  assert.equal(all.at(-1), "plus-plus");
  for (const overlay of suitesOf("overlays", [])) assert.ok(all.indexOf(overlay) < all.indexOf("plus-plus"));
  assert.deepEqual(suitesOf("plus-plus", []), ["plus-plus"]);
});

Deno.test("selftest plus-plus passes against its own hubs", async () => {
  const run = await runVeen(["selftest", "plus-plus", "--seed", "3"]);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] plus-plus/access-grant",
    "[ok  ] plus-plus/wallet-ledger",
    "[ok  ] plus-plus/grant-bounds",
    "[ok  ] plus-plus/map-state",
    "[ok  ] plus-plus/recovery",
    "[ok  ] plus-plus/federate",
    "result: PASS (12 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest plus-plus exits 5 at plus-plus/access-grant against a hub that does not fold access grants", async () => {
  const run = await runVeen(["selftest", "plus-plus", "--seed", "4"], {
    env: { VEEN_UNSAFE_SKIP_ADMIN_FOLD: "1" },
  });
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[FAIL] plus-plus/access-grant",
    "result: FAIL at step plus-plus/access-grant:",
  ]);
  assert.match(run.stderr, /E\.SELFTEST: /);
  await assertNothingLeft(run);
});
