import assert from "node:assert/strict";
import { VeenError } from "../core/mod.ts";
import { StorageDamage } from "./storage_damage.ts";

Deno.test("StorageDamage is E.UNAVAILABLE carrying the file and offset, worded for recovery or for a read", () => {
  const r = new StorageDamage("receipts/00000002.cborseq", 51, "checksum mismatch");
  assert.ok(r instanceof VeenError);
  assert.deepEqual([r.code, r.file, r.offset, r.why], [
    "E.UNAVAILABLE",
    "receipts/00000002.cborseq",
    51,
    "checksum mismatch",
  ]);
  assert.match(
    r.detail,
    /^Damaged record in receipts\/00000002\.cborseq at offset 51 \(checksum mismatch\): .*veen hub fsck/,
  );
  const read = new StorageDamage("checkpoints.cborseq", 7, "short read", "read");
  assert.equal(read.detail, "Corrupt record in checkpoints.cborseq at offset 7: short read");
});
