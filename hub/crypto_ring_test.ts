import assert from "node:assert/strict";
import { createRing, DONE, HEAD, SLOT_BYTES, slotOffset, SLOTS, viewRing } from "./crypto_ring.ts";

Deno.test("crypto ring: slots stay in bounds and in order across the int32 wrap of the job counters", () => {
  const { control, slots } = viewRing(createRing());
  assert.equal(slots.length, SLOTS * SLOT_BYTES);
  assert.equal(control[HEAD], 0);
  assert.equal(control[DONE], 0);
  const start = 0x7fff_fff0 | 0;
  let prev = slotOffset(start);
  for (let i = 1; i < 40; i++) {
    const counter = (start + i) | 0; // passes 2^31 - 1 and continues negative
    const off = slotOffset(counter);
    assert.ok(off >= 0 && off + SLOT_BYTES <= slots.length, `offset ${off} for ${counter}`);
    assert.equal(off, (prev + SLOT_BYTES) % (SLOTS * SLOT_BYTES));
    prev = off;
  }
  assert.equal(((start + 40 | 0) - start) | 0, 40, "differences survive the wrap");
});
