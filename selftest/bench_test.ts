import assert from "node:assert/strict";
import { captureIo } from "../cmd/mod.ts";
import { benchMain } from "./commands.ts";

Deno.test("veen bench runs a small submit phase against its own hub and writes figures with CPU per submit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-bench-test-" });
  try {
    const out = `${dir}/bench.json`;
    const args = [
      "--count",
      "300",
      "--clients",
      "4",
      "--labels",
      "2",
      "--batch-items",
      "64",
      "--many-batch-items",
      "8",
      "--skip-history",
      "--json",
      "--write",
      out,
    ];
    const io = captureIo();
    const code = await benchMain(args, io);
    assert.equal(code, 0, io.stderr());
    const r = JSON.parse(await Deno.readTextFile(out));
    // --json on stdout: the same figures as every command's answer, {"ok":true,...}.
    assert.deepEqual(JSON.parse(io.stdout()), { ok: true, ...r });
    assert.ok(r.cryptoCeiling > 0);
    assert.deepEqual(r.phases.map((p: { name: string }) => p.name), ["single", "batch1", "batchN"]);
    for (const p of r.phases) {
      assert.equal(p.ok, 300, p.name);
      assert.deepEqual(p.errors, {}, p.name);
      assert.ok(p.p50 > 0 && p.p50 <= p.p99, p.name);
      assert.ok(p.ratio > 0, p.name);
      if (Deno.build.os === "linux") {
        const cpu = p.cpuPerSubmitUs;
        assert.ok(cpu.hub.main > 0, JSON.stringify(cpu));
        // batches of 300 MSGs cost the generator less than the 10 ms /proc resolution
        assert.ok(p.name === "single" ? cpu.loadGenerator > 0 : cpu.loadGenerator >= 0, JSON.stringify(cpu));
      }
    }
    assert.equal(r.phases[1].clients, 1);
    assert.ok(r.phases[1].requests >= 2, "the one producer's 300 MSGs took more than one request");
    assert.deepEqual(r.history, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("veen bench and veen selftest refuse numeric flags that are not integers in range, naming the flag", async () => {
  const { selftestMain } = await import("./mod.ts");
  for (
    const flag of ["--clients=x", "--labels=0", "--count=1.5", "--seconds=-1", "--proofs=1e3", "--sizes=10,x"]
  ) {
    const io = captureIo();
    assert.equal(await benchMain([flag], io), 1, flag);
    assert.match(io.stderr(), new RegExp(`^E\\.USAGE: ${flag.split("=")[0]} must be an integer`), flag);
  }
  for (const v of ["0", "x", "1000000"]) {
    const io = captureIo();
    assert.equal(await selftestMain(["fuzz", `--iterations=${v}`], io), 1, v);
    assert.match(io.stderr(), /^E\.USAGE: --iterations must be an integer from 1 to 999999/);
  }
});

Deno.test("bench speed check: the crypto worker's µs per submit against the ceiling's µs per pair around the phase", async () => {
  const { speedDrift } = await import("./bench.ts");
  const f = (hub: Record<string, number>) =>
    ({
      ceiling: { before: 25_000, after: 25_000 },
      cpuPerSubmitUs: { hub, loadGenerator: 5 },
    }) as unknown as Parameters<
      typeof speedDrift
    >[0];
  assert.deepEqual(speedDrift(f({ main: 30, "worker-1": 52 })), { workerUs: 52, pairUs: 40, pct: 30 });
  assert.deepEqual(speedDrift(f({ main: 30, "worker-1": 21, "worker-2": 21 })), {
    workerUs: 42,
    pairUs: 40,
    pct: 5,
  });
  assert.equal(speedDrift(f({ main: 80 })), undefined, "inline crypto: nothing to compare");
});
