/**
 * `veen`: one program for every role. This file only dispatches: `veen hub start|stop` to hub/, `veen bridge` to
 * bridge/, `veen selftest` to selftest/, `veen bench` to selftest/bench, everything else to cli/. `veen-hub`,
 * `veen-bridge` and `veen-selftest` are aliases, chosen by argv[0] (compiled binary or launcher symlink) or by the
 * first word.
 */
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
const HUB_PROCESS = new Set(["start", "run", "stop"]);

export async function main(argv: string[]): Promise<number> {
  const invokedAs = Deno.env.get("VEEN_ARGV0") ??
    (Deno.build.standalone ? Deno.execPath().split("/").pop() : undefined);
  let args = [...argv];
  const alias = invokedAs === undefined ? undefined : ALIASES[invokedAs];
  if (alias !== undefined) args = [alias, ...args];
  else if (args[0] !== undefined && ALIASES[args[0]] !== undefined) args[0] = ALIASES[args[0]]!;

  const [cmd, ...rest] = args;
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
      if (rest[0] === undefined || HUB_PROCESS.has(rest[0]) || rest[0] === "--help" || rest[0] === "fsck") {
        return await (await import("./hub/mod.ts")).hubMain(rest);
      }
      return await (await import("./cli/mod.ts")).cliMain(args);
    case "selftest":
      return await (await import("./selftest/mod.ts")).selftestMain(rest);
    case "bench":
      return await (await import("./selftest/mod.ts")).benchMain(rest);
    case "bridge":
      return await (await import("./bridge/mod.ts")).bridgeMain(rest);
    default:
      return await (await import("./cli/mod.ts")).cliMain(args);
  }
}

if (import.meta.main) {
  const code = await main(Deno.args);
  Deno.exit(code);
}
