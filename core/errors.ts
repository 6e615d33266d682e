/**
 * The one error type of VEEN. Every failure a user can see carries a stable spec code (spec 004 §13, plus
 * E.NOT_FOUND and E.UNAVAILABLE from the wire decisions); HTTP status and CLI exit code are defined here once.
 */

/** The error codes of spec 004 §13 plus the two non-admission codes of the wire decisions. */
export const ERROR_CODES = [
  "E.SIZE",
  "E.SIG",
  "E.SEQ",
  "E.CAP",
  "E.AUTH",
  "E.RATE",
  "E.PROFILE",
  "E.DUP",
  "E.TIME",
  "E.NOT_FOUND",
  "E.UNAVAILABLE",
] as const;

export type ErrorCode = typeof ERROR_CODES[number];

/** HTTP status for each code (OP0.1 and the wire decisions). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  "E.SIZE": 413,
  "E.RATE": 429,
  "E.AUTH": 403,
  "E.CAP": 403,
  "E.PROFILE": 400,
  "E.TIME": 400,
  "E.SIG": 409,
  "E.SEQ": 409,
  "E.DUP": 409,
  "E.NOT_FOUND": 404,
  "E.UNAVAILABLE": 503,
};

/** One line per code, for `veen explain-error`. */
export const ERROR_EXPLANATIONS: Readonly<Record<ErrorCode, string>> = {
  "E.SIZE": "bounds violation: input too large, truncated, undecodable or non-canonical CBOR",
  "E.SIG": "signature failure: MSG.sig, hub_sig, checkpoint or capability link does not verify",
  "E.SEQ": "sequence invariant violation: client_seq not last+1, prev_ack ahead of the label, or a gap",
  "E.CAP": "capability failure: invalid sig_chain, expired ttl, stream not allowed or subject mismatch",
  "E.AUTH": "missing or invalid authorization record for auth_ref",
  "E.RATE":
    "rate limit exceeded for (auth_ref, label) or for auth_ref's attachment uploads (retry after the indicated " +
    "seconds), or auth_ref's attachment byte quota is used up",
  "E.PROFILE": "unsupported profile_id or profile parameters",
  "E.DUP": "duplicate leaf or message already accepted under this label",
  "E.TIME": "epoch or time window failure (label epoch, ttl clock, or skew)",
  "E.NOT_FOUND": "the requested label, sequence, checkpoint or object does not exist",
  "E.UNAVAILABLE": "the hub is overloaded, not ready, or unreachable; retry later",
};

/** CLI exit codes (CLI-GOALS-1): 0 ok, 1 usage, 2 transport, 3 malformed hub response, 4 hub E.* or failed check, 5 selftest. */
export const EXIT = { OK: 0, USAGE: 1, TRANSPORT: 2, MALFORMED: 3, CHECK: 4, SELFTEST: 5 } as const;

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === "string" && (ERROR_CODES as readonly string[]).includes(s);
}

/** A VEEN failure with its spec code; `retryAfter` (seconds) accompanies E.RATE and E.UNAVAILABLE. */
export class VeenError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, detail: string, options?: { retryAfter?: number; cause?: unknown }) {
    super(`${code}: ${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "VeenError";
    this.code = code;
    this.detail = detail;
    this.retryAfter = options?.retryAfter;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

/** Wraps any thrown value as a VeenError with `code` unless it already is one. */
export function asVeenError(e: unknown, code: ErrorCode, context: string): VeenError {
  if (e instanceof VeenError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new VeenError(code, `${context}: ${msg}`, { cause: e });
}
