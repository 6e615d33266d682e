/**
 * `veen selftest overlays` (CORE-GOALS 0) and its `--subset`: the chosen overlay suites run in one report; an
 * unknown subset or `--subset` on another suite is a usage error before any hub starts.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest overlays --subset kex1,lclass runs those two suites in one report", async () => {
  const run = await runVeen(["selftest", "overlays", "--subset", "kex1,lclass", "--seed", "21"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "veen selftest overlays",
    "[ok  ] kex1/restart",
    "[ok  ] meta/hub-profile",
    "result: PASS",
  ]);
  assert.doesNotMatch(run.stdout, /hardened\//);
  await assertNothingLeft(run);
});

Deno.test("selftest overlays --subset fed-auth runs the federated suite alone", async () => {
  const run = await runVeen(["selftest", "overlays", "--subset", "fed-auth", "--seed", "22"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, ["veen selftest overlays", "[ok  ] federated/send-b", "result: PASS"]);
  assert.doesNotMatch(run.stdout, /kex1\/|meta\//);
  await assertNothingLeft(run);
});

Deno.test("selftest --subset: other names and other suites are usage errors", async () => {
  for (
    const [args, needle] of [
      [["overlays", "--subset", "nope"], /--subset nope: not an overlay suite/],
      [["core", "--subset", "kex1"], /--subset goes with veen selftest overlays/],
    ] as const
  ) {
    const run = await runVeen(["selftest", ...args], { timeoutMs: 30_000 });
    assert.equal(run.code, 1, `${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
    assert.match(run.stderr, needle);
    await assertNothingLeft(run);
  }
});
