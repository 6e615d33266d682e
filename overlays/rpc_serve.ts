/**
 * The RPC0 responder as a fold over the request log (spec 004 §24.3 idempotency).
 *
 * Every rpc.v1 request the responder can open is processed once, in stream order, by `rpcServeFold.apply`:
 * - a request with `idem` whose key `(method, client_id, idem)` is already in the idempotency table gets the
 *   stored reply of the first request with that key, and the method is not executed again;
 * - any other request executes the method (a pure function of its args) and, when it has `idem`, stores the reply
 *   under its key.
 *
 * The table is therefore a deterministic function of the log: replaying the log from stream_seq 1 rebuilds it
 * byte for byte. Whether a reply is *sent* depends on the clock (`rpcReplyExpired`), never the table.
 *
 * Summary S: the idempotency table (key → seq, msg_id and encoded reply of the first request) and counters.
 * merge(L, R): union of tables, the smaller seq winning; requests add; deduplicated adds plus the keys present in
 * both (R's first request of such a key is a duplicate in the merged range). So executed = requests -
 * deduplicated = the number of executions a sequential replay performs, for any merge tree.
 */
import { type CborValue, fromHex, toHex } from "../core/mod.ts";
import {
  type ApplyResult,
  damaged,
  decodeEntry,
  type Fold,
  jsonArray,
  jsonHex,
  jsonObject,
  jsonUint,
  type OverlayEntry,
  sortedEntries,
} from "./fold.ts";
import {
  decodeRpcReply,
  decodeRpcRequest,
  encodeRpcReply,
  RPC_KIND,
  RPC_SCHEMA,
  type RpcReply,
  type RpcRequest,
} from "./rpc.ts";

/** Error codes of the built-in responder (RPC0 error.code is application text). */
export const RPC_ERRORS = {
  unknownMethod: "unknown_method",
  badArgs: "bad_args",
} as const;

/** A method: a pure function of its arguments. */
export type RpcMethod = (args: CborValue) => RpcReply;

function badArgs(detail: string): RpcReply {
  return { ok: false, error: { code: RPC_ERRORS.badArgs, detail } };
}

/** `add`: the sum of an array of integers, or of `{a, b}`. */
export function rpcAdd(args: CborValue): RpcReply {
  let terms: CborValue[];
  if (Array.isArray(args)) terms = args;
  else if (args instanceof Map && args.size === 2 && args.has("a") && args.has("b")) {
    terms = [args.get("a")!, args.get("b")!];
  } else return badArgs('add takes an array of integers or {"a": int, "b": int}');
  let sum = 0;
  for (const t of terms) {
    if (typeof t !== "number" || !Number.isSafeInteger(t)) return badArgs("add takes integers only");
    sum += t;
    if (!Number.isSafeInteger(sum)) return badArgs("the sum is outside -(2^53-1)..2^53-1");
  }
  return { ok: true, result: sum };
}

/** `echo`: the arguments themselves. */
export function rpcEcho(args: CborValue): RpcReply {
  return { ok: true, result: args };
}

/** The deterministic built-in methods of `veen rpc serve`. */
export const BUILTIN_METHODS: ReadonlyMap<string, RpcMethod> = new Map([["add", rpcAdd], ["echo", rpcEcho]]);

/** Runs `req` against `methods` (unknown method → error reply). */
export function executeRpc(methods: ReadonlyMap<string, RpcMethod>, req: RpcRequest): RpcReply {
  const m = methods.get(req.method);
  if (m === undefined) {
    return { ok: false, error: { code: RPC_ERRORS.unknownMethod, detail: `no method "${req.method}"` } };
  }
  return m(req.args);
}

/** The idempotency key `(method, client_id, idem)` as a string. */
export function idemKey(method: string, clientId: Uint8Array, idem: number): string {
  return JSON.stringify([method, toHex(clientId), idem]);
}

export interface IdemEntry {
  /** stream_seq and msg_id of the first request with this key. */
  seq: number;
  msgId: Uint8Array;
  /** Its encoded reply body (rpc.res.v1). */
  reply: Uint8Array;
}

export interface RpcServeState {
  idem: Map<string, IdemEntry>;
  /** rpc.v1 requests folded. */
  requests: number;
  /** Requests answered from the idempotency table. */
  deduplicated: number;
}

/** The outcome of one request. */
export interface RpcServed {
  request: RpcRequest;
  reply: RpcReply;
  /** Encoded reply body. */
  replyBytes: Uint8Array;
  /** False when the reply came from the idempotency table. */
  executed: boolean;
  /** The first request with the same key, when deduplicated. */
  firstMsgId?: Uint8Array;
}

export type RpcServeStep =
  | { kind: "ignored" }
  | { kind: "rejected"; reason: string }
  | ({ kind: "served" } & RpcServed);

/** Processes one entry in stream order (see the module comment); mutates `s`. */
export function rpcServeStep(
  s: RpcServeState,
  e: OverlayEntry,
  methods: ReadonlyMap<string, RpcMethod> = BUILTIN_METHODS,
): RpcServeStep {
  const r = decodeEntry(e, RPC_SCHEMA, decodeRpcRequest);
  if (r.kind !== "op") return r;
  const request = r.op;
  s.requests++;
  const key = request.idem === undefined ? undefined : idemKey(request.method, e.clientId, request.idem);
  const hit = key === undefined ? undefined : s.idem.get(key);
  if (hit !== undefined) {
    s.deduplicated++;
    return {
      kind: "served",
      request,
      reply: decodeRpcReply(hit.reply),
      replyBytes: hit.reply,
      executed: false,
      firstMsgId: hit.msgId,
    };
  }
  const reply = executeRpc(methods, request);
  const replyBytes = encodeRpcReply(reply);
  if (key !== undefined) s.idem.set(key, { seq: e.seq, msgId: e.msgId, reply: replyBytes });
  return { kind: "served", request, reply, replyBytes, executed: true };
}

/**
 * True when nobody waits for the reply any more: the request carried timeout_ms and more than that has passed
 * since its hub_ts (whole seconds, so one second of slack). Requests without timeout_ms never expire.
 */
export function rpcReplyExpired(hubTs: number, timeoutMs: number | undefined, nowMs: number): boolean {
  return timeoutMs !== undefined && nowMs > (hubTs + 1) * 1000 + timeoutMs;
}

/** Executions a sequential replay of the summarized range performs. */
export function rpcExecuted(s: RpcServeState): number {
  return s.requests - s.deduplicated;
}

/** The responder fold over `methods` (the built-ins by default). */
export function rpcServeFold(methods: ReadonlyMap<string, RpcMethod> = BUILTIN_METHODS): Fold<RpcServeState> {
  return {
    kind: `${RPC_KIND}.serve`,
    schema: RPC_SCHEMA,
    empty: () => ({ idem: new Map(), requests: 0, deduplicated: 0 }),
    merge(left, right) {
      const idem = new Map(left.idem);
      let overlap = 0;
      for (const [k, r] of right.idem) {
        const l = idem.get(k);
        if (l === undefined) idem.set(k, r);
        else {
          overlap++;
          if (r.seq < l.seq) idem.set(k, r);
        }
      }
      return {
        idem,
        requests: left.requests + right.requests,
        deduplicated: left.deduplicated + right.deduplicated + overlap,
      };
    },
    apply(s, e): ApplyResult {
      const r = rpcServeStep(s, e, methods);
      return r.kind === "served" ? "applied" : r.kind;
    },
    toJson(s) {
      return {
        requests: s.requests,
        deduplicated: s.deduplicated,
        idem: sortedEntries(s.idem).map(([k, e]) => [k, e.seq, toHex(e.msgId), toHex(e.reply)]),
      };
    },
    fromJson(v) {
      const o = jsonObject(v, "rpc serve");
      const s: RpcServeState = {
        idem: new Map(),
        requests: jsonUint(o.requests, "rpc requests"),
        deduplicated: jsonUint(o.deduplicated, "rpc deduplicated"),
      };
      if (s.deduplicated > s.requests) damaged("rpc deduplicated > requests");
      for (const row of jsonArray(o.idem, "rpc idem")) {
        const r = jsonArray(row, "rpc idem row");
        if (r.length !== 4 || typeof r[0] !== "string") damaged("rpc idem row");
        if (s.idem.has(r[0])) damaged("rpc idem duplicate key");
        const reply = fromHex(jsonHex(r[3], "rpc idem reply"));
        try {
          decodeRpcReply(reply);
        } catch {
          damaged("rpc idem reply is not rpc.res.v1");
        }
        s.idem.set(r[0], {
          seq: jsonUint(r[1], "rpc idem seq"),
          msgId: fromHex(jsonHex(r[2], "rpc idem msg_id", 32)),
          reply,
        });
      }
      return s;
    },
  };
}
