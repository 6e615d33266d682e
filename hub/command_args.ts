/** Flag handling shared by the hub's commands (`veen hub start|stop|fsck`, `veen retention`). */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT } from "../core/mod.ts";

/** Parsed flags by name. */
export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The typed values `parseArgs` gives for `options` (a string option with a default is a string, and so on). */
export type FlagValues<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>["values"];

/** Inclusive bounds of an integer flag. */
export interface IntBounds {
  min: number;
  max: number;
}

/**
 * Why `v` is not a decimal integer within `b` for flag `--name` (undefined when it is one): non-numeric, signed,
 * fractional and out-of-range values are all refused.
 */
export function intFlagProblem(v: string, name: string, b: IntBounds): string | undefined {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (Number.isSafeInteger(n) && n >= b.min && n <= b.max) return undefined;
  return `--${name} must be an integer from ${b.min} to ${b.max}, not "${v}"`;
}

/**
 * Parses `args` strictly (no positionals); the flags named in `ints` must be integers within their bounds. A parse
 * error prints `usage: <why>` and `help` to stderr and returns EXIT.USAGE; --help prints `help` and returns EXIT.OK.
 */
export function parseFlags<const O extends Options>(
  args: string[],
  options: O,
  help: string,
  ints: Record<string, IntBounds> = {},
): FlagValues<O> | number {
  let flags: FlagValues<O>;
  try {
    flags = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    console.error(`usage: ${(e as Error).message}\n${help}`);
    return EXIT.USAGE;
  }
  if ((flags as Flags).help) {
    console.log(help);
    return EXIT.OK;
  }
  for (const [name, bounds] of Object.entries(ints)) {
    const v = (flags as Flags)[name];
    for (const one of v === undefined ? [] : Array.isArray(v) ? v : [v]) {
      const why = intFlagProblem(String(one), name, bounds);
      if (why !== undefined) {
        console.error(`usage: ${why}\n${help}`);
        return EXIT.USAGE;
      }
    }
  }
  return flags;
}

/**
 * {@link parseFlags} plus the data dir: --data-dir, else VEEN_DATA_DIR; without either prints
 * `usage: --data-dir is required` and `help` to stderr and returns EXIT.USAGE.
 */
export function parseDataDirFlags(
  args: string[],
  options: Options,
  help: string,
  ints: Record<string, IntBounds> = {},
): { flags: Flags; dir: string } | number {
  const flags: Flags | number = parseFlags(args, options, help, ints);
  if (typeof flags === "number") return flags;
  const dir = (flags["data-dir"] as string | undefined) ?? Deno.env.get("VEEN_DATA_DIR");
  if (!dir) {
    console.error(`usage: --data-dir is required\n${help}`);
    return EXIT.USAGE;
  }
  return { flags, dir };
}
