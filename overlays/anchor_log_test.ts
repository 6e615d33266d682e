import assert from "node:assert/strict";
import { toHex, ZERO32 } from "../core/mod.ts";
import { throwsCode } from "../tests/util.ts";
import {
  ANCHOR_RECORD_LEN,
  anchorDigest,
  anchorRecordVerifies,
  anchorRefOf,
  decodeAnchorRecord,
  encodeAnchorRecord,
  nextAnchorRecord,
  parseAnchorRef,
} from "./anchor_log.ts";

const root = (n: number) => new Uint8Array(32).fill(n);
const r0 = nextAnchorRecord(0, undefined, {
  root: root(1),
  epoch: 3,
  ts: 1700000000,
  nonce: new Uint8Array([9, 9]),
});
const d0 = anchorDigest(r0);
const r1 = nextAnchorRecord(1, d0, {
  root: root(2),
  epoch: 4,
  ts: 1700000060,
  nonce: new Uint8Array(32).fill(5),
});
const b0 = encodeAnchorRecord(r0);
const b1 = encodeAnchorRecord(r1);
const ref1 = anchorRefOf(1, anchorDigest(r1));

Deno.test("anchor record: 160 bytes, round-trips, chained to its predecessor", () => {
  assert.equal(b0.length, ANCHOR_RECORD_LEN);
  assert.deepEqual(decodeAnchorRecord(b0), { record: r0, digest: d0 });
  assert.equal(toHex(decodeAnchorRecord(b1).record.prev), toHex(d0));
  assert.equal(toHex(r0.prev), toHex(ZERO32));
  assert.deepEqual(parseAnchorRef(ref1), { pos: 1, digest: anchorDigest(r1) });
});

Deno.test("anchor record: a flipped bit anywhere fails the checksum", () => {
  for (let i = 0; i < ANCHOR_RECORD_LEN; i += 7) {
    const bad = b1.slice();
    bad[i]! ^= 1;
    throwsCode(() => decodeAnchorRecord(bad), "E.SIG");
  }
  throwsCode(() => decodeAnchorRecord(b1.subarray(1)), "E.SIZE");
  const long = nextAnchorRecord(0, undefined, { root: root(1), epoch: 0, ts: 0, nonce: new Uint8Array(33) });
  throwsCode(() => encodeAnchorRecord(long), "E.SIZE");
});

Deno.test("anchor verify: holds for the right root and ref; fails for another root, ref, or broken chain", () => {
  assert.equal(anchorRecordVerifies(root(2), ref1, b1, b0), true);
  assert.equal(anchorRecordVerifies(root(3), ref1, b1, b0), false);
  assert.equal(anchorRecordVerifies(root(2), anchorRefOf(1, d0), b1, b0), false);
  assert.equal(anchorRecordVerifies(root(2), ref1, undefined, b0), false);
  assert.equal(anchorRecordVerifies(root(2), ref1, b1, undefined), false);
  assert.equal(anchorRecordVerifies(root(2), ref1.subarray(1), b1, b0), false);
  // Replacing the predecessor with another valid record breaks the chain.
  const other = encodeAnchorRecord(
    nextAnchorRecord(0, undefined, { root: root(7), epoch: 3, ts: 0, nonce: new Uint8Array(0) }),
  );
  assert.equal(anchorRecordVerifies(root(2), ref1, b1, other), false);
  assert.equal(anchorRecordVerifies(root(1), anchorRefOf(0, d0), b0, undefined), true);
});
