import assert from "node:assert/strict";
import { BatchOrder } from "./batch_order.ts";

Deno.test("batch order: a request waits for the same client's open requests with smaller first seqs only", async () => {
  const o = new BatchOrder();
  const a = o.enter("c1", 1);
  const b = o.enter("c1", 257);
  const other = o.enter("c2", 900);
  const events: string[] = [];
  const bTurn = o.turn(b).then(() => events.push("b"));
  await o.turn(a).then(() => events.push("a")); // nothing of c1 before seq 1
  await o.turn(other).then(() => events.push("other")); // another client is never waited for
  assert.deepEqual(events, ["a", "other"]);
  o.leave(a);
  await bTurn;
  assert.deepEqual(events, ["a", "other", "b"]);
  o.leave(b);
  o.leave(b); // idempotent
  o.leave(other);
  assert.equal(o.size, 0);
});

Deno.test("batch order: a request that entered later is not waited for", async () => {
  const o = new BatchOrder();
  const b = o.enter("c", 257);
  await o.turn(b); // the request of seqs 1.. has not entered: no wait (it will fail E.SEQ and be resent)
  const a = o.enter("c", 1);
  await o.turn(a);
  o.leave(a);
  o.leave(b);
  assert.equal(o.size, 0);
});
