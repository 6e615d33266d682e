/**
 * `veen selftest discovery` passes against the hub it starts, and can fail: run against a hub (a proxy holding the
 * hub's key) that serves the disc.services.v1 items with a broken hub signature, the verified fold refuses them and
 * the suite exits 5 naming discovery/query.
 */
import assert from "node:assert/strict";
import { bytesEqual, labelFor, streamIdFor } from "../core/mod.ts";
import { discStreamName } from "../overlays/mod.ts";
import { hubSeedOf, startMaliciousHub } from "../cli/testing/malicious_hub.ts";
import { withRealHub } from "../cli/testing/with_real_hub.ts";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest discovery passes against its own hub", async () => {
  const run = await runVeen(["selftest", "discovery", "--seed", "3"]);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] discovery/expiry",
    "[ok  ] discovery/retire-revive",
    "[ok  ] discovery/connect",
    "result: PASS (6 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest discovery exits 5 at discovery/query when the hub serves forged discovery items", async () => {
  await withRealHub({}, async (hub) => {
    const evil = await startMaliciousHub({ upstream: hub.url, hubSeed: await hubSeedOf(hub.dataDir) });
    const services = labelFor(streamIdFor(discStreamName("service")));
    evil.tamper.stream = (items, q) =>
      !bytesEqual(q.label, services) ? items : items.map((it) => {
        const hubSig = it.receipt.hubSig.slice();
        hubSig[0]! ^= 1;
        return { ...it, receipt: { ...it.receipt, hubSig } };
      });
    try {
      const run = await runVeen(["selftest", "discovery", "--hub", evil.url, "--seed", "4"]);
      assert.equal(run.code, 5, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      assertIncludes(run.stdout, [
        "[FAIL] discovery/query",
        "result: FAIL at step discovery/query:",
        "E.SIG",
      ]);
      await assertNothingLeft(run);
    } finally {
      await evil.close();
    }
  });
});
