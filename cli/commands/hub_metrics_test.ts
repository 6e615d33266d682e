import assert from "node:assert/strict";
import { summarizeMetrics } from "./hub_metrics.ts";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("summarizeMetrics() keeps counters and turns _sum/_count into means", () => {
  const s = summarizeMetrics(
    '# HELP x\nveen_submit_ok_total 4\nveen_submit_err_total{code="E.SIG"} 1\nlat_bucket{le="1"} 2\nlat_sum 3\nlat_count 2\n',
  );
  assert.deepEqual(s.counters, { veen_submit_ok_total: 4, 'veen_submit_err_total{code="E.SIG"}': 1 });
  assert.deepEqual(s.histograms, { lat: { count: 2, mean_ms: 1.5 } });
});

Deno.test("hub metrics prints a summary, or the raw text with --raw", async () => {
  await withScenario({}, async (s) => {
    const r = await runCli(["hub", "metrics", "--hub", s.hub.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^veen_submit_ok_total 0\n/);
    assert.match(r.stdout, /veen_verify_latency_ms count 0 mean_ms -/);
    const raw = await runCli(["hub", "metrics", "--hub", s.hub.url, "--raw"]);
    assert.match(raw.stdout, /^# TYPE veen_submit_ok_total counter\n/);
  });
});
