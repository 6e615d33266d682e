/**
 * `veen`: one program for every role. This file only assembles the roles' command tables (client commands from
 * cli/, hub and retention from hub/, env and kube from ops/, bridge, selftest and bench) into one program and runs
 * it through the command framework (cmd/): help, flag parsing, `--json` failures and exit codes are the same for
 * every command. `veen-hub`, `veen-bridge`, `veen-selftest` and `veen-cli` are aliases, chosen by argv[0]
 * (compiled binary or launcher symlink, or VEEN_ARGV0) or by the first word.
 */
import process from "node:process";
import {
  type Command,
  findCommand,
  firstWord,
  type Io,
  processIo,
  type Program,
  runProgram,
} from "./cmd/mod.ts";
import { COMMANDS as CLIENT_COMMANDS } from "./cli/mod.ts";
import { AIRGAP_COMMANDS, bridgeCommand } from "./bridge/mod.ts";
import { HUB_COMMANDS, RETENTION_COMMANDS } from "./hub/commands.ts";
import { BENCH_COMMAND, SELFTEST_COMMANDS } from "./selftest/commands.ts";
import { versionLine } from "./version.ts";

/** Binary names and the role word they stand for ("" for the client CLI itself). */
const ALIASES: Record<string, string> = {
  "veen-hub": "hub",
  "veen-bridge": "bridge",
  "veen-selftest": "selftest",
  "veen-cli": "",
};

const VERSION_COMMAND: Command = {
  path: ["version"],
  summary: "print the version",
  usage: "veen version",
  flags: [],
  run: (ctx) => {
    ctx.out.result({ version: versionLine() }, [versionLine()]);
    return Promise.resolve(0);
  },
};

const isHubCommand = (c: Command) => c.path[0] === "hub";
const isBench = (c: Command) => c.path[0] === "bench";

/** Every command of every role, by section of the root help; `ops` is the env/kube table (loaded on demand). */
function program(ops: readonly Command[]): Program {
  return {
    name: "veen",
    sections: [
      { title: "hub operator", commands: [...HUB_COMMANDS, ...CLIENT_COMMANDS.filter(isHubCommand)] },
      { title: "client", commands: CLIENT_COMMANDS.filter((c) => !isHubCommand(c) && !isBench(c)) },
      { title: "data dir", commands: RETENTION_COMMANDS },
      { title: "operations", commands: ops },
      {
        title: "tools",
        commands: [
          ...SELFTEST_COMMANDS,
          BENCH_COMMAND,
          ...CLIENT_COMMANDS.filter(isBench),
          bridgeCommand,
          ...AIRGAP_COMMANDS,
          VERSION_COMMAND,
        ],
      },
    ],
    defaultTimeoutMs: 10_000,
    prepare: (cmd, argv) => CLIENT_COMMANDS.includes(cmd) ? resolveEnvHub(cmd, argv) : Promise.resolve(argv),
  };
}

/** Every command of every role, env and kube included (what help and unknown names are checked against). */
export async function fullProgram(): Promise<Program> {
  return program((await import("./ops/mod.ts")).OPS_COMMANDS);
}

/**
 * `--env FILE --hub-name NAME` works wherever `--hub` does (CLI-GOALS-3 §4): it becomes `--hub URL` from the
 * environment descriptor, unless `--hub` is given explicitly (which wins), and `--profile-id` from it for a command
 * that takes one (`send`) and was not given one. `--env FILE` stays for a command with an `env` flag.
 */
async function resolveEnvHub(cmd: Command, args: string[]): Promise<string[]> {
  const at = (flag: string) => args.findIndex((a) => a === flag || a.startsWith(flag + "="));
  const value = (i: number) =>
    args[i]!.includes("=") ? args[i]!.slice(args[i]!.indexOf("=") + 1) : args[i + 1];
  const e = at("--env");
  const n = at("--hub-name");
  if (e < 0 || n < 0) return args;
  const envFile = value(e);
  const hubName = value(n);
  const drop = new Set([n]);
  if (!args[n]!.includes("=")) drop.add(n + 1);
  // A command that reads the descriptor itself (`audit summary --env`: its tenants) keeps `--env FILE`.
  if (!cmd.flags.some((f) => f.name === "env")) {
    drop.add(e);
    if (!args[e]!.includes("=")) drop.add(e + 1);
  }
  const rest = args.filter((_, i) => !drop.has(i));
  if (at("--hub") >= 0 || envFile === undefined || hubName === undefined) return rest;
  const { resolveHubEntryFromEnv } = await import("./ops/mod.ts");
  const hub = resolveHubEntryFromEnv(envFile, hubName);
  const profile = cmd.flags.some((f) => f.name === "profile-id") && at("--profile-id") < 0
    ? ["--profile-id", hub.profileId]
    : [];
  return [...rest, "--hub", hub.serviceUrl, ...profile];
}

/**
 * The arguments as the program reads them: the alias's role word before the command words (`veen-hub start` =
 * `veen hub start`, `veen-hub --json status` = `veen --json hub status`, `veen-hub help status` =
 * `veen help hub status`); `version` stays a word of its own.
 */
export function withRole(argv: readonly string[], invokedAs: string | undefined): string[] {
  const args = [...argv];
  const alias = invokedAs === undefined ? undefined : ALIASES[invokedAs];
  let i = firstWord(args);
  if (args[i] === "help" || args[i] === "version") i++;
  // `veen-hub start` and `veen-hub hub start` mean the same (a detached child re-runs itself with the role word).
  if (alias !== undefined && alias !== "" && args[i] !== alias && args[i - 1] !== "version") {
    return [...args.slice(0, i), alias, ...args.slice(i)];
  }
  if (args[0] !== undefined && ALIASES[args[0]] !== undefined) {
    const role = ALIASES[args[0]]!;
    return role === "" ? args.slice(1) : [role, ...args.slice(1)];
  }
  return args;
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  // argv[0], not Deno.execPath(): the latter resolves symlinks, so a `veen-hub` link would look like `veen`.
  const invokedAs = Deno.env.get("VEEN_ARGV0") ??
    (Deno.build.standalone ? process.argv0.split("/").pop() : undefined);
  const args = withRole(argv[0] === "--version" ? ["version", ...argv.slice(1)] : argv, invokedAs);
  // A command of the other roles runs without loading ops/; help and unknown names need every table.
  const lean = program([]);
  const named = findCommand(lean.sections.flatMap((s) => s.commands), args.filter((a) => !a.startsWith("-")));
  return await runProgram(named === undefined ? await fullProgram() : lean, args, io);
}

if (import.meta.main) {
  const code = await main(Deno.args);
  Deno.exit(code);
}
