/**
 * `veen selftest hardened` end to end: it passes against its own hub, and it can fail: each test-only key that
 * breaks one SH1+ rule makes it exit 5 naming the step that checks the rule.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen, type SelftestRun } from "./testing/run_veen.ts";

function assertFailsAt(run: SelftestRun, step: string, needles: string[]): void {
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    `[FAIL] hardened/${step}`,
    `result: FAIL at step hardened/${step}:`,
    ...needles,
  ]);
}

Deno.test("selftest hardened passes against its own hub and leaves nothing behind", async () => {
  const run = await runVeen(["selftest", "hardened", "--seed", "3"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] hardened/setup",
    "veen hub status: pow true, pow_difficulty 10",
    "[ok  ] hardened/oversized",
    "MSG of 4097 bytes: 413 E.SIZE",
    "[ok  ] hardened/malformed",
    "a truncated MSG",
    "[ok  ] hardened/bounds-first",
    "veen_sig_verify_attempts_total: 0 before, 0 after 11 garbage requests",
    "[ok  ] hardened/pow",
    "the same (challenge, nonce) again: exit 4 E.AUTH",
    "5 × veen send (the CLI solves a fresh challenge each): 5 accepted",
    "5 MSGs without a Veen-PoW cookie: 5 × 403 E.AUTH",
    "[ok  ] hardened/shutdown",
    "result: PASS (6 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest hardened exits 5 at hardened/pow against a hub that does not check PoW cookies", async () => {
  const run = await runVeen(["selftest", "hardened", "--seed", "4"], {
    env: { VEEN_UNSAFE_SKIP_POW_CHECK: "1" },
  });
  assertFailsAt(run, "pow", [
    "WARNING hub hardened: started with the test-only unsafe_skip_pow_check key",
    "expected exit 4 with E.AUTH, got exit 0",
    "1 failed: hardened/pow;",
  ]);
  assert.match(run.stdout, /\[ok {2}\] hardened\/bounds-first/);
  await assertNothingLeft(run);
});

Deno.test("selftest hardened exits 5 at hardened/oversized against a hub with the size bound disabled", async () => {
  const run = await runVeen(["selftest", "hardened", "--seed", "5"], {
    env: { VEEN_UNSAFE_DISABLE_SIZE_BOUNDS: "1" },
  });
  assertFailsAt(run, "oversized", [
    "WARNING hub hardened: started with the test-only unsafe_disable_size_bounds key",
  ]);
  await assertNothingLeft(run);
});
