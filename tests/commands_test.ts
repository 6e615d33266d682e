/**
 * Every role runs on the one command framework (cmd/): the same usage errors, `--json` failures, generated help
 * and exit codes, whatever the command.
 */
import assert from "node:assert/strict";
import { captureIo, commandHelp, findCommand, GLOBAL_FLAGS, parseFlags } from "../cmd/mod.ts";
import { fullProgram, main, withRole } from "../mod.ts";

const PROGRAM = await fullProgram();

async function veen(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** One command of each role, with whatever it needs to reach flag parsing. */
const ROLES: string[][] = [
  ["send"],
  ["hub", "status"],
  ["hub", "start"],
  ["hub", "run"],
  ["hub", "stop"],
  ["hub", "fsck"],
  ["retention", "show"],
  ["env", "show"],
  ["kube", "render"],
  ["bridge"],
  ["selftest", "core"],
  ["bench"],
  ["version"],
];

Deno.test("a usage error reads the same from every role: E.USAGE: detail on stderr, exit 1", async () => {
  for (const words of ROLES) {
    const r = await veen([...words, "--bogus"]);
    assert.equal(r.code, 1, words.join(" "));
    assert.equal(r.err, "E.USAGE: Unknown flag --bogus\n", words.join(" "));
    assert.equal(r.out, "", words.join(" "));
  }
});

Deno.test("every role reports failures as one JSON document under --json", async () => {
  for (const words of ROLES) {
    const r = await veen([...words, "--bogus", "--json"]);
    assert.equal(r.code, 1, words.join(" "));
    assert.deepEqual(JSON.parse(r.out), { ok: false, code: "E.USAGE", detail: "Unknown flag --bogus" });
  }
});

Deno.test("help is generated from the tables: veen help CMD, the root help lists every command", async () => {
  const send = await veen(["help", "send"]);
  assert.equal(send.code, 0);
  assert.match(send.out, /^usage: veen send /);
  const root = await veen(["--help"]);
  assert.equal(root.code, 0);
  for (const s of PROGRAM.sections) {
    for (const c of s.commands) {
      // The root help names each group's next word (`id device`); `veen id --help` lists `device add|disable`.
      const word = c.path[1] ?? c.path[0]!;
      assert.ok(root.out.includes(word), `root help lacks ${c.path.join(" ")}`);
      const h = await veen(["help", ...c.path]);
      assert.equal(h.code, 0, c.path.join(" "));
      assert.equal(h.out, commandHelp(c) + "\n", c.path.join(" "));
    }
  }
  assert.match(root.out, /tls-info/);
  // Each flag is listed once in a command's help (its own flags, then the global ones it does not declare).
  for (const c of PROGRAM.sections.flatMap((s) => s.commands)) {
    const listed = commandHelp(c).split("\n").flatMap((l) => /^ {2}--([a-z0-9-]+)/.exec(l)?.[1] ?? []);
    assert.deepEqual(listed, [...new Set(listed)], c.path.join(" "));
  }
  assert.equal((await veen(["help", "nope"])).code, 1);
});

Deno.test("veen hub lists every hub subcommand; an unknown one is exit 1 even with --help", async () => {
  const hub = PROGRAM.sections.flatMap((s) => s.commands).filter((c) => c.path[0] === "hub");
  assert.ok(hub.length >= 10);
  for (const args of [["hub"], ["hub", "--help"]]) {
    const r = await veen(args);
    assert.equal(r.code, args.length === 1 ? 1 : 0);
    for (const c of hub) {
      assert.match(r.out, new RegExp(`^  veen ${c.path.join(" ")} `, "m"), c.path.join(" "));
    }
  }
  const p = await veen(["hub", "nope", "--help"]);
  assert.equal(p.code, 1);
  assert.match(p.err, /^E\.USAGE: Unknown subcommand "veen hub nope"/);
  assert.equal(p.out, "");
  // Groups nest: `kube job` lists its two subcommands.
  const job = await veen(["kube", "job"]);
  assert.equal(job.code, 1);
  assert.match(job.out, /^ {2}veen kube job send +/m);
  assert.match(job.out, /^ {2}veen kube job stream +/m);
  const nope = await veen(["kube", "job", "nope", "--help"]);
  assert.equal(nope.code, 1);
  assert.match(nope.err, /^E\.USAGE: Unknown subcommand "veen kube job nope"; try: send, stream/);
  const run = await veen(["hub", "run", "--help"]);
  assert.match(run.out, /foreground/);
});

Deno.test("veen-hub with flags and no subcommand is refused before anything is created", async () => {
  const root = await Deno.makeTempDir();
  try {
    const r = await veen(["veen-hub", "--listen=127.0.0.1:0", `--data-dir=${root}/d`]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^E\.USAGE: "veen hub" needs a subcommand \(start, run, stop, /);
    assert.equal(await exists(`${root}/d`), false);
    assert.deepEqual(findCommand(PROGRAM.sections.flatMap((s) => s.commands), ["hub", "run"])?.cmd.path, [
      "hub",
      "run",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a config typo is a config error (E.CONFIG, exit 1), not a wire code, and touches nothing", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/bad.toml`, "nope = 1\n");
    for (const fg of [[], ["--foreground"]]) {
      const typo = await veen([
        "hub",
        "start",
        ...fg,
        "--data-dir",
        `${root}/d`,
        "--config",
        `${root}/bad.toml`,
      ]);
      assert.equal(typo.code, 1);
      assert.match(typo.err, /^E\.CONFIG: Unknown config key "nope"/);
      const listen = await veen(["hub", "start", ...fg, "--data-dir", `${root}/d`, "--listen", "nowhere"]);
      assert.equal(listen.code, 1);
      assert.match(listen.err, /^E\.CONFIG: Cannot parse listen address "nowhere"/);
      const j = await veen([
        "hub",
        "start",
        ...fg,
        "--data-dir",
        `${root}/d`,
        "--listen",
        "nowhere",
        "--json",
      ]);
      assert.equal(JSON.parse(j.out).code, "E.CONFIG");
      assert.equal(await exists(`${root}/d`), false);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("detached and foreground hub start report an unusable data dir the same way (E.UNAVAILABLE, exit 2)", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.symlink(`${root}/nowhere`, `${root}/dangling`);
    const args = ["hub", "start", "--data-dir", `${root}/dangling`, "--listen", "127.0.0.1:0"];
    const detached = await veen(args);
    const foreground = await veen([...args, "--foreground"]);
    assert.equal(detached.code, 2);
    assert.equal(foreground.code, 2);
    assert.match(detached.err, /^E\.UNAVAILABLE: Cannot use data dir /);
    assert.equal(foreground.err, detached.err);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a hub start on a busy port fails (exit 2) before it creates the data dir or a hub key", async () => {
  const root = await Deno.makeTempDir();
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const listen = `127.0.0.1:${(busy.addr as Deno.NetAddr).port}`;
    for (const fg of [[], ["--foreground"]]) {
      const r = await veen(["hub", "start", ...fg, "--data-dir", `${root}/d`, "--listen", listen]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, new RegExp(`^E\\.UNAVAILABLE: Cannot listen on ${listen}`));
      assert.equal(await exists(`${root}/d`), false, "data dir created");
    }
  } finally {
    busy.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("argv[0] aliases: veen-hub, veen-bridge, veen-selftest and veen-cli", () => {
  assert.deepEqual(withRole(["start", "--data-dir", "d"], "veen-hub"), ["hub", "start", "--data-dir", "d"]);
  assert.deepEqual(withRole(["hub", "start"], "veen-hub"), ["hub", "start"]);
  assert.deepEqual(withRole(["--from", "u"], "veen-bridge"), ["bridge", "--from", "u"]);
  assert.deepEqual(withRole(["core"], "veen-selftest"), ["selftest", "core"]);
  assert.deepEqual(withRole(["send", "--hub", "h"], "veen-cli"), ["send", "--hub", "h"]);
  assert.deepEqual(withRole(["veen-cli", "keygen"], undefined), ["keygen"]);
  assert.deepEqual(withRole(["veen-hub", "stop"], "veen"), ["hub", "stop"]);
  // Global flags before the command words, help and version read as they do for `veen`.
  assert.deepEqual(withRole(["--json", "status"], "veen-hub"), ["--json", "hub", "status"]);
  assert.deepEqual(withRole(["--timeout-ms", "5", "status"], "veen-hub"), [
    "--timeout-ms",
    "5",
    "hub",
    "status",
  ]);
  assert.deepEqual(withRole(["help", "status"], "veen-hub"), ["help", "hub", "status"]);
  assert.deepEqual(withRole(["--help"], "veen-hub"), ["--help", "hub"]);
  assert.deepEqual(withRole(["version"], "veen-selftest"), ["version"]);
});

Deno.test("an alias answers help, version and leading global flags as veen does", async () => {
  const prev = Deno.env.get("VEEN_ARGV0");
  Deno.env.set("VEEN_ARGV0", "veen-hub");
  try {
    const help = await veen(["help", "status"]);
    assert.equal(help.code, 0, help.err);
    assert.match(help.out, /^usage: veen hub status /);
    const group = await veen(["--help"]);
    assert.equal(group.code, 0, group.err);
    assert.match(group.out, /^ {2}veen hub status /m);
    assert.equal((await veen(["--version"])).code, 0);
    const j = await veen(["--json", "status"]);
    assert.equal(j.code, 1);
    assert.deepEqual(JSON.parse(j.out), {
      ok: false,
      code: "E.USAGE",
      detail: "Missing required flag --hub (or set VEEN_HUB)",
    });
  } finally {
    if (prev === undefined) Deno.env.delete("VEEN_ARGV0");
    else Deno.env.set("VEEN_ARGV0", prev);
  }
  // Global flags between the command words (what the installed veen-hub wrapper passes on: `hub --json status`).
  for (const args of [["hub", "--json", "status"], ["hub", "--timeout-ms", "5", "--json", "status"]]) {
    const r = await veen(args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(JSON.parse(r.out).detail, "Missing required flag --hub (or set VEEN_HUB)", args.join(" "));
  }
  const code = await veen(["explain-error", "--json", "E.SIG"]);
  assert.equal(code.code, 0, code.err);
  assert.equal(JSON.parse(code.out).code, "E.SIG");
  // `veen --help GROUP` is help, exit 0, like `veen GROUP --help`.
  assert.equal((await veen(["--help", "hub"])).code, 0);
});

Deno.test("kube backup and restore fail like every command: usage exit 1, E.* exit 4, JSON under --json, help", async () => {
  for (const sub of ["backup", "restore"]) {
    const r = await veen(["kube", sub, "--json"]);
    assert.equal(r.code, 1);
    assert.equal(r.err, "");
    assert.deepEqual(JSON.parse(r.out), {
      ok: false,
      code: "E.USAGE",
      detail: "Missing required flag --cluster-context",
    });
    const uri = sub === "backup" ? "--target-uri" : "--source-uri";
    const where = sub === "backup" ? "ftp://x/y" : "/nonexistent/veen-backup";
    const args = ["--json", "kube", sub, "--cluster-context", "c", "--namespace", "n", "--name", "a"];
    const bad = await veen([...args, "--snapshot-name", "s", uri, where]);
    assert.equal(bad.code, sub === "backup" ? 1 : 4, bad.out);
    assert.equal(JSON.parse(bad.out).ok, false);
    const h = await veen(["kube", sub, "--help"]);
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, new RegExp(`^usage: veen kube ${sub} --cluster-context CTX`));
  }
});

Deno.test("a failed selftest is a failure like every command's: code and detail under --json, stderr under --quiet", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hub = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
  closed.close();
  const args = ["selftest", "core", "--seed", "1", "--hub", hub];
  const j = await veen([...args, "--json"]);
  assert.equal(j.code, 5);
  const doc = JSON.parse(j.out);
  assert.equal(doc.ok, false);
  assert.equal(doc.code, "E.SELFTEST");
  assert.match(doc.detail, /^core\/setup: /);
  assert.deepEqual(doc.failed_steps, ["core/setup"]);
  const q = await veen([...args, "--quiet"]);
  assert.equal(q.code, 5);
  assert.equal(q.out, "");
  assert.match(q.err, /^E\.SELFTEST: core\/setup: /);
  const t = await veen(args);
  assert.equal(t.code, 5);
  assert.match(t.out, /^result: FAIL at step core\/setup: /m);
  assert.equal(t.err, q.err);
});

Deno.test("the veen commands a kube Job runs parse as veen commands (every flag kube job passes on exists)", async () => {
  const pid = "1db91032b4bf4cd8b9f56a782b299458e6f782d3a1276f04c50c7b02651038ca";
  const common = ["--cluster-context", "c", "--namespace", "n", "--hub-service", "h", "--client-secret", "s"];
  const jobs = [
    [
      "send",
      ...common,
      "--stream",
      "st",
      "--body",
      "{}",
      "--cap-secret",
      "cs",
      "--profile-id",
      pid,
      "--timeout-ms",
      "5",
    ],
    ["stream", ...common, "--stream", "st", "--from", "2", "--with-proof"],
  ];
  const commands = PROGRAM.sections.flatMap((s) => s.commands);
  for (const job of jobs) {
    const r = await veen(["kube", "job", ...job, "--dry-run", "--json"]);
    assert.equal(r.code, 0, r.err);
    const container = JSON.parse(r.out).spec.template.spec.containers[0];
    assert.deepEqual(container.command, ["veen"]);
    const args = container.args as string[];
    const found = findCommand(commands, args);
    assert.ok(found !== undefined, args.join(" "));
    parseFlags(args.slice(found.used), [...found.cmd.flags, ...GLOBAL_FLAGS], found.cmd.positionals ?? 0);
  }
});
