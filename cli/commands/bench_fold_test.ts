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
    balance: number;
  }[];
  assert.deepEqual(figures.map((f) => [f.mix, f.events]), [
    ["account", 20],
    ["account", 200],
    ["transfers", 20],
    ["transfers", 200],
  ]);
  for (const f of figures) assert.ok(f.cold_ms >= 0 && f.warm_ms >= 0 && f.balance > 0);
  // Transfers: the transfer_ids live in the index, so the summary does not grow with them and a warm read looks
  // up only the keys of its 5 new events (seq 201..205: transfers at 201 and 204; 21..25: at 21 and 24).
  const [t20, t200] = [figures[2]!, figures[3]!];
  assert.ok(
    Math.abs(t200.summary_bytes - t20.summary_bytes) <= 4,
    `${t20.summary_bytes} ${t200.summary_bytes}`,
  );
  assert.deepEqual([t20.warm_lookups, t200.warm_lookups, figures[1]!.warm_lookups], [2, 2, 0]);
  // The same stream prefix resumed with 5 more events: 205 events folded, the same as a cold fold of 205.
  const cold = ok(await runCli(["bench", "fold", "--sizes", "204", "--new", "1", "--runs", "1", "--json"]))
    .json();
  assert.deepEqual(
    (cold.figures as { balance: number }[]).map((f) => f.balance),
    [figures[1]!.balance, figures[3]!.balance],
  );
  const bad = await runCli(["bench", "fold", "--mix", "nope"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--mix nope: not one of account, transfers/);
});
