/**
 * The one place where CLI failures become exit codes (CLI-GOALS-1 conventions, `EXIT` in core/errors.ts):
 * 0 ok, 1 usage, 2 transport, 3 malformed hub response, 4 hub E.* error or failed check, 5 selftest failure.
 *
 * Commands throw either a core `VeenError` (a hub error body or a failed local check: exit 4) or a `CliError`
 * naming its kind. A failure may carry a `report`: the partial result (text lines and JSON fields) that the
 * error handler prints before the error itself, for commands such as `verify-state` that answer "no" with exit 4.
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

/** A CLI failure with its kind, the code shown to the user and an optional partial report. */
export class CliError extends Error {
  readonly kind: FailureKind;
  readonly code: string;
  readonly detail: string;
  readonly report: FailureReport | undefined;

  constructor(
    kind: FailureKind,
    detail: string,
    options?: { code?: string; cause?: unknown; report?: FailureReport },
  ) {
    const code = options?.code ?? DEFAULT_CODE[kind];
    super(`${code}: ${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    this.kind = kind;
    this.code = code;
    this.detail = detail;
    this.report = options?.report;
  }
}

/** A usage error (exit 1): unknown command, missing or malformed flag, unreadable input file. */
export function usageError(detail: string): CliError {
  return new CliError("usage", detail);
}

/** A transport failure (exit 2): hub unreachable, timed out, or no running hub at a data directory. */
export function transportError(detail: string, cause?: unknown): CliError {
  return new CliError("transport", detail, cause === undefined ? undefined : { cause });
}

/** A malformed hub answer (exit 3): undecodable CBOR/JSON, wrong shape, or a body that is not what was asked. */
export function malformedError(detail: string, cause?: unknown): CliError {
  const code = cause instanceof VeenError ? cause.code : undefined;
  return new CliError("malformed", detail, {
    ...(code === undefined ? {} : { code }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A failed check (exit 4) with the spec code of `e` and a partial report to print first. */
export function checkFailure(e: VeenError, report: FailureReport): CliError {
  return new CliError("check", e.detail, { code: e.code, cause: e, report });
}

/** Exit code for any thrown value: VeenError is 4, CliError its kind, anything else (a bug) 1. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) return EXIT_BY_KIND[e.kind];
  if (e instanceof VeenError) return EXIT.CHECK;
  return EXIT.USAGE;
}

/**
 * The `code` and `detail` printed for any thrown value; a hub error that says when to retry (E.RATE, E.UNAVAILABLE
 * with Retry-After or `retry_after`) adds `retry_after` (seconds) to the JSON answer.
 */
export function describeFailure(
  e: unknown,
): { code: string; detail: string; report: FailureReport | undefined } {
  if (e instanceof CliError) return { code: e.code, detail: e.detail, report: e.report };
  if (e instanceof VeenError) {
    const report = e.retryAfter === undefined
      ? undefined
      : { json: { retry_after: Math.ceil(e.retryAfter) } };
    return { code: e.code, detail: e.detail, report };
  }
  const detail = e instanceof Error ? e.message : String(e);
  return { code: "E.INTERNAL", detail, report: undefined };
}
