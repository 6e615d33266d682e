/**
 * The client side of the `veen` CLI (CLI-GOALS-1): command table, dispatch, help and the single error handler.
 * `mod.ts` at the repository root sends every command other than hub, bridge and selftest here.
 *
 * @example Run a command with captured output
 * ```ts
 * import assert from "node:assert/strict";
 * import { cliMain } from "./mod.ts";
 * import { captureIo } from "./output.ts";
 * const io = captureIo();
 * assert.equal(await cliMain(["schema-id", "wallet.transfer.v1"], io), 0);
 * assert.match(io.stdout(), /^[0-9a-f]{64}\n$/);
 * ```
 * @module
 */
import { flagHelp, GLOBAL_FLAGS, parseFlags } from "./args.ts";
import { anchorPublish, anchorVerify } from "./commands/anchor.ts";
import { attachmentVerify } from "./commands/attachment_verify.ts";
import { benchSend } from "./commands/bench.ts";
import { capAuthorize, capIssue, capStatus } from "./commands/cap.ts";
import { CRDT_COMMANDS } from "./commands/crdt.ts";
import { explainError } from "./commands/explain_error.ts";
import { hubCheckpoint, hubVerifyRotation } from "./commands/hub_checkpoint.ts";
import { hubId } from "./commands/hub_id.ts";
import { hubTlsInfo } from "./commands/hub_tls_info.ts";
import { hubMetrics } from "./commands/hub_metrics.ts";
import { hubHealth, hubKey, hubStatus } from "./commands/hub_status.ts";
import { idRotate, idShow, idUsage } from "./commands/id.ts";
import { keygen } from "./commands/keygen.ts";
import { resync } from "./commands/resync.ts";
import { rpcCall, rpcServe } from "./commands/rpc.ts";
import { schemaId } from "./commands/schema_id.ts";
import { send } from "./commands/send.ts";
import { stream } from "./commands/stream.ts";
import { verifyReceipt } from "./commands/verify_receipt.ts";
import { verifyState } from "./commands/verify_state.ts";
import type { Command } from "./context.ts";
import { describeFailure, exitCodeOf, usageError } from "./exit_codes.ts";
import { DEFAULT_TIMEOUT_MS } from "./http_client.ts";
import { type Io, Output, processIo } from "./output.ts";

export type { Io } from "./output.ts";
export { captureIo, processIo } from "./output.ts";

/** Every client command, in help order. */
export const COMMANDS: readonly Command[] = [
  keygen,
  idShow,
  idRotate,
  idUsage,
  send,
  stream,
  attachmentVerify,
  verifyReceipt,
  capIssue,
  capAuthorize,
  capStatus,
  resync,
  verifyState,
  benchSend,
  explainError,
  schemaId,
  hubId,
  hubTlsInfo,
  hubStatus,
  hubKey,
  hubHealth,
  hubMetrics,
  hubCheckpoint,
  hubVerifyRotation,
  rpcCall,
  rpcServe,
  ...CRDT_COMMANDS,
  anchorPublish,
  anchorVerify,
];

/** Finds the command spelled by the first words of `words` (longest match, aliases included). */
export function findCommand(words: readonly string[]): { cmd: Command; used: number } | undefined {
  let best: { cmd: Command; used: number } | undefined;
  for (const cmd of COMMANDS) {
    for (const p of [cmd.path, ...(cmd.aliases ?? [])]) {
      if (
        p.length <= words.length && p.every((w, i) => words[i] === w) &&
        (best === undefined || p.length > best.used)
      ) {
        best = { cmd, used: p.length };
      }
    }
  }
  return best;
}

/** The global help screen. */
export function globalHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.path.join(" ").length)) + 2;
  return [
    "usage: veen COMMAND [FLAGS]    (veen COMMAND --help for one command)",
    "",
    "client commands:",
    ...COMMANDS.map((c) => `  ${c.path.join(" ").padEnd(w)}${c.summary}`),
    "",
    "global flags:",
    ...flagHelp(GLOBAL_FLAGS),
    "",
    "exit codes: 0 ok, 1 usage, 2 transport, 3 malformed hub response, 4 hub E.* error or failed check, 5 selftest",
  ].join("\n");
}

/** One command's help screen. */
export function commandHelp(cmd: Command): string {
  const aliases = (cmd.aliases ?? []).map((a) => `veen ${a.join(" ")}`);
  return [
    `usage: ${cmd.usage}`,
    cmd.summary,
    ...(aliases.length > 0 ? [`aliases: ${aliases.join(", ")}`] : []),
    "",
    ...(cmd.flags.length > 0 ? ["flags:", ...flagHelp(cmd.flags), ""] : []),
    "global flags:",
    ...flagHelp(GLOBAL_FLAGS),
  ].join("\n");
}

/** The global flags that take one value (`--timeout-ms N`), as spelled before the command words. */
const GLOBAL_WITH_VALUE = new Set(GLOBAL_FLAGS.filter((f) => (f.arity ?? 1) === 1).map((f) => `--${f.name}`));

/** Runs one CLI invocation and returns its exit code; `io` is injectable for tests. */
export async function cliMain(args: string[], io: Io = processIo()): Promise<number> {
  const out = new Output(io, {
    json: args.includes("--json"),
    quiet: args.includes("--quiet"),
    verbose: args.includes("--verbose"),
  });
  try {
    // Global flags may come before the command words.
    const before: string[] = [];
    let i = 0;
    while (i < args.length && args[i]!.startsWith("-")) {
      const t = args[i++]!;
      before.push(t);
      if (GLOBAL_WITH_VALUE.has(t) && i < args.length) before.push(args[i++]!);
    }
    const words = args.slice(i);
    const wantsHelp = args.includes("--help") || args.includes("-h");
    if (words.length === 0 || words[0] === "help") {
      const sub = words[0] === "help" ? findCommand(words.slice(1)) : undefined;
      out.help(sub === undefined ? globalHelp() : commandHelp(sub.cmd));
      return words.length === 0 && !wantsHelp ? 1 : 0;
    }
    const found = findCommand(words);
    if (found === undefined) {
      const group = COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === words[0]);
      if (group.length > 0) {
        if (wantsHelp) {
          out.help(group.map((c) => `  ${c.path.join(" ")}: ${c.summary}`).join("\n"));
          return 0;
        }
        throw usageError(
          `Unknown subcommand "${words.slice(0, 2).join(" ")}"; try: ${
            group.map((c) => c.path.join(" ")).join(", ")
          }`,
        );
      }
      throw usageError(`Unknown command "${words[0]}" (veen --help lists the commands)`);
    }
    const { cmd, used } = found;
    if (wantsHelp) {
      out.help(commandHelp(cmd));
      return 0;
    }
    const flags = parseFlags(
      [...before, ...words.slice(used)],
      [...cmd.flags, ...GLOBAL_FLAGS],
      cmd.positionals ?? 0,
    );
    const timeoutMs = flags.int("timeout-ms", { min: 1, max: 3_600_000 }) ?? DEFAULT_TIMEOUT_MS;
    return await cmd.run({ flags, out, io, timeoutMs });
  } catch (e) {
    const { code, detail, report } = describeFailure(e);
    out.failure(code, detail, report);
    if (code === "E.INTERNAL" && e instanceof Error && e.stack !== undefined) out.debug(e.stack);
    return exitCodeOf(e);
  }
}

if (import.meta.main) {
  Deno.exit(await cliMain(Deno.args));
}

// Client pieces other roles reuse (bridge/, selftest/).
export { HubHttp, type HubInfo, type StreamItem } from "./http_client.ts";
export { describeFailure, exitCodeOf } from "./exit_codes.ts";
