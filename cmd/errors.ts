/**
 * The one place where command failures become exit codes, for every role (CLI-GOALS-1 conventions, `EXIT` in
 * core/errors.ts): 0 ok, 1 usage or config, 2 transport, 3 malformed hub response, 4 hub E.* error, policy refusal
 * or failed check, 5 selftest failure.
 *
 * Commands throw either a core `VeenError` (a hub error body or a failed local check: exit 4) or a
 * `CommandError` naming its kind. A failure may carry a `report`: the partial result (text lines and JSON fields)
 * that the error handler prints before the error itself, for commands such as `verify-state` that answer "no"
 * with exit 4.
 */
import { EXIT, VeenError } from "../core/mod.ts";

export type FailureKind = "usage" | "transport" | "malformed" | "check" | "selftest";

/** What a failing command still wants to show: text lines for stdout and extra fields for the JSON answer. */
export interface FailureReport {
  lines?: string[];
  json?: Record<string, unknown>;
}

const EXIT_BY_KIND: Readonly<Record<FailureKind, number>> = {
  usage: EXIT.USAGE,
  transport: EXIT.TRANSPORT,
  malformed: EXIT.MALFORMED,
  check: EXIT.CHECK,
  selftest: EXIT.SELFTEST,
};

/** Code printed for each kind when no spec E.* code applies. */
const DEFAULT_CODE: Readonly<Record<FailureKind, string>> = {
  usage: "E.USAGE",
  transport: "E.UNAVAILABLE",
  malformed: "E.SIZE",
  check: "E.CHECK",
  selftest: "E.SELFTEST",
};

/**
 * A command failure with its kind (hence its exit code), the code shown to the user and an optional partial
 * report. A `VeenError` it stands for is its `cause`; its `retryAfter` (seconds) is kept.
 */
export class CommandError extends Error {
  readonly kind: FailureKind;
  readonly code: string;
  readonly detail: string;
  readonly report: FailureReport | undefined;
  readonly retryAfter: number | undefined;

  constructor(
    kind: FailureKind,
    detail: string,
    options?: { code?: string; cause?: unknown; report?: FailureReport },
  ) {
    const code = options?.code ?? DEFAULT_CODE[kind];
    super(`${code}: ${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CommandError";
    this.kind = kind;
    this.code = code;
    this.detail = detail;
    this.report = options?.report;
    this.retryAfter = options?.cause instanceof VeenError ? options.cause.retryAfter : undefined;
  }

  get exitCode(): number {
    return EXIT_BY_KIND[this.kind];
  }
}

/** A usage error (exit 1): unknown command, missing or malformed flag, unreadable input file, bad config. */
export function usageError(detail: string, code?: string): CommandError {
  return new CommandError("usage", detail, code === undefined ? undefined : { code });
}

/** A transport failure (exit 2): hub unreachable, timed out, or no running hub at a data directory. */
export function transportError(detail: string, cause?: unknown): CommandError {
  return new CommandError("transport", detail, cause === undefined ? undefined : { cause });
}

/** A malformed hub answer (exit 3): undecodable CBOR/JSON, wrong shape, or a body that is not what was asked. */
export function malformedError(detail: string, cause?: unknown): CommandError {
  const code = cause instanceof VeenError ? cause.code : undefined;
  return new CommandError("malformed", detail, {
    ...(code === undefined ? {} : { code }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A failed check (exit 4) with the spec code of `e` and a partial report to print first. */
export function checkFailure(e: VeenError, report: FailureReport): CommandError {
  return new CommandError("check", e.detail, { code: e.code, cause: e, report });
}

/** Exit code for any thrown value: VeenError is 4, CommandError its kind, anything else (a bug) 1. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CommandError) return e.exitCode;
  if (e instanceof VeenError) return EXIT.CHECK;
  return EXIT.USAGE;
}

/** What is printed for a failure: code, detail, partial report and `retry_after` seconds where known. */
export interface FailureDescription {
  code: string;
  detail: string;
  report: FailureReport | undefined;
  retryAfter: number | undefined;
}

/** The `code`, `detail`, report and retry hint printed for any thrown value. */
export function describeFailure(e: unknown): FailureDescription {
  if (e instanceof CommandError) {
    return { code: e.code, detail: e.detail, report: e.report, retryAfter: e.retryAfter };
  }
  if (e instanceof VeenError) {
    return { code: e.code, detail: e.detail, report: undefined, retryAfter: e.retryAfter };
  }
  const detail = e instanceof Error ? e.message : String(e);
  return { code: "E.INTERNAL", detail, report: undefined, retryAfter: undefined };
}
