/**
 * RPC0 message bodies (spec 004 §24). Requests and replies are ordinary sealed MSGs on one stream:
 *
 * - request: payload_hdr.schema = H("rpc.v1"), body `{method: text, args: CBOR, timeout_ms?: uint,
 *   reply_to?: bstr(32), idem?: uint}`. The request's msg_id is the correlation id.
 * - reply: payload_hdr.schema = H("rpc.res.v1"), payload_hdr.parent_id = the request's msg_id, body
 *   `{ok: bool, result?: CBOR, error?: {code: text, detail?: text}}`; ok = true ⇔ result present and error absent.
 *
 * This implementation gives `reply_to` one meaning: the requester's HPKE public key (its prekey), the key the
 * reply is sealed to. It sits inside the requester's sealed and signed payload, so MSG.sig binds it to the
 * requester's client_id and the hub never sees it. A request without reply_to cannot be answered end to end.
 *
 * Both bodies go through {@link BodyCodec} (overlay decisions, "Bodies and identifiers"): keys in the order RPC0.1
 * and RPC0.2 list them, `idem` (RPC0.3, given in prose only) last; optional keys omitted. VEEN CBOR has no integers
 * above 2^53-1, so `idem` and `timeout_ms` are at most 2^53-1.
 */
import { type CborValue, expectText, expectTextMap, VeenError } from "../core/mod.ts";
import { BodyCodec } from "./body_codec.ts";

export const RPC_KIND = "rpc.v1";
export const RPC_RES_KIND = "rpc.res.v1";

/** rpc.v1 body in RPC0.1's order, then RPC0.3's `idem`. */
export const RPC_REQUEST_BODY = new BodyCodec(RPC_KIND, [
  { name: "method", type: "text" },
  { name: "args", type: "any" },
  { name: "timeout_ms", type: "uint", optional: true },
  { name: "reply_to", type: "bytes32", optional: true },
  { name: "idem", type: "uint", optional: true },
]);

/**
 * rpc.res.v1 body in RPC0.2's order. The two shapes (ok with result, not ok with error) are checked after
 * decoding; `error` is `{code, detail?}`, whose RFC 8949 order (what `any` values use) is also the spec's.
 */
export const RPC_REPLY_BODY = new BodyCodec(RPC_RES_KIND, [
  { name: "ok", type: "bool" },
  { name: "result", type: "any", optional: true },
  { name: "error", type: "any", optional: true },
]);

export const RPC_SCHEMA: Uint8Array = RPC_REQUEST_BODY.schemaId;
export const RPC_RES_SCHEMA: Uint8Array = RPC_REPLY_BODY.schemaId;

/** Longest method name accepted. */
export const MAX_METHOD_LEN = 256;

export interface RpcRequest {
  method: string;
  args: CborValue;
  timeoutMs?: number;
  /** The requester's HPKE public key: the reply is sealed to it. */
  replyTo?: Uint8Array;
  idem?: number;
}

export interface RpcError {
  code: string;
  detail?: string;
}

export type RpcReply = { ok: true; result: CborValue } | { ok: false; error: RpcError };

function checkMethod(m: string): string {
  if (m.length === 0 || m.length > MAX_METHOD_LEN) {
    throw new VeenError("E.SIZE", `rpc.v1.method must be 1..${MAX_METHOD_LEN} characters`);
  }
  return m;
}

export function encodeRpcRequest(r: RpcRequest): Uint8Array {
  checkMethod(r.method);
  return RPC_REQUEST_BODY.encode({
    method: r.method,
    args: r.args,
    timeout_ms: r.timeoutMs,
    reply_to: r.replyTo,
    idem: r.idem,
  });
}

/** Strict decoder: E.SIZE on unknown, missing or misordered keys and wrong types. */
export function decodeRpcRequest(bytes: Uint8Array): RpcRequest {
  const b = RPC_REQUEST_BODY.decode(bytes);
  const r: RpcRequest = { method: checkMethod(b.method as string), args: b.args! };
  if (b.timeout_ms !== undefined) r.timeoutMs = b.timeout_ms as number;
  if (b.reply_to !== undefined) r.replyTo = b.reply_to as Uint8Array;
  if (b.idem !== undefined) r.idem = b.idem as number;
  return r;
}

export function encodeRpcReply(r: RpcReply): Uint8Array {
  if (r.ok) return RPC_REPLY_BODY.encode({ ok: true, result: r.result });
  return RPC_REPLY_BODY.encode({
    ok: false,
    error: new Map<string, CborValue>([
      ["code", r.error.code],
      ...(r.error.detail === undefined ? [] : [["detail", r.error.detail] as [string, CborValue]]),
    ]),
  });
}

/** Strict decoder; enforces "ok = true ⇒ result present, error absent; ok = false ⇒ error present, no result". */
export function decodeRpcReply(bytes: Uint8Array): RpcReply {
  const b = RPC_REPLY_BODY.decode(bytes);
  if (b.ok === true) {
    if (b.result === undefined || b.error !== undefined) {
      throw new VeenError("E.SIZE", "rpc.res.v1 with ok = true must carry result and no error");
    }
    return { ok: true, result: b.result };
  }
  if (b.result !== undefined || b.error === undefined) {
    throw new VeenError("E.SIZE", "rpc.res.v1 with ok = false must carry error and no result");
  }
  const e = expectTextMap(b.error, ["code", "detail"], ["code"], "rpc.res.v1.error");
  const error: RpcError = { code: expectText(e.get("code"), "rpc.res.v1.error.code") };
  if (e.has("detail")) error.detail = expectText(e.get("detail"), "rpc.res.v1.error.detail");
  return { ok: false, error };
}
