/** Flag handling shared by the hub's commands (`veen hub start|stop|fsck`, `veen retention`). */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT } from "../core/mod.ts";

/** Parsed flags by name. */
export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Parses `args` strictly (no positionals). A parse error prints `usage: <why>` and `help` to stderr and returns
 * EXIT.USAGE; --help prints `help` and returns EXIT.OK.
 */
export function parseFlags(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  help: string,
): Flags | number {
  let flags: Flags;
  try {
    flags = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    console.error(`usage: ${(e as Error).message}\n${help}`);
    return EXIT.USAGE;
  }
  if (flags.help) {
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
  options: NonNullable<ParseArgsConfig["options"]>,
  help: string,
): { flags: Flags; dir: string } | number {
  const flags = parseFlags(args, options, help);
  if (typeof flags === "number") return flags;
  const dir = (flags["data-dir"] as string | undefined) ?? Deno.env.get("VEEN_DATA_DIR");
  if (!dir) {
    console.error(`usage: --data-dir is required\n${help}`);
    return EXIT.USAGE;
  }
  return { flags, dir };
}
