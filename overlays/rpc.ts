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
 * VEEN CBOR has no integers above 2^53-1, so `idem` and `timeout_ms` are at most 2^53-1.
 */
import { type CborValue, expectBytes, expectText, expectUint, schemaIdFor, VeenError } from "../core/mod.ts";
import { decodeTextMap, encodeTextMap } from "./text_map.ts";

export const RPC_KIND = "rpc.v1";
export const RPC_RES_KIND = "rpc.res.v1";
export const RPC_SCHEMA: Uint8Array = schemaIdFor(RPC_KIND);
export const RPC_RES_SCHEMA: Uint8Array = schemaIdFor(RPC_RES_KIND);

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
    throw new VeenError("E.SIZE", `rpc.v1 method must be 1..${MAX_METHOD_LEN} characters`);
  }
  return m;
}

export function encodeRpcRequest(r: RpcRequest): Uint8Array {
  checkMethod(r.method);
  if (r.replyTo !== undefined && r.replyTo.length !== 32) {
    throw new VeenError("E.SIZE", "rpc.v1 reply_to must be 32 bytes");
  }
  return encodeTextMap({
    method: r.method,
    args: r.args,
    timeout_ms: r.timeoutMs,
    reply_to: r.replyTo,
    idem: r.idem,
  });
}

/** Strict decoder: E.SIZE on unknown keys, missing method/args or wrong types. */
export function decodeRpcRequest(bytes: Uint8Array): RpcRequest {
  const m = decodeTextMap(
    bytes,
    ["method", "args", "timeout_ms", "reply_to", "idem"],
    ["method", "args"],
    "rpc.v1 body",
  );
  const r: RpcRequest = {
    method: checkMethod(expectText(m.get("method"), "rpc.v1 method")),
    args: m.get("args")!,
  };
  if (m.has("timeout_ms")) r.timeoutMs = expectUint(m.get("timeout_ms"), "rpc.v1 timeout_ms");
  if (m.has("reply_to")) r.replyTo = expectBytes(m.get("reply_to"), 32, "rpc.v1 reply_to");
  if (m.has("idem")) r.idem = expectUint(m.get("idem"), "rpc.v1 idem");
  return r;
}

export function encodeRpcReply(r: RpcReply): Uint8Array {
  if (r.ok) return encodeTextMap({ ok: true, result: r.result });
  return encodeTextMap({
    ok: false,
    error: new Map<string, CborValue>([
      ["code", r.error.code],
      ...(r.error.detail === undefined ? [] : [["detail", r.error.detail] as [string, CborValue]]),
    ]),
  });
}

/** Strict decoder; enforces "ok = true ⇒ result present, error absent; ok = false ⇒ error present". */
export function decodeRpcReply(bytes: Uint8Array): RpcReply {
  const m = decodeTextMap(bytes, ["ok", "result", "error"], ["ok"], "rpc.res.v1 body");
  const ok = m.get("ok");
  if (ok === true) {
    if (!m.has("result") || m.has("error")) {
      throw new VeenError("E.SIZE", "rpc.res.v1 with ok = true must carry result and no error");
    }
    return { ok: true, result: m.get("result")! };
  }
  if (ok !== false) throw new VeenError("E.SIZE", "rpc.res.v1 ok must be a boolean");
  const e = m.get("error");
  if (m.has("result") || !(e instanceof Map)) {
    throw new VeenError("E.SIZE", "rpc.res.v1 with ok = false must carry error and no result");
  }
  for (const k of e.keys()) {
    if (k !== "code" && k !== "detail") {
      throw new VeenError("E.SIZE", `rpc.res.v1 error has key ${String(k)}`);
    }
  }
  const error: RpcError = { code: expectText(e.get("code"), "rpc.res.v1 error.code") };
  if (e.has("detail")) error.detail = expectText(e.get("detail"), "rpc.res.v1 error.detail");
  return { ok: false, error };
}
