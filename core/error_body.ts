/** Error body of every endpoint (spec 004 §13, wire decisions): CBOR map `{code, detail?, retry_after?}` with text keys. */
import { type CborValue, decodeCbor, encodeCbor } from "./cbor.ts";
import { isErrorCode, VeenError } from "./errors.ts";

export function encodeErrorBody(e: VeenError): Uint8Array {
  const m = new Map<string, CborValue>([["code", e.code]]);
  if (e.detail !== "") m.set("detail", e.detail);
  if (e.retryAfter !== undefined) m.set("retry_after", Math.max(0, Math.ceil(e.retryAfter)));
  return encodeCbor(m);
}

/** Parses an error body into a VeenError; returns undefined when the bytes are not a well-formed error body. */
export function decodeErrorBody(bytes: Uint8Array): VeenError | undefined {
  let v: CborValue;
  try {
    v = decodeCbor(bytes, "error body");
  } catch {
    return undefined;
  }
  if (!(v instanceof Map)) return undefined;
  for (const k of v.keys()) if (k !== "code" && k !== "detail" && k !== "retry_after") return undefined;
  const code = v.get("code");
  const detail = v.get("detail");
  const retry = v.get("retry_after");
  if (!isErrorCode(code)) return undefined;
  if (detail !== undefined && typeof detail !== "string") return undefined;
  if (retry !== undefined && typeof retry !== "number") return undefined;
  return new VeenError(code, detail ?? "", retry === undefined ? undefined : { retryAfter: retry });
}
