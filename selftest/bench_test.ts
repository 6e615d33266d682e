import assert from "node:assert/strict";
import { benchMain } from "./bench.ts";

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
      "--skip-history",
      "--json",
      "--write",
      out,
    ];
    const log = console.log;
    console.log = () => {};
    let code: number;
    try {
      code = await benchMain(args);
    } finally {
      console.log = log;
    }
    assert.equal(code, 0);
    const r = JSON.parse(await Deno.readTextFile(out));
    assert.ok(r.cryptoCeiling > 0);
    assert.equal(r.submit.ok, 300);
    assert.deepEqual(r.submit.errors, {});
    assert.ok(r.submit.p50 > 0 && r.submit.p50 <= r.submit.p99);
    assert.deepEqual(r.history, []);
    if (Deno.build.os === "linux") {
      const cpu = r.submit.cpuPerSubmitUs;
      assert.ok(cpu.hub.main > 0, JSON.stringify(cpu));
      assert.ok(cpu.loadGenerator > 0, JSON.stringify(cpu));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
