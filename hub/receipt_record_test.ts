import assert from "node:assert/strict";
import { decodeCborSeq } from "../core/mod.ts";
import { entries } from "../tests/log_util.ts";
import { decodeReceiptBody, receiptBodyLength, writeReceiptBody } from "./receipt_record.ts";

Deno.test("receipts record bodies are canonical CBOR and round-trip", () => {
  for (const e of entries(1, 20)) {
    const buf = new Uint8Array(receiptBodyLength(e));
    assert.equal(writeReceiptBody(buf, 0, e), buf.length);
    const items = decodeCborSeq(buf); // canonical check by core
    assert.equal((items[0] as unknown[]).length, 8);
    const d = decodeReceiptBody(buf);
    const { msg: _msg, ...rest } = e;
    assert.deepEqual(d, rest);
  }
});
