import assert from "node:assert/strict";
import { captureIo, cliMain, COMMANDS, findClientCommand as findCommand } from "./mod.ts";
import { runCli } from "./testing/run.ts";

Deno.test("--help prints one screen and exits 0, globally and per command", async () => {
  const g = await runCli(["--help"]);
  assert.equal(g.code, 0);
  assert.match(g.stdout, /^usage: veen COMMAND/);
  assert.ok(g.stdout.split("\n").length < 56); // one screen: each group on a line or two, details in its --help
  for (const c of COMMANDS) {
    const r = await runCli([...c.path, "--help"]);
    assert.equal(r.code, 0, c.path.join(" "));
    assert.match(r.stdout, new RegExp(`^usage: veen ${c.path.join(" ")}`));
  }
  assert.equal((await runCli(["help", "send"])).code, 0);
  assert.match((await runCli(["verify-attachment", "-h"])).stdout, /usage: veen attachment verify/);
  assert.equal((await runCli(["cap", "--help"])).code, 0);
});

Deno.test("no command, an unknown command or an unknown flag is a usage error (exit 1)", async () => {
  assert.equal((await runCli([])).code, 1);
  const u = await runCli(["frobnicate"]);
  assert.equal(u.code, 1);
  assert.match(u.stderr, /^E\.USAGE: Unknown command "frobnicate"/);
  const j = await runCli(["frobnicate", "--json"]);
  assert.deepEqual(j.json(), {
    ok: false,
    code: "E.USAGE",
    detail: 'Unknown command "frobnicate" (veen --help lists the commands)',
  });
  assert.equal((await runCli(["schema-id", "x", "--bogus"])).code, 1);
  assert.equal((await runCli(["schema-id", "x", "--timeout-ms", "0"])).code, 1);
});

Deno.test("global flags may precede the command", async () => {
  const r = await runCli(["--json", "--timeout-ms", "100", "schema-id", "a"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().name, "a");
  assert.equal((await runCli(["--quiet", "schema-id", "a"])).stdout, "");
});

Deno.test("findCommand() prefers the longest spelling and knows CORE-GOALS aliases", () => {
  assert.deepEqual(findCommand(["cap", "issue", "x"])?.cmd.path, ["cap", "issue"]);
  assert.deepEqual(findCommand(["send-with-attachment"])?.cmd.path, ["send"]);
  assert.equal(findCommand(["cap"]), undefined);
});

Deno.test("cliMain() takes an injectable Io", async () => {
  const io = captureIo();
  assert.equal(await cliMain(["schema-id", "x"], io), 0);
  assert.match(io.stdout(), /^[0-9a-f]{64}\n$/);
});
