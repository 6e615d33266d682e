import assert from "node:assert/strict";
import { Lru } from "./lru.ts";

Deno.test("Lru forgets the least recently used key; get and set make a key recent", () => {
  const l = new Lru<number>(2);
  l.set("a", 1);
  l.set("b", 2);
  assert.equal(l.get("a"), 1);
  l.set("c", 3);
  assert.equal(l.get("b"), undefined);
  assert.equal(l.get("a"), 1);
  l.set("c", 30);
  l.set("d", 4);
  assert.equal(l.get("a"), undefined, "re-setting c made it more recent than a");
  assert.deepEqual([...l.values()], [30, 4]);
  assert.equal(l.size, 2);
});

Deno.test("Lru tells onEvict what the bound pushed out, not what delete or clear removed", () => {
  const evicted: [number, string][] = [];
  const l = new Lru<string, number>(2, (k, v) => evicted.push([k, v]));
  l.set(1, "one");
  l.set(2, "two");
  l.set(3, "three");
  assert.deepEqual(evicted, [[1, "one"]]);
  assert.equal(l.delete(2), "two");
  assert.equal(l.delete(2), undefined);
  l.clear();
  assert.deepEqual(evicted, [[1, "one"]]);
  assert.equal(l.size, 0);
});

Deno.test("Lru keeps undefined-free semantics for falsy values and a bound of at least one", () => {
  const l = new Lru<number | null>(0);
  l.set("z", 0);
  assert.equal(l.get("z"), 0);
  l.set("n", null);
  assert.equal(l.get("z"), undefined);
  assert.equal(l.get("n"), null);
  assert.equal(l.size, 1);
});
