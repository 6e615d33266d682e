import assert from "node:assert/strict";
import { runCli } from "../testing/run.ts";

Deno.test("explain-error prints one line per code and exits 1 for unknown codes", async () => {
  const r = await runCli(["explain-error", "E.SIG"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^E\.SIG: signature failure: [^\n]+\n$/);
  assert.equal((await runCli(["explain-error", "rate"])).stdout.startsWith("E.RATE: "), true);
  const all = await runCli(["explain-error"]);
  assert.equal(all.stdout.trim().split("\n").length, 11);
  const bad = await runCli(["explain-error", "E.NOPE"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^E\.USAGE: Unknown error code/);
  assert.equal((await runCli(["explain-error", "E.DUP", "--json"])).json().code, "E.DUP");
});
