import assert from "node:assert/strict";
import {
  CHANNELS,
  createRing,
  doneOf,
  headOf,
  SIGN,
  SLOT_BYTES,
  slotOffset,
  SLOTS,
  VERIFY,
  viewRing,
} from "./crypto_ring.ts";

Deno.test("crypto ring: slots stay in their channel and in order across the int32 wrap of the job counters", () => {
  const { control, slots } = viewRing(createRing());
  assert.equal(slots.length, CHANNELS * SLOTS * SLOT_BYTES);
  for (const c of [SIGN, VERIFY]) {
    assert.equal(control[headOf(c)], 0);
    assert.equal(control[doneOf(c)], 0);
    const base = c * SLOTS * SLOT_BYTES;
    const start = 0x7fff_fff0 | 0;
    let prev = slotOffset(c, start);
    for (let i = 1; i < 40; i++) {
      const counter = (start + i) | 0; // passes 2^31 - 1 and continues negative
      const off = slotOffset(c, counter);
      assert.ok(off >= base && off + SLOT_BYTES <= base + SLOTS * SLOT_BYTES, `offset ${off} for ${counter}`);
      assert.equal(off - base, (prev - base + SLOT_BYTES) % (SLOTS * SLOT_BYTES));
      prev = off;
    }
  }
  assert.equal(new Set([headOf(SIGN), doneOf(SIGN), headOf(VERIFY), doneOf(VERIFY)]).size, 4);
  assert.equal(((0x7fff_fff0 + 40 | 0) - (0x7fff_fff0 | 0)) | 0, 40, "differences survive the wrap");
});
