/**
 * Shared plumbing of `veen env` and `veen kube`: an injectable process environment (tests capture output and put a
 * fake `kubectl` first on PATH), the one error type with its exit code, flag parsing and the output rules.
 *
 * Output rules (same as cli/): errors print `E.CODE: detail` on stderr and exit 1 (usage), 2 (transport: kubectl
 * missing or the cluster unreachable), 3 (malformed answer), 4 (E.* error or failed check). Under `--json` stdout
 * carries only JSON: `{"ok":true,...}` for answers, `{"ok":false,"code","detail"}` for failures (the `E.CODE`
 * line still goes to stderr). `kube render --json` (a JSON array) and `env show --json` (the file verbatim) are the
 * two documents the spec fixes otherwise.
 */
import { parseArgs } from "node:util";
import { concat, EXIT } from "../core/mod.ts";

export interface OpsIo {
  writeOut(s: string | Uint8Array): void;
  writeErr(s: string | Uint8Array): void;
  env(name: string): string | undefined;
  /** Extra environment for child processes (kubectl); the rest is inherited. */
  childEnv: Record<string, string>;
  /** Unix time in milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

function writeAll(f: { writeSync(p: Uint8Array): number }, s: string | Uint8Array): void {
  let b = typeof s === "string" ? new TextEncoder().encode(s) : s;
  while (b.length > 0) b = b.subarray(f.writeSync(b));
}

export function processIo(): OpsIo {
  return {
    writeOut: (s) => writeAll(Deno.stdout, s),
    writeErr: (s) => writeAll(Deno.stderr, s),
    env: (name) => Deno.env.get(name),
    childEnv: {},
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

export interface CapturedIo extends OpsIo {
  stdout(): string;
  stderr(): string;
}

/**
 * An OpsIo that records output; `env` is both what the commands read and what child processes get. Its clock is
 * virtual: `sleep(ms)` returns at once and advances `now()` by ms.
 */
export function captureIo(env: Record<string, string> = {}, opts: { now?: number } = {}): CapturedIo {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const enc = (s: string | Uint8Array) => (typeof s === "string" ? new TextEncoder().encode(s) : s.slice());
  const join = (parts: Uint8Array[]) => new TextDecoder().decode(concat(...parts));
  let clock = opts.now ?? 1_700_000_000_000;
  return {
    writeOut: (s) => void out.push(enc(s)),
    writeErr: (s) => void err.push(enc(s)),
    env: (name) => env[name] ?? (name === "PATH" ? Deno.env.get("PATH") : undefined),
    childEnv: env,
    now: () => clock,
    sleep: (ms) => {
      clock += ms;
      return Promise.resolve();
    },
    stdout: () => join(out),
    stderr: () => join(err),
  };
}

/** The one failure type of ops/: a printed code, a detail and the exit code. */
export class OpsError extends Error {
  readonly code: string;
  readonly detail: string;
  readonly exitCode: number;
  /** Text printed on stdout (text mode) before the error line, e.g. a failed Job's output. */
  readonly lines: string[];

  constructor(code: string, detail: string, exitCode: number, lines: string[] = []) {
    super(`${code}: ${detail}`);
    this.name = "OpsError";
    this.code = code;
    this.detail = detail;
    this.exitCode = exitCode;
    this.lines = lines;
  }
}

export const usage = (detail: string): OpsError => new OpsError("E.USAGE", detail, EXIT.USAGE);
export const transport = (detail: string): OpsError => new OpsError("E.UNAVAILABLE", detail, EXIT.TRANSPORT);
export const malformed = (detail: string): OpsError => new OpsError("E.SIZE", detail, EXIT.MALFORMED);
export const check = (code: string, detail: string, lines: string[] = []): OpsError =>
  new OpsError(code, detail, EXIT.CHECK, lines);

export type FlagSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

/** Flags every env/kube subcommand accepts. */
const COMMON_FLAGS: FlagSpec = {
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
};

export type Flags = Record<string, string | boolean | string[] | undefined>;

/** Strict flag parsing: unknown flags, stray positionals and missing values are usage errors. */
function parseFlags(args: string[], spec: FlagSpec): Flags {
  try {
    const { values } = parseArgs({
      args,
      options: { ...COMMON_FLAGS, ...spec },
      strict: true,
      allowPositionals: false,
    });
    return values as Flags;
  } catch (e) {
    throw usage((e as Error).message);
  }
}

export function str(f: Flags, name: string): string | undefined {
  const v = f[name];
  return typeof v === "string" ? v : undefined;
}

export function req(f: Flags, name: string): string {
  const v = str(f, name);
  if (v === undefined || v === "") throw usage(`Missing required flag --${name}`);
  return v;
}

export function list(f: Flags, name: string): string[] {
  const v = f[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}

export function int(f: Flags, name: string, min: number, max: number): number | undefined {
  const v = str(f, name);
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw usage(`--${name} must be an integer from ${min} to ${max}, not "${v}"`);
  }
  return Number(v);
}

export interface Mode {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

function modeOf(f: Flags): Mode {
  return { json: f.json === true, quiet: f.quiet === true && f.json !== true, verbose: f.verbose === true };
}

/** Prints a command's answer: `{"ok":true,...}` under --json, else the text lines unless --quiet. */
export function result(io: OpsIo, mode: Mode, json: Record<string, unknown>, lines: readonly string[]): void {
  if (mode.json) io.writeOut(JSON.stringify({ ok: true, ...json }) + "\n");
  else if (!mode.quiet && lines.length > 0) io.writeOut(lines.map((l) => l + "\n").join(""));
}

/** Runs one subcommand body and turns any failure into its printed form and exit code. */
async function runCommand(
  io: OpsIo,
  args: string[],
  body: (mode: Mode) => Promise<number>,
): Promise<number> {
  const mode: Mode = { json: args.includes("--json"), quiet: false, verbose: false };
  try {
    return await body(mode);
  } catch (e) {
    const err = e instanceof OpsError
      ? e
      : new OpsError("E.INTERNAL", e instanceof Error ? e.message : String(e), EXIT.USAGE);
    if (mode.json) {
      io.writeOut(JSON.stringify({ ok: false, code: err.code, detail: err.detail }) + "\n");
    } else if (err.lines.length > 0) {
      io.writeOut(err.lines.map((l) => l + "\n").join(""));
    }
    io.writeErr(`${err.code}: ${err.detail}\n`);
    return err.exitCode;
  }
}

/** One subcommand of `veen env` or `veen kube`: its flags and its body. */
export interface Subcommand {
  flags: FlagSpec;
  run: (io: OpsIo, f: Flags, mode: Mode) => Promise<number>;
}

/** `veen env` or `veen kube`: its word, top help, subcommands and each subcommand's --help text. */
interface Tool {
  name: string;
  help: string;
  commands: Record<string, Subcommand>;
  helps: Record<string, string>;
}

/** Answers a subcommand word itself (an exit code) or names the subcommand to run and its arguments. */
type Route = (sub: string, rest: string[]) => number | { sub: string; rest: string[] };

/**
 * `veen TOOL SUB [flags]` (`args` follow the word TOOL; a leading TOOL word is skipped): no SUB prints the top
 * help and exits 1, `--help`, `-h` or `help` prints it and exits 0; then `route` answers SUB or names the
 * subcommand. An unknown subcommand is a usage error followed by the top help; `SUB --help` prints its own help.
 */
export async function dispatch(
  io: OpsIo,
  tool: Tool,
  args: string[],
  route: Route = (sub, rest) => ({ sub, rest }),
): Promise<number> {
  const [word, ...words] = args[0] === tool.name ? args.slice(1) : args;
  if (word === undefined || word === "--help" || word === "-h" || word === "help") {
    io.writeOut(tool.help + "\n");
    return word === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const routed = route(word, words);
  if (typeof routed === "number") return routed;
  const { sub, rest } = routed;
  const cmd = tool.commands[sub];
  if (cmd === undefined) {
    io.writeErr(`E.USAGE: unknown subcommand "veen ${tool.name} ${sub}"\n${tool.help}\n`);
    return EXIT.USAGE;
  }
  return await runCommand(io, rest, async () => {
    const f = parseFlags(rest, cmd.flags);
    if (f.help === true) {
      io.writeOut(tool.helps[sub] + "\n");
      return EXIT.OK;
    }
    return await cmd.run(io, f, modeOf(f));
  });
}

/** Reads a file the user named; a missing or unreadable file is a usage error. */
export async function readUserFile(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw usage(`Cannot read ${what} "${path}": ${e instanceof Error ? e.message : String(e)}`);
  }
}
