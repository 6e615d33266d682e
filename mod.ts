/**
 * `veen`: one program for every role. This file only dispatches: `veen hub start|stop` to hub/, `veen bridge` to
 * bridge/, `veen selftest` to selftest/, `veen bench` to selftest/bench, everything else to cli/. `veen-hub`,
 * `veen-bridge` and `veen-selftest` are aliases, chosen by argv[0] (compiled binary or launcher symlink) or by the
 * first word.
 */
import process from "node:process";
import { EXIT } from "./core/mod.ts";
import { versionLine } from "./version.ts";

const HELP = `veen — Verifiable End-to-End Network

Usage: veen <command> [flags]      (veen <command> --help for details)

Hub operator:  hub start|stop|status|key|health|metrics|checkpoint|fsck|verify-rotation, hub-id, retention
Client:        keygen, id show|rotate|usage, send, stream, attachment verify, verify-receipt,
               cap issue|authorize|status, resync, verify-state, explain-error, schema-id
Overlays:      rpc call|serve, crdt lww|orset|counter, anchor publish|verify
Tools:         selftest core|props|fuzz|all, bench, bridge, env, kube, version

Global flags: --json --quiet --verbose --timeout-ms N --help
Exit codes: 0 ok, 1 usage, 2 transport, 3 malformed hub response, 4 E.* error or failed check, 5 selftest failure`;

const ALIASES: Record<string, string> = {
  "veen-hub": "hub",
  "veen-bridge": "bridge",
  "veen-selftest": "selftest",
};
const HUB_PROCESS = new Set(["start", "run", "stop", "fsck"]);

/**
 * `--env FILE --hub-name NAME` works wherever `--hub` does (CLI-GOALS-3): it becomes `--hub URL` from the
 * environment descriptor, unless `--hub` is given explicitly (which wins).
 */
async function resolveEnvHub(args: string[]): Promise<string[]> {
  const at = (flag: string) => args.findIndex((a) => a === flag || a.startsWith(flag + "="));
  const value = (i: number) =>
    args[i]!.includes("=") ? args[i]!.slice(args[i]!.indexOf("=") + 1) : args[i + 1];
  const e = at("--env");
  const n = at("--hub-name");
  if (e < 0 || n < 0) return args;
  const envFile = value(e);
  const hubName = value(n);
  const drop = new Set([e, n]);
  if (!args[e]!.includes("=")) drop.add(e + 1);
  if (!args[n]!.includes("=")) drop.add(n + 1);
  const rest = args.filter((_, i) => !drop.has(i));
  if (at("--hub") >= 0 || envFile === undefined || hubName === undefined) return rest;
  const { resolveHubFromEnv } = await import("./ops/mod.ts");
  return [...rest, "--hub", resolveHubFromEnv(envFile, hubName)];
}

export async function main(argv: string[]): Promise<number> {
  // argv[0], not Deno.execPath(): the latter resolves symlinks, so a `veen-hub` link would look like `veen`.
  const invokedAs = Deno.env.get("VEEN_ARGV0") ??
    (Deno.build.standalone ? process.argv0.split("/").pop() : undefined);
  let args = [...argv];
  const alias = invokedAs === undefined ? undefined : ALIASES[invokedAs];
  // `veen-hub start` and `veen-hub hub start` mean the same (a detached child re-runs itself with the role word).
  if (alias !== undefined && args[0] !== alias) args = [alias, ...args];
  else if (args[0] !== undefined && ALIASES[args[0]] !== undefined) args[0] = ALIASES[args[0]]!;

  const [cmd, ...rest] = args;
  try {
    return await dispatch(cmd, rest, args);
  } catch (e) {
    // Errors that escape a role's own handling (for example --env resolution) still get a code and an exit code.
    const code = (e as { code?: string }).code ?? "E.UNAVAILABLE";
    const msg = e instanceof Error ? e.message : String(e);
    console.error(msg.startsWith(code) ? msg : `${code}: ${msg}`);
    return (e as { exitCode?: number }).exitCode ?? EXIT.USAGE;
  }
}

async function dispatch(cmd: string | undefined, rest: string[], args: string[]): Promise<number> {
  switch (cmd) {
    case undefined:
      console.log(HELP);
      return EXIT.USAGE;
    case "--help":
    case "-h":
    case "help":
      console.log(HELP);
      return EXIT.OK;
    case "version":
    case "--version":
      console.log(versionLine());
      return EXIT.OK;
    case "hub":
      if (rest[0] === undefined || HUB_PROCESS.has(rest[0]) || rest[0] === "--help") {
        return await (await import("./hub/mod.ts")).hubMain(rest);
      }
      return await (await import("./cli/mod.ts")).cliMain(await resolveEnvHub(args));
    case "selftest":
      return await (await import("./selftest/mod.ts")).selftestMain(rest);
    case "bench":
      if (rest[0] === "send") return await (await import("./cli/mod.ts")).cliMain(await resolveEnvHub(args));
      return await (await import("./selftest/mod.ts")).benchMain(rest);
    case "bridge":
      return await (await import("./bridge/mod.ts")).bridgeMain(rest);
    case "retention":
      return await (await import("./hub/mod.ts")).retentionMain(rest);
    case "env":
      return await (await import("./ops/mod.ts")).envMain(rest);
    case "kube":
      return await (await import("./ops/mod.ts")).kubeMain(rest);
    default:
      return await (await import("./cli/mod.ts")).cliMain(await resolveEnvHub(args));
  }
}

if (import.meta.main) {
  const code = await main(Deno.args);
  Deno.exit(code);
}
