/** Interruption cleans up; `--hub URL` runs against a hub the selftest did not start and leaves it running. */
import assert from "node:assert/strict";
import { readState } from "../cmd/mod.ts";
import { selfCommand } from "../hub/mod.ts";
import { processAlive } from "./harness.ts";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("SIGTERM in the middle of selftest core stops its hubs and removes its directory (exit 143)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "veen-selftest-test-" });
  const self = selfCommand();
  const child = new Deno.Command(self.cmd, {
    args: [...self.args, "selftest", "core", "--seed", "4"],
    env: { TMPDIR: tmp, VEEN_ARGV0: "veen" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const dec = new TextDecoder();
  let out = "";
  let sent = false;
  const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  for await (const chunk of child.stdout) {
    out += dec.decode(chunk, { stream: true });
    // Signal once the main and admission hubs are up and a step is between commands.
    if (!sent && /\[ok {2}\] core\/admission/.test(out)) {
      child.kill("SIGTERM");
      sent = true;
    }
  }
  const status = await child.status;
  clearTimeout(killer);
  assert.ok(sent, `never reached core/admission:\n${out}\n${await stderr}`);
  assert.equal(status.code, 143, `exit ${status.code}\n${out}\n${await stderr}`);
  assertIncludes(out, [
    "SIGTERM: stopping hubs and removing",
    "removed",
    "result: INTERRUPTED by SIGTERM after",
  ]);
  assert.doesNotMatch(out, /result: (PASS|FAIL)/);
  await assertNothingLeft({ code: status.code, stdout: out, stderr: await stderr, tmp });
});

Deno.test("selftest core --hub URL runs the deployable subset and leaves the hub running", async () => {
  const hubTmp = await Deno.makeTempDir({ prefix: "veen-selftest-hub-" });
  const dir = `${hubTmp}/hub`;
  const start = await runVeen(["hub", "start", "--data-dir", dir, "--listen", "127.0.0.1:0"], {
    tmp: hubTmp,
  });
  assert.equal(start.code, 0, start.stderr);
  const st = await readState(dir);
  assert.ok(st !== undefined);
  try {
    const run = await runVeen(["selftest", "core", "--hub", st.url, "--seed", "3"]);
    assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    assertIncludes(run.stdout, [
      `mode: deployed hub ${st.url}`,
      `deployed hub ${st.url} (no hub is started or stopped by this run)`,
      "[ok  ] core/bounds",
      /GET \/info: max_msg_bytes 1048576\n/,
      "MSG of 1048576 bytes with a broken sig: 409 E.SIG (past the bound; nothing stored)",
      "MSG of 1048577 bytes: 413 E.SIZE",
      "[ok  ] core/signature",
      "[skip] core/time-window",
      "not run with --hub",
      "[ok  ] core/send-stream",
      "[ok  ] core/seq-errors",
      "[ok  ] core/duplicates",
      "[ok  ] core/profile",
      "[ok  ] core/resync",
      "[ok  ] core/health-metrics",
      "result: PASS",
    ]);
    assert.doesNotMatch(run.stdout, /core\/shutdown/);
    assert.ok(processAlive(st.pid), "the deployed hub was stopped by the selftest");
    await assertNothingLeft(run);
  } finally {
    const stop = await runVeen(["hub", "stop", "--data-dir", dir], { tmp: hubTmp });
    assert.equal(stop.code, 0, stop.stderr);
    await Deno.remove(hubTmp, { recursive: true });
  }
});
