import assert from "node:assert/strict";
import { encodeCbor, toHex, utf8 } from "../core/mod.ts";
import { prng, throwsCode } from "../tests/util.ts";
import {
  decodeOrSetOp,
  encodeOrSetAdd,
  encodeOrSetRemove,
  ORSET_SCHEMA,
  orsetElements,
  orsetFold,
  orsetObservedIds,
} from "./orset.ts";
import { assertSpecOrder, mapInOrder, throwsSize } from "./testing/bodies.ts";
import { checkMergeLaws, entry, sequence } from "./testing/laws.ts";

const id = (n: number) => new Uint8Array(32).fill(n);
const add = (i: number, elem: string) => (seq: number) =>
  entry(seq, ORSET_SCHEMA, encodeOrSetAdd(id(i), utf8(elem)));
const remove = (...ids: number[]) => (seq: number) =>
  entry(seq, ORSET_SCHEMA, encodeOrSetRemove(ids.map(id)));
const list = (s: ReturnType<typeof orsetFold.empty>) =>
  orsetElements(s).map((e) => new TextDecoder().decode(e));

Deno.test("orset: add x, add y, remove x → {y}", () => {
  const s = orsetFold.empty();
  for (const e of sequence([add(1, "x"), add(2, "y"), remove(1)])) orsetFold.apply(s, e);
  assert.deepEqual(list(s), ["y"]);
});

Deno.test("orset: a remove tombstones only observed ids, so a concurrent add survives", () => {
  const s = orsetFold.empty();
  for (const e of sequence([add(1, "x"), add(3, "x"), remove(1)])) orsetFold.apply(s, e);
  assert.deepEqual(list(s), ["x"]);
  assert.deepEqual(orsetObservedIds(s, utf8("x")).map(toHex), [toHex(id(3))]);
  // A tomb seen before its add still removes it.
  const t = orsetFold.empty();
  for (const e of sequence([remove(9), add(9, "z")])) orsetFold.apply(t, e);
  assert.deepEqual(list(t), []);
});

Deno.test("orset body codec: add or remove only, ids of 32 bytes, tomb non-empty and canonical", () => {
  assert.deepEqual(decodeOrSetOp(encodeOrSetAdd(id(1), utf8("x"))), {
    op: "add",
    id: id(1),
    elem: utf8("x"),
  });
  assert.deepEqual(decodeOrSetOp(encodeOrSetRemove([id(2), id(1), id(2)])), {
    op: "remove",
    tomb: [id(1), id(2)],
  });
  throwsCode(() => encodeOrSetRemove([]), "E.SIZE");
  throwsSize(() => decodeOrSetOp(mapInOrder([["tomb", []]])), /tomb must not be empty/);
  throwsSize(
    () => decodeOrSetOp(mapInOrder([["tomb", [id(1), new Uint8Array(3)]]])),
    /tomb\[1\] must be a 32/,
  );
  throwsSize(
    () => decodeOrSetOp(mapInOrder([["id", new Uint8Array(31)], ["elem", utf8("x")]])),
    /id must be a 32-byte/,
  );
  throwsSize(
    () => decodeOrSetOp(mapInOrder([["id", id(1)], ["elem", utf8("x")], ["tomb", [id(1)]]])),
    /remove must hold only tomb/,
  );
  throwsSize(() => decodeOrSetOp(mapInOrder([["id", id(1)]])), /add must hold id and elem/);
  throwsSize(() => decodeOrSetOp(mapInOrder([["id", id(1)], ["elem", "x"]])), /elem must be a byte/);
  throwsSize(() => decodeOrSetOp(mapInOrder([["id", id(1)], ["elem", utf8("x")], ["x", 1]])), /unknown key/);
  const s = orsetFold.empty();
  assert.equal(
    orsetFold.apply(s, entry(1, ORSET_SCHEMA, encodeCbor(new Map([["elem", utf8("x")]])))),
    "rejected",
  );
});

Deno.test("orset bodies are {id, elem} and {tomb} in CRDT0.2's order; {elem, id} is refused as out of order", () => {
  const add = encodeOrSetAdd(id(1), utf8("x"));
  assert.equal(toHex(add), `a26269645820${"01".repeat(32)}64656c656d4178`);
  // "id" sorts before "elem" in RFC 8949 order too, so earlier builds wrote these same bytes.
  assertSpecOrder(add, ["id", "elem"], decodeOrSetOp, true);
  const rm = encodeOrSetRemove([id(2)]);
  assert.equal(toHex(rm), `a164746f6d6281${"5820" + "02".repeat(32)}`);
  assertSpecOrder(rm, ["tomb"], decodeOrSetOp, true);
  throwsSize(() => decodeOrSetOp(mapInOrder([["elem", utf8("x")], ["id", id(1)]])), /"id" out of order/);
  throwsSize(() => decodeOrSetOp(mapInOrder([["tomb", [id(1)]], ["id", id(1)]])), /"id" out of order/);
});

Deno.test("orset merge is associative with an identity and equals the sequential fold (property)", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const r = prng(seed);
    const ops = Array.from({ length: 40 + r.int(20) }, () => {
      const k = r.int(10);
      if (k < 6) return add(1 + r.int(12), `e${r.int(4)}`);
      return remove(...Array.from({ length: 1 + r.int(3) }, () => 1 + r.int(12)));
    });
    checkMergeLaws(orsetFold, sequence(ops), seed);
  }
});
