/**
 * The suite can fail: each test-only hub key (docs/hub-config.md, inherited by every hub the selftest starts, or set
 * on a hub given with `--hub URL`) breaks one rule, and `veen selftest core` must exit 5 naming the step that checks
 * it, still cleaning up after itself. The same runs against normal hubs pass (core_test.ts, lifecycle_test.ts).
 */
import assert from "node:assert/strict";
import { readState } from "../hub/mod.ts";
import { assertIncludes, assertNothingLeft, runVeen, type SelftestRun } from "./testing/run_veen.ts";

/** Asserts exit 5 with `step` as the first failing step of the core suite. */
function assertFailsAt(run: SelftestRun, step: string, needles: string[]): void {
  assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [`[FAIL] core/${step}`, `result: FAIL at step core/${step}:`, ...needles]);
}

Deno.test("selftest core exits 5 naming the failing step against a hub with the size bound disabled", async () => {
  const run = await runVeen(["selftest", "core", "--seed", "2"], {
    env: { VEEN_UNSAFE_DISABLE_SIZE_BOUNDS: "1" },
  });
  assertFailsAt(run, "bounds", [
    "WARNING hub bounds: started with the test-only unsafe_disable_size_bounds key",
    "a MSG of 4097 bytes (max_msg_bytes 4096) was ACCEPTED",
    "1 failed: core/bounds;",
  ]);
  // Only the disabled check fails; the rest of the suite still ran.
  assert.match(run.stdout, /\[ok {2}\] core\/send-stream/);
  assert.match(run.stdout, /\[ok {2}\] core\/shutdown/);
  assert.doesNotMatch(run.stdout, /\[FAIL\] core\/(?!bounds)/);
  await assertNothingLeft(run);
});

Deno.test("selftest core exits 5 at core/signature against a hub that does not check signatures", async () => {
  const run = await runVeen(["selftest", "core", "--seed", "5"], {
    env: { VEEN_UNSAFE_SKIP_SIG_CHECK: "1" },
  });
  assertFailsAt(run, "signature", [
    "WARNING hub main: started with the test-only unsafe_skip_sig_check key",
    "a MSG with a flipped sig bit: expected E.SIG, but the hub answered 200",
    "1 failed: core/signature;",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest core exits 5 at core/cap-ttl against a hub that reads cap ttl in milliseconds", async () => {
  const run = await runVeen(["selftest", "core", "--seed", "6"], {
    env: { VEEN_UNSAFE_CAP_TTL_MILLIS: "1" },
  });
  assertFailsAt(run, "cap-ttl", [
    "WARNING hub admission: started with the test-only unsafe_cap_ttl_millis key",
    "for ttl 3; expected 3 s later",
  ]);
  // ttl 0 cannot tell seconds from milliseconds: the old expiry step passes against this hub.
  assert.match(run.stdout, /\[ok {2}\] core\/cap-expiry/);
  await assertNothingLeft(run);
});

Deno.test("selftest core --hub URL exits 5 at core/bounds against a deployed hub with the size bound disabled", async () => {
  const hubTmp = await Deno.makeTempDir({ prefix: "veen-selftest-hub-" });
  const dir = `${hubTmp}/hub`;
  const env = { VEEN_UNSAFE_DISABLE_SIZE_BOUNDS: "1", VEEN_MAX_MSG_BYTES: "8192" };
  const start = await runVeen(["hub", "start", "--data-dir", dir, "--listen", "127.0.0.1:0"], {
    tmp: hubTmp,
    env,
  });
  assert.equal(start.code, 0, start.stderr);
  const st = await readState(dir);
  assert.ok(st !== undefined);
  try {
    const run = await runVeen(["selftest", "core", "--hub", st.url, "--seed", "7"]);
    assertFailsAt(run, "bounds", [
      "GET /info: max_msg_bytes 8192",
      "MSG of 8193 bytes: expected E.SIZE, got HTTP 409 E.SIG",
      "1 failed: core/bounds;",
    ]);
    await assertNothingLeft(run);
  } finally {
    const stop = await runVeen(["hub", "stop", "--data-dir", dir], { tmp: hubTmp });
    assert.equal(stop.code, 0, stop.stderr);
    await Deno.remove(hubTmp, { recursive: true });
  }
});
