/**
 * Commands as table entries, and the one runner every role shares: it finds the command spelled by the first
 * words, prints generated help (`--help`, `help CMD`, group listings), parses the flags strictly, runs the handler
 * and turns any failure into its printed form (`CODE: detail`, or `{"ok":false,code,detail}` under --json) and its
 * exit code (errors.ts). Adding a command is one {@link Command} in a role's table.
 */
import { describeFailure, exitCodeOf, usageError } from "./errors.ts";
import { flagHelp, type Flags, type FlagSpec, GLOBAL_FLAGS, parseFlags } from "./flags.ts";
import { type Io, Output } from "./io.ts";

/** What every handler receives: parsed flags, the output writer, the environment and the global settings. */
export interface CommandContext {
  flags: Flags;
  out: Output;
  io: Io;
  /** `--timeout-ms`, else the program's default. */
  timeoutMs: number;
  /** The arguments after the command words, as given (a detaching `hub start` passes them on). */
  argv: readonly string[];
}

/** A command: its spelling(s), help and handler. The handler returns the exit code (0) or throws. */
export interface Command {
  /** Primary spelling, e.g. ["cap", "issue"]. */
  path: string[];
  /** Other spellings (CORE-GOALS names), e.g. [["verify-attachment"]]. */
  aliases?: string[][];
  summary: string;
  usage: string;
  /** Further help paragraphs printed after the usage line. */
  details?: string;
  flags: FlagSpec[];
  /** Largest number of positional arguments accepted. */
  positionals?: number;
  run(ctx: CommandContext): Promise<number>;
}

/** A titled group of commands in the root help. */
export interface Section {
  title: string;
  commands: readonly Command[];
}

/** A command-line program: its name, its commands by section, and optional hooks. */
export interface Program {
  name: string;
  sections: readonly Section[];
  /** `--timeout-ms` when not given. */
  defaultTimeoutMs: number;
  /** Rewrites the arguments after the command words before parsing (e.g. `--env F --hub-name N` to `--hub`). */
  prepare?(cmd: Command, argv: string[]): Promise<string[]>;
}

/** A command whose handler lives in a module loaded only when it runs (keeps start-up light). */
export function lazy<M>(
  load: () => Promise<M>,
  pick: (m: M) => (ctx: CommandContext) => Promise<number>,
): (ctx: CommandContext) => Promise<number> {
  return async (ctx) => await pick(await load())(ctx);
}

function commandsOf(p: Program): Command[] {
  return p.sections.flatMap((s) => s.commands);
}

/** Finds the command spelled by the first words of `words` (longest match, aliases included). */
export function findCommand(
  commands: readonly Command[],
  words: readonly string[],
): { cmd: Command; used: number } | undefined {
  let best: { cmd: Command; used: number } | undefined;
  for (const cmd of commands) {
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

/** The commands of group `prefix` (those spelled `PREFIX... SUB ...`, e.g. `hub` or `kube job`). */
function groupOf(commands: readonly Command[], prefix: readonly string[]): Command[] {
  return commands.filter((c) => c.path.length > prefix.length && prefix.every((w, i) => c.path[i] === w));
}

/** The longest group spelled by the first words of `words` (empty when the first word names none). */
function longestGroup(commands: readonly Command[], words: readonly string[]): string[] {
  let n = 0;
  while (n < words.length && groupOf(commands, words.slice(0, n + 1)).length > 0) n++;
  return words.slice(0, n) as string[];
}

const EXIT_LINE =
  "exit codes: 0 ok, 1 usage or config, 2 transport, 3 malformed hub response, 4 hub E.* error or failed check, " +
  "5 selftest";

/** The root help: one line per command or group, by section, then the global flags and exit codes. */
export function rootHelp(p: Program): string {
  const lines = [`usage: ${p.name} COMMAND [FLAGS]    (${p.name} help COMMAND or ${p.name} COMMAND --help)`];
  for (const s of p.sections) {
    lines.push("", `${s.title}:`);
    const seen = new Set<string>();
    const rows: [string, string][] = [];
    for (const c of s.commands) {
      const word = c.path[0]!;
      if (seen.has(word)) continue;
      seen.add(word);
      const group = s.commands.filter((x) => x.path[0] === word && x.path.length > 1);
      // The next word only (`id device`, not `id device add|disable|expire`): `veen id --help` lists the rest.
      const subs = [...new Set(group.map((x) => x.path[1]!))].join(", ");
      const alone = s.commands.find((x) => x.path.length === 1 && x.path[0] === word);
      rows.push([
        word,
        alone === undefined ? subs : `${alone.summary}${subs === "" ? "" : `; also ${word} ${subs}`}`,
      ]);
    }
    const w = Math.max(...rows.map(([l]) => l.length)) + 2;
    for (const [l, r] of rows) {
      lines.push(...wrap(r, 108 - w).map((t, i) => `  ${(i === 0 ? l : "").padEnd(w)}${t}`));
    }
  }
  lines.push("", "global flags:", ...flagHelp(GLOBAL_FLAGS), "", EXIT_LINE);
  return lines.join("\n");
}

/** Splits `text` at spaces into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...out, line];
}

/** The listing of one group (`veen hub`, `veen kube job`): every subcommand with its summary. */
export function groupHelp(p: Program, prefix: readonly string[]): string {
  const group = groupOf(commandsOf(p), prefix);
  const w = Math.max(...group.map((c) => c.path.join(" ").length)) + p.name.length + 3;
  const g = prefix.join(" ");
  return [
    `usage: ${p.name} ${g} SUBCOMMAND [FLAGS]    (${p.name} ${g} SUBCOMMAND --help for one)`,
    "",
    ...group.map((c) => `  ${`${p.name} ${c.path.join(" ")}`.padEnd(w)}${c.summary}`),
  ].join("\n");
}

/** One command's help screen, generated from its table entry. */
export function commandHelp(cmd: Command, name = "veen"): string {
  const aliases = (cmd.aliases ?? []).map((a) => `${name} ${a.join(" ")}`);
  return [
    `usage: ${cmd.usage}`,
    cmd.summary,
    ...(cmd.details === undefined ? [] : ["", cmd.details]),
    ...(aliases.length > 0 ? [`aliases: ${aliases.join(", ")}`] : []),
    "",
    ...(cmd.flags.length > 0 ? ["flags:", ...flagHelp(cmd.flags), ""] : []),
    "global flags:",
    // A global flag the command declares itself (kube job send --timeout-ms) is listed once, with its own text.
    ...flagHelp(GLOBAL_FLAGS.filter((g) => !cmd.flags.some((f) => f.name === g.name))),
  ].join("\n");
}

/** The global flags that take one value (`--timeout-ms N`), as spelled before the command words. */
const GLOBAL_WITH_VALUE = new Set(GLOBAL_FLAGS.filter((f) => (f.arity ?? 1) === 1).map((f) => `--${f.name}`));
const HELP_WORDS = new Set(["--help", "-h"]);
const GLOBAL_SPELLINGS = new Set(
  GLOBAL_FLAGS.flatMap((f) => [f.name, ...(f.aliases ?? [])]).flatMap((n) => [`--${n}`, `-${n}`]),
);

/** The index of the first command word of `args` after any global flags (with their values). */
export function firstWord(args: readonly string[]): number {
  let i = 0;
  while (i < args.length && GLOBAL_SPELLINGS.has(args[i]!.split("=")[0]!)) {
    i += GLOBAL_WITH_VALUE.has(args[i]!) ? 2 : 1;
  }
  return Math.min(i, args.length);
}

/**
 * The help screen `words` ask for (`help`, `help CMD...`, a group word alone), or undefined when they name a
 * command to run. Unknown names are usage errors.
 */
function helpFor(p: Program, words: readonly string[]): { text: string; exit: number } | undefined {
  const commands = commandsOf(p);
  if (words.length === 0) return { text: rootHelp(p), exit: 1 };
  if (words[0] === "help") {
    const rest = words.slice(1);
    if (rest.length === 0) return { text: rootHelp(p), exit: 0 };
    const found = findCommand(commands, rest);
    if (found !== undefined && found.used === rest.length) {
      return { text: commandHelp(found.cmd, p.name), exit: 0 };
    }
    const group = longestGroup(commands, rest);
    if (group.length > 0 && group.length === rest.length) return { text: groupHelp(p, group), exit: 0 };
    throw unknown(p, rest);
  }
  return undefined;
}

function unknown(p: Program, words: readonly string[]): Error {
  const commands = commandsOf(p);
  const prefix = longestGroup(commands, words);
  if (prefix.length === 0) {
    return usageError(`Unknown command "${words[0]}" (${p.name} --help lists the commands)`);
  }
  const g = `${p.name} ${prefix.join(" ")}`;
  const sub = words[prefix.length];
  const names = groupOf(commands, prefix).map((c) => c.path.slice(prefix.length).join(" ")).join(", ");
  if (sub === undefined || sub.startsWith("-")) {
    return usageError(`"${g}" needs a subcommand (${names})${sub === undefined ? "" : `, got ${sub}`}`);
  }
  return usageError(`Unknown subcommand "${g} ${sub}"; try: ${names}`);
}

/**
 * Flags may come before the command words, and global flags also between them (`veen --json hub status`,
 * `veen hub --json status`, which an alias wrapper produces from `veen-hub --json status`): up to the first other
 * flag after a word they are lifted out, so `words` starts with the command words and `before` holds the flags.
 */
function liftGlobals(args: readonly string[]): { before: string[]; words: string[] } {
  const before: string[] = [];
  const words: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const t = args[i]!;
    if (!t.startsWith("-")) words.push(t);
    else if (t === "--" || (words.length > 0 && !GLOBAL_SPELLINGS.has(t.split("=")[0]!))) break;
    else {
      before.push(t);
      if (GLOBAL_WITH_VALUE.has(t) && i + 1 < args.length) before.push(args[++i]!);
    }
  }
  return { before, words: [...words, ...args.slice(i)] };
}

/** Runs one invocation of `p` and returns its exit code; `io` is injectable for tests. */
export async function runProgram(p: Program, args: readonly string[], io: Io): Promise<number> {
  // The output mode comes before parsing (a parse error is printed in it), in every spelling the parser accepts.
  const end = args.indexOf("--");
  const given = (name: string) => {
    const f = GLOBAL_FLAGS.find((g) => g.name === name)!;
    const spellings = [f.name, ...(f.aliases ?? [])].flatMap((n) => [`--${n}`, `-${n}`]);
    return (end < 0 ? args : args.slice(0, end)).some((a) => spellings.includes(a));
  };
  const out = new Output(io, { json: given("json"), quiet: given("quiet"), verbose: given("verbose") });
  try {
    const { before, words } = liftGlobals(args);
    const wantsHelp = args.some((a) => HELP_WORDS.has(a));
    const help = helpFor(p, words);
    if (help !== undefined) {
      out.help(help.text);
      return wantsHelp ? 0 : help.exit;
    }
    const commands = commandsOf(p);
    const found = findCommand(commands, words);
    if (found === undefined) {
      // `veen hub` and `veen hub --help` list the group; anything else not in the table is a usage error.
      const group = longestGroup(commands, words);
      const next = words[group.length];
      if (
        group.length > 0 &&
        (next === undefined || (HELP_WORDS.has(next) && words.length === group.length + 1))
      ) {
        out.help(groupHelp(p, group));
        return next === undefined && !wantsHelp ? 1 : 0;
      }
      throw unknown(p, words);
    }
    const { cmd, used } = found;
    if (wantsHelp) {
      out.help(commandHelp(cmd, p.name));
      return 0;
    }
    let argv = [...before, ...words.slice(used)];
    if (p.prepare !== undefined) argv = await p.prepare(cmd, argv);
    const flags = parseFlags(argv, [...cmd.flags, ...GLOBAL_FLAGS], cmd.positionals ?? 0);
    const timeoutMs = flags.int("timeout-ms", { min: 1, max: 3_600_000 }) ?? p.defaultTimeoutMs;
    return await cmd.run({ flags, out, io, timeoutMs, argv });
  } catch (e) {
    const { code, detail, report, retryAfter } = describeFailure(e);
    out.failure(code, detail, report, retryAfter);
    if (code === "E.INTERNAL" && e instanceof Error && e.stack !== undefined) out.debug(e.stack);
    return exitCodeOf(e);
  }
}

/**
 * Runs `name WORD ARGS...` against one role's table (the in-process entry points `hubMain`, `bridgeMain`, ...;
 * `args` follow the role word).
 */
export async function runRole(
  word: string,
  commands: readonly Command[],
  args: readonly string[],
  io: Io,
  defaultTimeoutMs = 10_000,
): Promise<number> {
  const p: Program = { name: "veen", sections: [{ title: word, commands }], defaultTimeoutMs };
  return await runProgram(p, [word, ...args], io);
}
