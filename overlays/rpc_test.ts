import assert from "node:assert/strict";
import { encodeCbor, schemaIdFor, toHex } from "../core/mod.ts";
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
  const m = (entries: [string, unknown][]) => encodeCbor(new Map(entries) as Map<string, never>);
  throwsCode(() => decodeRpcRequest(m([["method", "add"], ["args", 1], ["x", 1]])), "E.SIZE");
  throwsCode(() => decodeRpcRequest(m([["method", "add"]])), "E.SIZE");
  throwsCode(
    () => decodeRpcRequest(m([["method", "add"], ["args", 1], ["reply_to", new Uint8Array(31)]])),
    "E.SIZE",
  );
  throwsCode(() => decodeRpcRequest(m([["method", ""], ["args", 1]])), "E.SIZE");
  throwsCode(() => encodeRpcRequest({ method: "add", args: 1, replyTo: new Uint8Array(3) }), "E.SIZE");
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
  const m = (entries: [string, unknown][]) => encodeCbor(new Map(entries) as Map<string, never>);
  throwsCode(() => decodeRpcReply(m([["ok", true]])), "E.SIZE");
  throwsCode(() => decodeRpcReply(m([["ok", false], ["result", 1]])), "E.SIZE");
  throwsCode(
    () => decodeRpcReply(m([["ok", true], ["result", 1], ["error", new Map([["code", "x"]])]])),
    "E.SIZE",
  );
  throwsCode(() => decodeRpcReply(m([["ok", 1], ["result", 1]])), "E.SIZE");
  throwsCode(
    () =>
      decodeRpcReply(
        m([["ok", false], ["error", new Map<string, string | number>([["code", "x"], ["y", 1]])]]),
      ),
    "E.SIZE",
  );
});
