/** `veen selftest props` and `veen selftest fuzz` as subprocesses, plus argument handling. */
import assert from "node:assert/strict";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest props passes: MMR, duplicates, CBOR determinism, fold determinism", async () => {
  const run = await runVeen(["selftest", "props", "--seed", "11"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "seed: 11",
    "[ok  ] props/mmr-local",
    /\d+ inclusion proofs minimal and position-bound, \d+ tampered proofs rejected/,
    "[ok  ] props/mmr-hub",
    /\/proof answers and \d+ \/consistency answers verify against RECEIPT roots/,
    "[ok  ] props/duplicates",
    "409 E.DUP, each naming its original stream_seq",
    "[ok  ] props/cbor-determinism",
    /\d+ non-canonical encodings .* rejected with E.SIZE/,
    "[ok  ] props/fold-determinism",
    "result: PASS",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest fuzz passes and the hub stays healthy; --json gives one document", async () => {
  const run = await runVeen(["selftest", "fuzz", "--seed", "12", "--iterations", "120", "--json"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.ok, true);
  assert.equal(doc.seed, 12);
  assert.deepEqual(doc.failed_steps, []);
  const names = doc.steps.map((s: { suite: string; name: string }) => `${s.suite}/${s.name}`);
  for (
    const n of [
      "submit",
      "authorize",
      "report-equivocation",
      "queries",
      "decoders",
      "cli-inputs",
      "still-healthy",
    ]
  ) {
    assert.ok(names.includes(`fuzz/${n}`), `no step fuzz/${n}`);
  }
  const healthy = doc.steps.find((s: { name: string }) => s.name === "still-healthy");
  assert.ok(healthy.evidence.some((e: string) => e.startsWith("crafted MSG: 200 RECEIPT")));
  assert.ok(healthy.evidence.some((e: string) => e.startsWith("veen send: stream_seq")));
  assert.match(doc.env.seed, /^12 /);
  await assertNothingLeft(run);
});

Deno.test("selftest refuses bad arguments with exit 1", async () => {
  for (
    const args of [["selftest"], ["selftest", "nope"], ["selftest", "core", "--seed", "x"], [
      "selftest",
      "core",
      "--hub",
      "nohttp",
    ]]
  ) {
    const run = await runVeen(args, { timeoutMs: 30_000 });
    assert.equal(run.code, 1, `${args.join(" ")}: exit ${run.code}`);
    await assertNothingLeft(run);
  }
  const help = await runVeen(["selftest", "--help"], { timeoutMs: 30_000 });
  assert.equal(help.code, 0);
  for (const suite of ["core", "props", "fuzz", "kex1", "hardened", "meta", "overlays", "plus", "all"]) {
    assert.match(help.stdout, new RegExp(`veen selftest ${suite} `));
  }
  await assertNothingLeft(help);
});

Deno.test("veen-selftest alias: run as veen-selftest, its hubs still start as veen hub", async () => {
  const run = await runVeen(["props", "--seed", "13"], { env: { VEEN_ARGV0: "veen-selftest" } });
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, ["veen selftest props", "[ok  ] props/setup", "result: PASS"]);
  await assertNothingLeft(run);
});
