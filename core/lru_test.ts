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

Deno.test("Lru agrees with a naive model over random get, set, delete and clear (the kept eviction iterator)", () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (const max of [1, 3, 17]) {
    const evicted: string[] = [];
    const l = new Lru<number>(max, (k) => evicted.push(k));
    let model: [string, number][] = []; // least recently used first
    const modelEvicted: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const k = `k${rnd(max * 3)}`;
      const op = rnd(20);
      if (op < 9) {
        model = model.filter(([mk]) => mk !== k);
        model.push([k, i]);
        while (model.length > max) modelEvicted.push(model.shift()![0]);
        l.set(k, i);
      } else if (op < 17) {
        const at = model.findIndex(([mk]) => mk === k);
        const want = at < 0 ? undefined : model[at]![1];
        if (at >= 0) model.push(model.splice(at, 1)[0]!);
        assert.equal(l.get(k), want);
      } else if (op < 19) {
        const at = model.findIndex(([mk]) => mk === k);
        assert.equal(l.delete(k), at < 0 ? undefined : model.splice(at, 1)[0]![1]);
      } else if (rnd(50) === 0) {
        model = [];
        l.clear();
      }
      assert.equal(l.size, model.length);
    }
    assert.deepEqual([...l.values()], model.map(([, v]) => v));
    assert.deepEqual(evicted, modelEvicted);
  }
});
