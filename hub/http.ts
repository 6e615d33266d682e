/** HTTP plumbing for the hub: capped body reading, query parsing, and the one place errors become responses. */
import { concat, encodeErrorBody, fromHex, VeenError } from "../core/mod.ts";

export const CBOR = "application/cbor";
export const CBOR_SEQ = "application/cbor-seq";

/** Reads a request body, never buffering more than `max` bytes (E.SIZE beyond). */
export async function readBodyCapped(req: Request, max: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    await req.body?.cancel();
    throw new VeenError("E.SIZE", `Body of ${declared} bytes exceeds the ${max}-byte limit`);
  }
  if (req.body === null) return new Uint8Array(0);
  if (declared !== null) {
    const b = new Uint8Array(await req.arrayBuffer());
    if (b.length > max) throw new VeenError("E.SIZE", `Body exceeds the ${max}-byte limit`);
    return b;
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel();
      throw new VeenError("E.SIZE", `Body exceeds the ${max}-byte limit`);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : concat(...chunks);
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

  flag(name: string): boolean {
    const v = this.params.get(name);
    return v === "1" || v === "true";
  }

  has(name: string): boolean {
    return this.params.has(name);
  }
}
