import assert from "node:assert/strict";
import { MemoryAnchorBackend } from "./anchor_backend.ts";

Deno.test("memory anchor backend: publish then verify; other roots, refs and damaged records fail", async () => {
  const b = new MemoryAnchorBackend();
  const root = new Uint8Array(32).fill(1);
  const r0 = await b.publish(root, 1, 100, new Uint8Array([1]));
  const r1 = await b.publish(new Uint8Array(32).fill(2), 2, 200, new Uint8Array(0));
  assert.equal(r0.length, 40);
  assert.equal(await b.verify(root, r0), true);
  assert.equal(await b.verify(new Uint8Array(32).fill(2), r1), true);
  assert.equal(await b.verify(root, r1), false);
  assert.equal(await b.verify(root, new Uint8Array(40)), false);
  assert.equal(await b.verify(root, new Uint8Array(3)), false);
  b.records[0]![20]! ^= 1;
  assert.equal(await b.verify(root, r0), false);
  // Record 1 is intact but its predecessor is not: the chain no longer verifies.
  assert.equal(await b.verify(new Uint8Array(32).fill(2), r1), false);
});
