/**
 * The argument and output layer of `veen env` and `veen kube` on top of the command framework (cmd/): each tool's
 * subcommands (flags as a record, a body, a help text) become framework commands, so parsing, `--help`, `--json`
 * failures and exit codes are the same as every other role's. Tests capture output and put a fake `kubectl` first
 * on PATH through an injectable Io.
 *
 * Exit codes: 1 usage, 2 transport (kubectl missing or the cluster unreachable), 3 malformed answer, 4 E.* error or
 * failed check. `kube render --json` (a JSON array) and `env show --json` (the file verbatim) are the two documents
 * the spec fixes otherwise.
 */
import {
  type CapturedIo,
  captureIo as captureCmdIo,
  type Command,
  CommandError,
  type Flags,
  type Io,
  Output,
  type OutputMode,
  processIo,
  runRole,
  transportError,
  usageError,
} from "../cmd/mod.ts";
import { flagHelpText } from "./flag_help.ts";

export type OpsIo = Io;
export type { CapturedIo };
export { processIo };

/** A captured Io with a virtual clock: `sleep(ms)` returns at once and advances `now()` by ms. */
export function captureIo(env: Record<string, string> = {}, opts: { now?: number } = {}): CapturedIo {
  return captureCmdIo(env, { virtualClock: opts.now ?? 1_700_000_000_000 });
}

export const usage = (detail: string): CommandError => usageError(detail);
export const transport = (detail: string): CommandError => transportError(detail);
export const malformed = (detail: string): CommandError => new CommandError("malformed", detail);
/** A failed check (exit 4) with `code`; `lines` (e.g. a failed Job's output) print on stdout before the error. */
export const check = (code: string, detail: string, lines: string[] = []): CommandError =>
  new CommandError("check", detail, { code, report: { lines } });

export type FlagSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

export type Mode = OutputMode;

/** Prints a command's answer: `{"ok":true,...}` under --json, else the text lines unless --quiet. */
export function result(io: OpsIo, mode: Mode, json: Record<string, unknown>, lines: readonly string[]): void {
  new Output(io, mode).result(json, lines);
}

/** One subcommand of `veen env` or `veen kube`: its flags and its body. */
export interface Subcommand {
  flags: FlagSpec;
  run: (io: OpsIo, f: Flags, mode: Mode) => Promise<number>;
}

/** `veen env` or `veen kube`: its word, top help, subcommands and each subcommand's --help text. */
export interface Tool {
  name: string;
  help: string;
  commands: Record<string, Subcommand>;
  helps: Record<string, string>;
}

/** A subcommand's help text split into its usage lines (the first and its indented continuations) and the rest. */
function splitHelp(text: string): { usage: string; details: string } {
  const lines = text.split("\n");
  let n = 1;
  while (n < lines.length && /^\s/.test(lines[n]!)) n++;
  return { usage: lines.slice(0, n).join("\n").replace(/^Usage: /, ""), details: lines.slice(n).join("\n") };
}

/** The subcommands of `tool` as framework commands (`veen TOOL SUB...`). */
export function toolCommands(tool: Tool): Command[] {
  return Object.entries(tool.commands).map(([sub, c]) => {
    const { usage, details } = splitHelp(tool.helps[sub] ?? `veen ${tool.name} ${sub}`);
    const listed = new RegExp(`^  ${sub}\\s{2,}(.*)$`, "m").exec(tool.help)?.[1];
    const first = /^[^.]*\.?/.exec(details.replaceAll("\n", " "))?.[0] ?? sub;
    return {
      path: [tool.name, ...sub.split(" ")],
      summary: listed ?? first.replace(/\.$/, ""),
      usage,
      ...(listed === undefined && details.replaceAll("\n", " ").trim() === first.trim() ? {} : { details }),
      flags: Object.entries(c.flags).map(([name, s]) => ({
        name,
        arity: s.type === "boolean" ? 0 as const : 1 as const,
        ...(s.multiple ? { multiple: true } : {}),
        ...(s.short === undefined ? {} : { aliases: [s.short] }),
        // The metavar as the usage text spells it (`--env FILE`).
        metavar: new RegExp(`--${name} ([A-Za-z][A-Za-z0-9_.|,:-]*)`).exec(usage)?.[1] ?? "VALUE",
        help: flagHelpText(tool.name, sub, name),
      })),
      run: (ctx) => c.run(ctx.io, ctx.flags, ctx.out.mode),
    };
  });
}

/** `veen TOOL SUB [flags]` (`args` follow the word TOOL; a leading TOOL word is skipped) through the framework. */
export async function dispatch(io: OpsIo, tool: Tool, args: string[]): Promise<number> {
  return await runRole(tool.name, toolCommands(tool), args[0] === tool.name ? args.slice(1) : args, io);
}

/** Reads a file the user named; a missing or unreadable file is a usage error. */
export async function readUserFile(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw usage(`Cannot read ${what} "${path}": ${e instanceof Error ? e.message : String(e)}`);
  }
}
