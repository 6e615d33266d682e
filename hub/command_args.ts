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

/**
 * Parses `args` strictly (no positionals). A parse error prints `usage: <why>` and `help` to stderr and returns
 * EXIT.USAGE; --help prints `help` and returns EXIT.OK.
 */
export function parseFlags<const O extends Options>(
  args: string[],
  options: O,
  help: string,
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
): { flags: Flags; dir: string } | number {
  const flags: Flags | number = parseFlags(args, options, help);
  if (typeof flags === "number") return flags;
  const dir = (flags["data-dir"] as string | undefined) ?? Deno.env.get("VEEN_DATA_DIR");
  if (!dir) {
    console.error(`usage: --data-dir is required\n${help}`);
    return EXIT.USAGE;
  }
  return { flags, dir };
}
