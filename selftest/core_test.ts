/** `veen selftest core` end to end: its own hubs, the real CLI, a passing report, nothing left behind. */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, hubPids, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest core passes against its own hubs and leaves no process or directory behind", async () => {
  const run = await runVeen(["selftest", "core", "--seed", "1"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "seed: 1 (rerun with --seed 1)",
    /deno: \d+\.\d+\.\d+/,
    /os: \w+/,
    /hub main: http:\/\/127\.0\.0\.1:\d+ \(pid \d+, data dir /,
    "[ok  ] core/bounds",
    "MSG of 4096 bytes: 200 RECEIPT",
    "MSG of 4097 bytes: 413 E.SIZE",
    "[ok  ] core/signature",
    "sig with bit 0 of byte 7 flipped: 409 E.SIG",
    "the same MSG correctly signed: 200 stream_seq 1",
    "[ok  ] core/send-stream",
    /veen send ×3: stream_seq 1,2,3, msg_id [0-9a-f]{16}/,
    "3 items, proofs verified, decrypted bodies equal what was sent",
    "[ok  ] core/sealed-to-recipient",
    "[ok  ] core/attachments",
    "[ok  ] core/admission",
    "send without --cap: exit 4 E.AUTH",
    "[ok  ] core/capabilities",
    /cap authorize: auth_ref [0-9a-f]{16}/,
    "[ok  ] core/rate-limit",
    "then E.RATE",
    "[ok  ] core/cap-ttl",
    /ttl 3, authorized at \d+: expires_at \d+/,
    "[ok  ] core/cap-expiry",
    "[ok  ] core/seq-errors",
    "409 E.SEQ",
    "[ok  ] core/duplicates",
    "re-POST: 409 E.DUP",
    "[ok  ] core/profile",
    "400 E.PROFILE",
    "[ok  ] core/time-window",
    "400 E.TIME",
    "[ok  ] core/resync",
    "verify-state consistent again",
    "[ok  ] core/health-metrics",
    "appears nowhere in the hub's data dir or logs",
    "[ok  ] core/shutdown",
    /result: PASS \(\d+ ok, \d+ skipped\)/,
  ]);
  // The overlay and retention commands were written alongside; each step runs, or says exactly why not.
  for (const s of ["rpc", "crdt", "anchor", "retention"]) {
    assert.match(run.stdout, new RegExp(`\\[(ok  |skip)\\] core/${s} `));
  }
  for (const m of run.stdout.matchAll(/\[skip\] core\/(rpc|crdt|anchor|retention) .*\n\s+skipped: (.*)/g)) {
    assert.match(m[2]!, /^command not available: veen /, `core/${m[1]} skipped for another reason: ${m[2]}`);
  }
  assert.ok(hubPids(run.stdout).length >= 4, "the report names the hubs it started");
  await assertNothingLeft(run);
});
