import assert from "node:assert/strict";
import { idLater, lwwFrom, type LwwPos, putLww } from "./identity_lww.ts";

const pos = (ts: number, seq: number, leaf: string): LwwPos => ({ ts, seq, leaf: leaf.repeat(64) });

Deno.test("LWW order: the time field first, then stream_seq, then the origin msg_id", () => {
  assert.equal(idLater(pos(2, 1, "0"), pos(1, 9, "f")), true);
  assert.equal(idLater(pos(1, 2, "0"), pos(1, 1, "f")), true);
  assert.equal(idLater(pos(1, 1, "b"), pos(1, 1, "a")), true);
  assert.equal(idLater(pos(1, 1, "a"), pos(1, 1, "a")), false, "a write is not later than itself");
});

Deno.test("putLww keeps the winner whatever the order the writes arrive in", () => {
  const writes = [pos(1, 5, "a"), pos(3, 1, "b"), pos(3, 2, "c"), pos(2, 9, "d")];
  for (const order of [writes, [...writes].reverse(), [writes[2]!, writes[0]!, writes[3]!, writes[1]!]]) {
    const m = new Map<string, LwwPos>();
    for (const w of order) putLww(m, "k", w);
    assert.deepEqual(m.get("k"), pos(3, 2, "c"));
  }
});

Deno.test("lwwFrom checks a summary cell's position fields", () => {
  assert.deepEqual(lwwFrom(pos(1, 2, "a"), "cell"), pos(1, 2, "a"));
  assert.throws(() => lwwFrom({ ts: -1, seq: 1, leaf: "a".repeat(64) }, "cell"), /cell ts/);
  assert.throws(() => lwwFrom({ ts: 1, seq: 1, leaf: "xyz" }, "cell"), /cell leaf/);
  assert.throws(() => lwwFrom([], "cell"), /cell is not an object/);
});
