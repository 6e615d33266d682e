/** `veen explain-error E.CODE` (CLI-GOALS-1 §8.2): one line per code from core ERROR_EXPLANATIONS; unknown codes exit 1. */
import { ERROR_CODES, ERROR_EXPLANATIONS, isErrorCode } from "../../core/mod.ts";
import type { Command } from "../context.ts";
import { usageError } from "../../cmd/mod.ts";

export const explainError: Command = {
  path: ["explain-error"],
  summary: "explain an E.* error code (all codes without an argument)",
  usage: "veen explain-error [E.CODE]",
  flags: [],
  positionals: 1,
  run(ctx) {
    const arg = ctx.flags.positionals[0];
    const codes = arg === undefined
      ? [...ERROR_CODES]
      : [arg.toUpperCase().startsWith("E.") ? arg.toUpperCase() : `E.${arg.toUpperCase()}`];
    for (const c of codes) {
      if (!isErrorCode(c)) throw usageError(`Unknown error code "${arg}"; known: ${ERROR_CODES.join(" ")}`);
    }
    const list = codes.filter(isErrorCode);
    ctx.out.result(
      arg === undefined
        ? { codes: list.map((c) => ({ code: c, explanation: ERROR_EXPLANATIONS[c] })) }
        : { code: list[0], explanation: ERROR_EXPLANATIONS[list[0]!] },
      list.map((c) => `${c}: ${ERROR_EXPLANATIONS[c]}`),
    );
    return Promise.resolve(0);
  },
};
