/** `veen bench fold`: figures for each mix and size, cold and warm; a bad flag is a usage error (exit 1). */
import assert from "node:assert/strict";
import { runCli } from "../testing/run.ts";
import { ok } from "../testing/with_real_hub.ts";

Deno.test("bench fold prints cold and warm figures per mix and size; the warm state is the cold one extended", async () => {
  const j = ok(await runCli(["bench", "fold", "--sizes", "20,200", "--new", "5", "--runs", "2", "--json"]))
    .json();
  const figures = j.figures as {
    events: number;
    mix: string;
    cold_ms: number;
    warm_ms: number;
    summary_bytes: number;
    warm_lookups: number;
    result: number;
  }[];
  assert.deepEqual(figures.map((f) => [f.mix, f.events]), [
    ["account", 20],
    ["account", 200],
    ["transfers", 20],
    ["transfers", 200],
    ["identity", 20],
    ["identity", 200],
  ]);
  for (const f of figures) assert.ok(f.cold_ms >= 0 && f.warm_ms >= 0 && f.result > 0);
  // Transfers: the transfer_ids live in the index, so the summary does not grow with them and a warm read looks
  // up only the keys of its 5 new events (seq 201..205: transfers at 201 and 204; 21..25: at 21 and 24).
  const [t20, t200] = [figures[2]!, figures[3]!];
  assert.ok(
    Math.abs(t200.summary_bytes - t20.summary_bytes) <= 4,
    `${t20.summary_bytes} ${t200.summary_bytes}`,
  );
  assert.deepEqual([t20.warm_lookups, t200.warm_lookups, figures[1]!.warm_lookups], [2, 2, 0]);
  // Identity: one origin per record in the index, none in the summary; a warm read looks up its 5 new origins.
  const [i20, i200] = [figures[4]!, figures[5]!];
  const perDevice = [i20.summary_bytes / 20, i200.summary_bytes / 64];
  assert.ok(
    Math.abs(perDevice[0]! - perDevice[1]!) < 16,
    `the summary grows with the devices (20, then 64), not the 200 records: ${perDevice}`,
  );
  assert.deepEqual([i20.warm_lookups, i200.warm_lookups], [5, 5]);
  assert.deepEqual([i20.result, i200.result], [25, 64], "devices after the warm read (64 distinct at most)");
  // The same stream prefix resumed with 5 more events: 205 events folded, the same as a cold fold of 205.
  const cold = ok(await runCli(["bench", "fold", "--sizes", "204", "--new", "1", "--runs", "1", "--json"]))
    .json();
  assert.deepEqual(
    (cold.figures as { result: number }[]).map((f) => f.result),
    [figures[1]!.result, figures[3]!.result, figures[5]!.result],
  );
  const bad = await runCli(["bench", "fold", "--mix", "nope"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--mix nope: not one of account, transfers, identity/);
});
