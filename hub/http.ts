/** HTTP plumbing for the hub: capped body reading, query parsing, and the one place errors become responses. */
import { concat, encodeErrorBody, fromHex, VeenError } from "../core/mod.ts";

export const CBOR = "application/cbor";
export const CBOR_SEQ = "application/cbor-seq";

/** Progress of one body read, shared with whoever bounds it in time (hub/body_limits.ts). */
export interface BodyWatch {
  /** Bytes received so far. */
  received: number;
  /** Set by the watcher to give up on the body: the read cancels and fails with this error. */
  abandoned?: VeenError;
  /** The watcher's handle to cancel the read while it waits for bytes. */
  cancel?: () => void;
}

/** The client went away before its request body was complete: no storage or protocol failure, nobody to answer. */
export class ClientGoneError extends Error {
  override readonly name = "ClientGoneError";
}

/**
 * Reads a request body through its stream, never holding more than `max` bytes: memory grows with the bytes
 * received, not with the declared content-length (`req.bytes()` allocates that before a byte arrives). A declared
 * length over `max` is E.SIZE without reading; so is a body that turns out longer. A stream that fails while we wait
 * is a {@link ClientGoneError}, unless `watch` abandoned the read (then its error).
 */
export async function readBodyCapped(req: Request, max: number, watch?: BodyWatch): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    await req.body?.cancel();
    throw new VeenError("E.SIZE", `Body of ${declared} bytes exceeds the ${max}-byte limit`);
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  if (watch !== undefined) watch.cancel = () => void reader.cancel().catch(() => {});
  let first: Uint8Array | undefined;
  let more: Uint8Array[] | undefined;
  let n = 0;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      if (watch?.abandoned !== undefined) throw watch.abandoned;
      throw new ClientGoneError(
        `Client went away after ${n} body bytes: ${e instanceof Error ? e.message : e}`,
      );
    }
    if (watch?.abandoned !== undefined) throw watch.abandoned;
    if (r.done) break;
    n += r.value.length;
    if (watch !== undefined) watch.received = n;
    if (n > max) {
      await reader.cancel().catch(() => {});
      throw new VeenError("E.SIZE", `Body exceeds the ${max}-byte limit`);
    }
    if (first === undefined) first = r.value;
    else (more ??= [first]).push(r.value);
  }
  if (declared !== null && n < Number(declared)) {
    throw new ClientGoneError(`Client went away after ${n} of ${declared} body bytes`);
  }
  return more !== undefined ? concat(...more) : first ?? new Uint8Array(0);
}

/**
 * Path and query string (without "?") of a request's absolute URL. Plain paths are cut out of the string;
 * `new URL` (a measurable share of a /submit) runs only when the path has dot segments, escapes or a fragment to
 * normalise.
 */
export function requestTarget(url: string): { path: string; query: string } {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const q = url.indexOf("?", start);
  const path = start < 0 ? "/" : url.slice(start, q < 0 ? url.length : q);
  if (start < 0 || /[.%\\#]/.test(path) || (q >= 0 && url.includes("#", q))) {
    const u = new URL(url);
    return { path: u.pathname, query: u.search.slice(1) };
  }
  return { path, query: q < 0 ? "" : url.slice(q + 1) };
}

/** The error response of every route: CBOR `{code, detail?, retry_after?}` with the code's HTTP status. */
export function errorResponse(e: VeenError): Response {
  const headers: Record<string, string> = { "content-type": CBOR };
  if (e.retryAfter !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(e.retryAfter)));
  return new Response(encodeErrorBody(e) as BodyInit, { status: e.httpStatus, headers });
}

export function cborResponse(body: Uint8Array, type = CBOR): Response {
  return new Response(body as BodyInit, { status: 200, headers: { "content-type": type } });
}

export function jsonResponse(v: unknown, status = 200): Response {
  return new Response(JSON.stringify(v), { status, headers: { "content-type": "application/json" } });
}

export function textResponse(s: string, status = 200, type = "text/plain; charset=utf-8"): Response {
  return new Response(s, { status, headers: { "content-type": type } });
}

/** Query helpers: each raises E.SIZE naming the parameter. */
export class Query {
  constructor(private readonly params: URLSearchParams) {}

  label(name = "label"): Uint8Array {
    const v = this.params.get(name);
    if (v === null) throw new VeenError("E.SIZE", `Query parameter "${name}" is required`);
    return fromHex(v, 32, name);
  }

  uint(name: string, dflt?: number): number {
    const v = this.params.get(name);
    if (v === null || v === "") {
      if (dflt === undefined) throw new VeenError("E.SIZE", `Query parameter "${name}" is required`);
      return dflt;
    }
    if (!/^\d{1,15}$/.test(v)) {
      throw new VeenError("E.SIZE", `Query parameter "${name}" must be an unsigned integer`);
    }
    return Number(v);
  }

  /** A text parameter; undefined when absent or empty. */
  text(name: string): string | undefined {
    const v = this.params.get(name);
    return v === null || v === "" ? undefined : v;
  }

  flag(name: string): boolean {
    const v = this.params.get(name);
    return v === "1" || v === "true";
  }

  /** The raw value of an optional parameter. */
  str(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  has(name: string): boolean {
    return this.params.has(name);
  }
}
