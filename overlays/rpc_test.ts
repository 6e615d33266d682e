import assert from "node:assert/strict";
import { concat, fromHex, schemaIdFor, toHex } from "../core/mod.ts";
import { throwsCode } from "../tests/util.ts";
import {
  decodeRpcReply,
  decodeRpcRequest,
  encodeRpcReply,
  encodeRpcRequest,
  RPC_RES_SCHEMA,
  RPC_SCHEMA,
  type RpcRequest,
} from "./rpc.ts";
import { assertSpecOrder, mapInOrder, throwsSize } from "./testing/bodies.ts";

Deno.test('rpc schemas are H(utf8("rpc.v1")) and H(utf8("rpc.res.v1"))', () => {
  assert.equal(toHex(RPC_SCHEMA), toHex(schemaIdFor("rpc.v1")));
  assert.equal(toHex(RPC_RES_SCHEMA), toHex(schemaIdFor("rpc.res.v1")));
});

Deno.test("rpc request round-trips with and without the optional fields", () => {
  const full: RpcRequest = {
    method: "add",
    args: new Map([["a", 1], ["b", 2]]),
    timeoutMs: 5000,
    replyTo: new Uint8Array(32).fill(7),
    idem: 12345,
  };
  assert.deepEqual(decodeRpcRequest(encodeRpcRequest(full)), full);
  assert.deepEqual(decodeRpcRequest(encodeRpcRequest({ method: "echo", args: null })), {
    method: "echo",
    args: null,
  });
});

Deno.test("rpc request decoding is strict: unknown keys, missing args, bad reply_to, empty method are E.SIZE", () => {
  const m = mapInOrder;
  throwsSize(() => decodeRpcRequest(m([["method", "add"], ["args", 1], ["x", 1]])), /unknown key "x"/);
  throwsSize(() => decodeRpcRequest(m([["method", "add"]])), /missing "args"/);
  throwsSize(
    () => decodeRpcRequest(m([["method", "add"], ["args", 1], ["reply_to", new Uint8Array(31)]])),
    /reply_to must be a 32-byte/,
  );
  throwsSize(() => decodeRpcRequest(m([["method", ""], ["args", 1]])), /method must be 1\.\.256/);
  throwsSize(
    () => decodeRpcRequest(m([["method", "add"], ["args", null], ["timeout_ms", null]])),
    /timeout_ms/,
  );
  throwsSize(
    () => decodeRpcRequest(m([["method", "add"], ["args", 1], ["idem", 1], ["timeout_ms", 5]])),
    /"timeout_ms" out of order/,
  );
  throwsCode(() => encodeRpcRequest({ method: "add", args: 1, replyTo: new Uint8Array(3) }), "E.SIZE");
});

Deno.test("rpc.v1 body is {method, args, timeout_ms, reply_to, idem} in RPC0.1/RPC0.3 order, not RFC 8949's", () => {
  const bytes = encodeRpcRequest({ method: "add", args: [1, 2], timeoutMs: 5000, idem: 9 });
  assert.equal(
    toHex(bytes),
    "a4666d6574686f646361646464617267738201026a74696d656f75745f6d73191388646964656d09",
  );
  assertSpecOrder(bytes, ["method", "args", "timeout_ms", "idem"], decodeRpcRequest);
  const full = encodeRpcRequest({
    method: "m",
    args: null,
    timeoutMs: 1,
    replyTo: new Uint8Array(32),
    idem: 2,
  });
  assertSpecOrder(full, ["method", "args", "timeout_ms", "reply_to", "idem"], decodeRpcRequest);
  assertSpecOrder(encodeRpcRequest({ method: "m", args: 0 }), ["method", "args"], decodeRpcRequest);
});

Deno.test("rpc.res.v1 body is {ok, result} or {ok, error}: RPC0.2's order, which RFC 8949 order happens to match", () => {
  const ok = encodeRpcReply({ ok: true, result: 3 });
  assert.equal(toHex(ok), "a2626f6bf566726573756c7403");
  assertSpecOrder(ok, ["ok", "result"], decodeRpcReply, true);
  const err = encodeRpcReply({ ok: false, error: { code: "x", detail: "d" } });
  assert.equal(toHex(err), "a2626f6bf4656572726f72a264636f646561786664657461696c6164");
  assertSpecOrder(err, ["ok", "error"], decodeRpcReply, true);
  throwsSize(() => decodeRpcReply(mapInOrder([["result", 3], ["ok", true]])), /"ok" out of order/);
  throwsSize(
    () => decodeRpcReply(mapInOrder([["ok", false], ["error", new Map([["code", "x"]])], ["result", 1]])),
    /"result" out of order/,
  );
  // The nested error map is an `any` value: RFC 8949 order, so {detail, code} is refused.
  const head = fromHex("a2626f6bf4656572726f72"); // {ok: false, error: ...
  throwsSize(
    () => decodeRpcReply(concat(head, mapInOrder([["detail", "d"], ["code", "x"]]))),
    /Non-canonical/,
  );
});

Deno.test("rpc reply: ok ⇔ result present and error absent", () => {
  assert.deepEqual(decodeRpcReply(encodeRpcReply({ ok: true, result: 3 })), { ok: true, result: 3 });
  assert.deepEqual(decodeRpcReply(encodeRpcReply({ ok: true, result: null })), { ok: true, result: null });
  const err = { ok: false as const, error: { code: "unknown_method", detail: "no method" } };
  assert.deepEqual(decodeRpcReply(encodeRpcReply(err)), err);
  assert.deepEqual(decodeRpcReply(encodeRpcReply({ ok: false, error: { code: "x" } })), {
    ok: false,
    error: { code: "x" },
  });
  const m = mapInOrder;
  throwsSize(() => decodeRpcReply(m([["ok", true]])), /ok = true must carry result/);
  throwsSize(() => decodeRpcReply(m([["ok", false], ["result", 1]])), /ok = false must carry error/);
  throwsSize(
    () => decodeRpcReply(m([["ok", true], ["result", 1], ["error", new Map([["code", "x"]])]])),
    /ok = true must carry result and no error/,
  );
  throwsSize(() => decodeRpcReply(m([["ok", 1], ["result", 1]])), /ok must be a boolean/);
  throwsSize(
    () =>
      decodeRpcReply(
        m([["ok", false], ["error", new Map<string, string | number>([["code", "x"], ["y", 1]])]]),
      ),
    /error has unknown key "y"/,
  );
  throwsSize(
    () => decodeRpcReply(m([["ok", false], ["error", new Map([["code", 1]])]])),
    /error\.code must be a text/,
  );
  throwsSize(() => decodeRpcReply(m([["ok", false], ["error", "x"]])), /error must be a map/);
});
