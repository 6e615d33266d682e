/**
 * The suite can fail: with the test-only hub key `unsafe_disable_size_bounds` (VEEN_UNSAFE_DISABLE_SIZE_BOUNDS=1,
 * inherited by every hub the selftest starts) the hub accepts a MSG over max_msg_bytes, and `veen selftest core`
 * must exit 5 naming the `bounds` step, still cleaning up after itself.
 */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest core exits 5 naming the failing step against a hub with the size bound disabled", async () => {
  const run = await runVeen(["selftest", "core", "--seed", "2"], {
    env: { VEEN_UNSAFE_DISABLE_SIZE_BOUNDS: "1" },
  });
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "WARNING hub bounds: started with the test-only unsafe_disable_size_bounds key",
    "[FAIL] core/bounds",
    "a MSG of 4097 bytes (max_msg_bytes 4096) was ACCEPTED",
    "result: FAIL at step core/bounds:",
    "1 failed: core/bounds;",
  ]);
  // Only the disabled check fails; the rest of the suite still ran.
  assert.match(run.stdout, /\[ok {2}\] core\/send-stream/);
  assert.match(run.stdout, /\[ok {2}\] core\/shutdown/);
  assert.doesNotMatch(run.stdout, /\[FAIL\] core\/(?!bounds)/);
  await assertNothingLeft(run);
});
