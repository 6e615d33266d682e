/**
 * The strict flag parser of every command. `node:util` parseArgs cannot express `--dump-raw MSG RECEIPT` (two values), so
 * each flag declares its arity here. Flags are `--name value`, `--name=value` (arity 1) or `--name` (arity 0);
 * repeated flags are errors unless declared `multiple`; unknown flags and missing values are usage errors.
 *
 * Empty values: `--name ""` and `--name=` give the flag the value "". `bool`, `str`, `list` and `pair` report it as
 * given; `req` treats it as missing (`Missing required flag --name`), because no required flag names a file, hub,
 * stream or Kubernetes object by the empty string. A flag whose empty value is data (a CRDT key, value or element) is
 * read with `req(name, { allowEmpty: true })`.
 */
import { fromHex } from "../core/mod.ts";
import { usageError } from "./errors.ts";

export interface FlagSpec {
  /** Name without the leading dashes. */
  name: string;
  /** Number of values after the flag (default 1). */
  arity?: 0 | 1 | 2;
  multiple?: boolean;
  required?: boolean;
  /** Other spellings (without dashes), e.g. CORE-GOALS names. */
  aliases?: string[];
  /** Value placeholder for help, e.g. "DIR". */
  metavar?: string;
  help: string;
}

/** Flags every command accepts (CLI-GOALS-1 conventions). */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: "json", arity: 0, help: "print only JSON on stdout" },
  { name: "quiet", arity: 0, aliases: ["q"], help: "suppress successful output" },
  { name: "verbose", arity: 0, aliases: ["v"], help: "print diagnostics on stderr" },
  { name: "timeout-ms", metavar: "N", help: "HTTP timeout per request (default 10000)" },
  { name: "help", arity: 0, aliases: ["h"], help: "show help" },
];

/** Parsed flags with typed accessors; every accessor throws a usage error for bad input. */
export class Flags {
  readonly #values: Map<string, string[][]>;
  readonly positionals: readonly string[];

  constructor(values: Map<string, string[][]>, positionals: string[]) {
    this.#values = values;
    this.positionals = positionals;
  }

  /** True when the flag was given. */
  bool(name: string): boolean {
    return this.#values.has(name);
  }

  /** The single value of a flag, or undefined. */
  str(name: string): string | undefined {
    return this.#values.get(name)?.[0]?.[0];
  }

  /** The single value of a required flag; absent or "" is a usage error unless `allowEmpty` (see above). */
  req(name: string, opts: { allowEmpty?: boolean } = {}): string {
    const v = this.str(name);
    if (v === undefined || (v === "" && opts.allowEmpty !== true)) {
      throw usageError(`Missing required flag --${name}`);
    }
    return v;
  }

  /** Every value of a `multiple` flag, in order. */
  list(name: string): string[] {
    return (this.#values.get(name) ?? []).map((v) => v[0]!);
  }

  /** The values of an arity-2 flag. */
  pair(name: string): [string, string] | undefined {
    const v = this.#values.get(name)?.[0];
    return v === undefined ? undefined : [v[0]!, v[1]!];
  }

  /** A non-negative integer flag. */
  int(name: string, opts: { min?: number; max?: number } = {}): number | undefined {
    const s = this.str(name);
    if (s === undefined) return undefined;
    return parseUint(s, `--${name}`, opts);
  }
}

/**
 * Parses a decimal integer within bounds for `what` (e.g. "--poll-ms"); a usage error otherwise. Signs,
 * fractions, exponents and values outside `min..max` (default 0..2^53-1) are all refused.
 */
export function parseUint(s: string, what: string, opts: { min?: number; max?: number } = {}): number {
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(`${what} must be an integer from ${min} to ${max}, not "${s}"`);
  }
  return n;
}

/** Parses 32 bytes given as 64 hex characters on the command line; usage error otherwise. */
export function parseHex32(s: string, flag: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(s)) throw usageError(`${flag} must be 64 hex characters`);
  return fromHex(s, 32);
}

/** Parses `argv` against `specs` (the command's flags plus GLOBAL_FLAGS). */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], maxPositionals = 0): Flags {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    for (const a of s.aliases ?? []) byName.set(a, s);
  }
  const values = new Map<string, string[][]>();
  const positionals: string[] = [];
  let i = 0;
  let onlyPositionals = false;
  while (i < argv.length) {
    const tok = argv[i++]!;
    if (onlyPositionals || !tok.startsWith("-") || tok === "-") {
      positionals.push(tok);
      continue;
    }
    if (tok === "--") {
      onlyPositionals = true;
      continue;
    }
    const body = tok.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (spec === undefined) throw usageError(`Unknown flag ${tok.split("=")[0]}`);
    const arity = spec.arity ?? 1;
    let vals: string[];
    if (eq >= 0) {
      if (arity !== 1) throw usageError(`Flag --${spec.name} does not take "=value"`);
      vals = [body.slice(eq + 1)];
    } else {
      vals = argv.slice(i, i + arity) as string[];
      if (vals.length < arity || vals.some((v) => v.startsWith("--"))) {
        throw usageError(`Flag --${spec.name} needs ${arity === 1 ? "a value" : `${arity} values`}`);
      }
      i += arity;
    }
    const prev = values.get(spec.name);
    if (prev !== undefined && !spec.multiple) throw usageError(`Flag --${spec.name} given more than once`);
    values.set(spec.name, [...(prev ?? []), vals]);
  }
  if (positionals.length > maxPositionals) {
    throw usageError(`Unexpected argument "${positionals[maxPositionals]}"`);
  }
  for (const s of specs) {
    if (s.required && !values.has(s.name)) throw usageError(`Missing required flag --${s.name}`);
  }
  return new Flags(values, positionals);
}

/** One help line per flag, aligned. */
export function flagHelp(specs: readonly FlagSpec[]): string[] {
  const left = specs.map((s) => {
    const arity = s.arity ?? 1;
    const mv = s.metavar ?? "VALUE";
    const vals = arity === 0 ? "" : arity === 1 ? ` ${mv}` : ` ${mv}`;
    return `  --${s.name}${vals}`;
  });
  const w = Math.max(...left.map((l) => l.length)) + 2;
  return specs.map((s, i) => {
    const tags = [s.required ? "required" : "", s.multiple ? "repeatable" : ""].filter((t) => t !== "");
    const text = s.help + (tags.length > 0 ? `${s.help === "" ? "" : " "}(${tags.join(", ")})` : "");
    return text === "" ? left[i]! : left[i]!.padEnd(w) + text;
  });
}
