/**
 * `veen selftest query` passes against the hub it starts, and can fail: run against a hub (a proxy holding the
 * hub's key) that serves validly signed RECEIPTs with a wrong mmr_root from GET /receipt, the full-evidence query
 * fails and the suite exits 5 naming query/full-evidence.
 */
import assert from "node:assert/strict";
import { hubSeedOf, startMaliciousHub } from "../cli/testing/malicious_hub.ts";
import { withRealHub } from "../cli/testing/with_real_hub.ts";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest query passes against its own hub", async () => {
  const run = await runVeen(["selftest", "query", "--seed", "3"]);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] query/full-evidence",
    "[ok  ] query/pagination",
    "[ok  ] query/refusals",
    "result: PASS (7 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest query exits 5 at query/full-evidence against a hub serving corrupted RECEIPTs", async () => {
  await withRealHub({}, async (hub) => {
    const evil = await startMaliciousHub({ upstream: hub.url, hubSeed: await hubSeedOf(hub.dataDir) });
    evil.tamper.receipt = (r) => {
      const root = r.mmrRoot.slice();
      root[31]! ^= 0x80;
      const { hubSig: _, ...u } = r;
      return evil.signReceipt({ ...u, mmrRoot: root });
    };
    try {
      const run = await runVeen(["selftest", "query", "--hub", evil.url, "--seed", "4"]);
      assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      assertIncludes(run.stdout, [
        "[FAIL] query/full-evidence",
        "result: FAIL at step query/full-evidence:",
        "execution_failed",
      ]);
      await assertNothingLeft(run);
    } finally {
      await evil.close();
    }
  });
});
