import assert from "node:assert/strict";
import type { CborValue } from "../core/mod.ts";
import { prng } from "../tests/util.ts";
import { encodeRpcRequest, RPC_SCHEMA } from "./rpc.ts";
import {
  rpcAdd,
  rpcEcho,
  rpcExecuted,
  rpcReplyExpired,
  rpcServeFold,
  type RpcServeState,
  rpcServeStep,
} from "./rpc_serve.ts";
import { checkMergeLaws, entry, sequence } from "./testing/laws.ts";

const client = (n: number) => new Uint8Array(32).fill(n);
const req = (method: string, args: CborValue, opts: { idem?: number; from?: number } = {}) => (seq: number) =>
  entry(
    seq,
    RPC_SCHEMA,
    encodeRpcRequest({
      method,
      args,
      replyTo: new Uint8Array(32),
      ...(opts.idem === undefined ? {} : { idem: opts.idem }),
    }),
    client(opts.from ?? 1),
  );
const fresh = (): RpcServeState => rpcServeFold().empty();

Deno.test("rpc add sums an integer array or {a, b}; anything else is bad_args", () => {
  assert.deepEqual(rpcAdd([1, 2, 3]), { ok: true, result: 6 });
  assert.deepEqual(rpcAdd(new Map([["a", 1], ["b", 2]])), { ok: true, result: 3 });
  assert.deepEqual(rpcAdd([]), { ok: true, result: 0 });
  for (const bad of [["x"], new Map([["a", 1]]), "1", [Number.MAX_SAFE_INTEGER, 1]] as CborValue[]) {
    const r = rpcAdd(bad);
    assert.ok(!r.ok && r.error.code === "bad_args", JSON.stringify(r));
  }
  assert.deepEqual(rpcEcho([1, "a"]), { ok: true, result: [1, "a"] });
});

Deno.test("rpc serve: unknown method is an error reply; a repeated idem is answered without executing", () => {
  const s = fresh();
  const [a, b, c, d, e] = sequence([
    req("add", [1, 2], { idem: 7 }),
    req("nope", 1),
    req("add", [5, 5], { idem: 7 }),
    req("add", [1, 2], { idem: 7, from: 2 }),
    req("echo", "hi", { idem: 7 }),
  ]);
  const r1 = rpcServeStep(s, a!);
  assert.ok(r1.kind === "served" && r1.executed && r1.reply.ok && r1.reply.result === 3);
  const r2 = rpcServeStep(s, b!);
  assert.ok(r2.kind === "served" && !r2.reply.ok && r2.reply.error.code === "unknown_method");
  // Same (method, client_id, idem): the stored reply, even with other args.
  const r3 = rpcServeStep(s, c!);
  assert.ok(r3.kind === "served" && !r3.executed && r3.reply.ok && r3.reply.result === 3);
  assert.deepEqual(r3.firstMsgId, a!.msgId);
  // Another client or another method is another key.
  const r4 = rpcServeStep(s, d!);
  assert.ok(r4.kind === "served" && r4.executed);
  const r5 = rpcServeStep(s, e!);
  assert.ok(r5.kind === "served" && r5.executed && r5.reply.ok && r5.reply.result === "hi");
  assert.equal(s.requests, 5);
  assert.equal(rpcExecuted(s), 4);
});

Deno.test("rpc serve: the idempotency table is a function of the log (replay rebuilds it byte for byte)", () => {
  const log = sequence([
    req("add", [1], { idem: 1 }),
    req("echo", 2),
    req("add", [9], { idem: 1 }),
    req("add", [3], { idem: 2 }),
  ]);
  const fold = rpcServeFold();
  const run = () => {
    const s = fresh();
    for (const e of log) fold.apply(s, e);
    return JSON.stringify(fold.toJson(s));
  };
  assert.equal(run(), run());
});

Deno.test("rpc serve: non-rpc entries are ignored, malformed requests rejected", () => {
  const s = fresh();
  assert.equal(rpcServeStep(s, entry(1, new Uint8Array(32), new Uint8Array([0xa0]))).kind, "ignored");
  assert.equal(rpcServeStep(s, entry(2, RPC_SCHEMA, new Uint8Array([0xa0]))).kind, "rejected");
  assert.equal(s.requests, 0);
});

Deno.test("rpc reply deadline: hub_ts + 1 s + timeout_ms; no timeout never expires", () => {
  assert.equal(rpcReplyExpired(100, 5000, 106_000), false);
  assert.equal(rpcReplyExpired(100, 5000, 106_001), true);
  assert.equal(rpcReplyExpired(100, undefined, 10 ** 12), false);
});

Deno.test("rpc serve merge is associative with an identity and equals the sequential fold (property)", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const r = prng(seed);
    const methods = ["add", "echo", "nope"];
    const ops = Array.from({ length: 30 + r.int(30) }, () => {
      const opts = { from: 1 + r.int(2), ...(r.int(3) === 0 ? {} : { idem: r.int(5) }) };
      return req(methods[r.int(3)]!, [r.int(10), r.int(10)], opts);
    });
    checkMergeLaws(rpcServeFold(), sequence(ops), seed);
  }
});
