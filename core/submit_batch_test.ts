import assert from "node:assert/strict";
import { concat } from "./bytes.ts";
import { encodeCbor } from "./cbor.ts";
import { encodeErrorBody } from "./error_body.ts";
import { VeenError } from "./errors.ts";
import { encodeReceipt, type Receipt } from "./receipt.ts";
import { decodeBatchResponse, encodeBatchResponse, MAX_SPLIT_DEPTH, splitCborSeq } from "./submit_batch.ts";
import { throwsCode } from "../tests/util.ts";

const receipt: Receipt = {
  ver: 1,
  label: new Uint8Array(32).fill(1),
  streamSeq: 7,
  leafHash: new Uint8Array(32).fill(2),
  mmrRoot: new Uint8Array(32).fill(3),
  hubTs: 1_700_000_000,
  hubSig: new Uint8Array(64).fill(4),
};

Deno.test("splitCborSeq returns each item's exact bytes, in order", () => {
  const items = [
    encodeCbor([1, new Uint8Array(300), null, "x"]),
    encodeCbor(new Map<number, number>([[1, 2], [3, 4]])),
    encodeCbor(2 ** 40),
    encodeCbor(-5),
    new Uint8Array([0xf6]), // null
  ];
  const got = splitCborSeq(concat(...items), items.length);
  assert.deepEqual(got.map((g) => [...g]), items.map((i) => [...i]));
  assert.deepEqual(splitCborSeq(new Uint8Array(0), 0), []);
});

Deno.test("splitCborSeq refuses more than maxItems, truncation, indefinite lengths and deep nesting (E.SIZE)", () => {
  const one = encodeCbor([1, 2]);
  throwsCode(() => splitCborSeq(concat(one, one, one), 2), "E.SIZE");
  assert.equal(splitCborSeq(concat(one, one), 2).length, 2);
  throwsCode(() => splitCborSeq(concat(one, one.subarray(0, 2)), 5), "E.SIZE");
  throwsCode(() => splitCborSeq(new Uint8Array([0x5a, 0, 0, 1]), 5), "E.SIZE"); // length head cut short
  throwsCode(() => splitCborSeq(new Uint8Array([0x9f, 0xff]), 5), "E.SIZE");
  throwsCode(
    () => splitCborSeq(new Uint8Array([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 5),
    "E.SIZE",
  );
  const deep = new Uint8Array(MAX_SPLIT_DEPTH + 2).fill(0x81);
  deep[deep.length - 1] = 0x01;
  throwsCode(() => splitCborSeq(deep, 5), "E.SIZE");
  const ok = new Uint8Array(MAX_SPLIT_DEPTH + 1).fill(0x81);
  ok[ok.length - 1] = 0x01;
  assert.equal(splitCborSeq(ok, 5).length, 1);
});

Deno.test("batch answers round-trip RECEIPTs and error bodies; a wrong count or a foreign item is E.SIZE", () => {
  const refusal = new VeenError("E.RATE", "Slow down", { retryAfter: 2 });
  const body = encodeBatchResponse([encodeReceipt(receipt), refusal]);
  assert.deepEqual([...body], [...concat(encodeReceipt(receipt), encodeErrorBody(refusal))]);
  const [a, b] = decodeBatchResponse(body, 2);
  assert.ok(a !== undefined && "receipt" in a && a.receipt.streamSeq === 7);
  assert.deepEqual([...a.bytes], [...encodeReceipt(receipt)]);
  assert.ok(b !== undefined && "error" in b);
  assert.deepEqual([b.error.code, b.error.detail, b.error.retryAfter], ["E.RATE", "Slow down", 2]);
  throwsCode(() => decodeBatchResponse(body, 3), "E.SIZE");
  throwsCode(() => decodeBatchResponse(body, 1), "E.SIZE");
  throwsCode(() => decodeBatchResponse(concat(body, encodeCbor([1])), 3), "E.SIZE");
});
