import assert from "node:assert/strict";
import {
  blockChildren,
  blocksEndingAt,
  blockSpan,
  CHUNK_ITEMS,
  planRange,
  type SummaryBlock,
} from "./summary_blocks.ts";
import { counterFold, encodeCounterOp, GCNT_SCHEMA } from "./counter.ts";
import { encodeLwwOp, LWW_SCHEMA, lwwFold } from "./lww.ts";
import type { Fold, OverlayEntry } from "./fold.ts";

/** A seeded PRNG (mulberry32), so a failing case can be replayed. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

const key = (b: SummaryBlock) => `${b.level}/${b.index}`;

/** Every complete block of items 1..n, built as a cursor does: each chunk folded, each parent merged from its children. */
function buildTree<S>(fold: Fold<S>, items: readonly OverlayEntry[], c: number): Map<string, S> {
  const tree = new Map<string, S>();
  let chunk = fold.empty();
  for (const e of items) {
    fold.apply(chunk, e);
    for (const b of blocksEndingAt(e.seq, c)) {
      if (b.level === 0) {
        tree.set(key(b), chunk);
        chunk = fold.empty();
      } else {
        const [l, r] = blockChildren(b);
        tree.set(key(b), fold.merge(tree.get(key(l))!, tree.get(key(r))!));
      }
    }
  }
  return tree;
}

/** The summary of (from, upto] read by its plan: partial chunks folded, blocks merged, in order. */
function readRange<S>(
  fold: Fold<S>,
  items: readonly OverlayEntry[],
  tree: Map<string, S>,
  from: number,
  upto: number,
  c: number,
) {
  const plan = planRange(from, upto, c);
  let folded = 0;
  const part = (r: { from: number; upto: number } | undefined) => {
    const s = fold.empty();
    if (r === undefined) return s;
    for (const e of items.slice(r.from, r.upto)) fold.apply(s, e);
    folded += r.upto - r.from;
    return s;
  };
  let s = part(plan.head);
  for (const b of plan.blocks) s = fold.merge(s, tree.get(key(b))!);
  s = fold.merge(s, part(plan.tail));
  return { s, folded, blocks: plan.blocks.length };
}

/** The free monoid (the list of seqs folded): equal results mean each item exactly once, in stream order. */
const SEQS: Fold<number[]> = {
  kind: "test.seqs",
  schema: new Uint8Array(32),
  empty: () => [],
  merge: (l, r) => [...l, ...r],
  apply(s, e) {
    s.push(e.seq);
    return "applied";
  },
  toJson: (s) => s,
  fromJson: (v) => v as number[],
};

const plain = (seq: number): OverlayEntry => ({
  seq,
  msgId: new Uint8Array(32),
  clientId: new Uint8Array(32),
  hubTs: 0,
  hdr: { schema: new Uint8Array(32) },
  body: new Uint8Array(0),
});

Deno.test("planRange() of random ranges reads each item once, in order, from < 2C items and O(log n) blocks", () => {
  const next = rng(1);
  for (const c of [1, 2, 4, 7, 16]) {
    const n = 40 * c + next(3 * c);
    const items = Array.from({ length: n }, (_, i) => plain(i + 1));
    const tree = buildTree(SEQS, items, c);
    for (let k = 0; k < 300; k++) {
      const a = next(n + 1);
      const b = a + next(n - a + 1);
      const { s, folded, blocks } = readRange(SEQS, items, tree, a, b, c);
      assert.deepEqual(s, Array.from({ length: b - a }, (_, i) => a + i + 1), `c=${c} (${a}, ${b}]`);
      assert.ok(folded <= 2 * (c - 1), `c=${c} (${a}, ${b}] folded ${folded}`);
      assert.ok(
        blocks <= 2 * Math.ceil(Math.log2(n / c + 1)) + 1,
        `c=${c} (${a}, ${b}] read ${blocks} blocks`,
      );
    }
  }
});

Deno.test("planRange(): the counter and LWW folds read from blocks equal the naive fold of random ranges", () => {
  const next = rng(2);
  const c = 8;
  const n = 30 * c + 5;
  const writers = [1, 2, 3].map((b) => new Uint8Array(32).fill(b));
  const items: OverlayEntry[] = Array.from({ length: n }, (_, i) => {
    const w = writers[next(3)]!;
    const counter = next(2) === 0;
    return {
      ...plain(i + 1),
      clientId: w,
      hdr: { schema: counter ? GCNT_SCHEMA : LWW_SCHEMA },
      body: counter
        ? encodeCounterOp({ shard: w, delta: next(1000) })
        : encodeLwwOp({ key: new Uint8Array([next(5)]), ts: next(20), value: new Uint8Array([i & 255]) }),
    };
  });
  for (const fold of [counterFold, lwwFold] as Fold<unknown>[]) {
    const tree = buildTree(fold, items, c);
    for (let k = 0; k < 200; k++) {
      const a = next(n + 1);
      const b = a + next(n - a + 1);
      const naive = fold.empty();
      for (const e of items.slice(a, b)) fold.apply(naive, e);
      assert.deepEqual(
        fold.toJson(readRange(fold, items, tree, a, b, c).s),
        fold.toJson(naive),
        `${fold.kind} (${a}, ${b}]`,
      );
    }
  }
});

Deno.test("blocksEndingAt(): a chunk's end completes it and each block it is the right child of, bottom up", () => {
  assert.deepEqual(blocksEndingAt(255), []);
  assert.deepEqual(blocksEndingAt(256), [{ level: 0, index: 0 }]);
  assert.deepEqual(blocksEndingAt(4 * 256), [{ level: 0, index: 3 }, { level: 1, index: 1 }, {
    level: 2,
    index: 0,
  }]);
  assert.deepEqual(blockSpan({ level: 2, index: 1 }), { from: 4 * CHUNK_ITEMS, upto: 8 * CHUNK_ITEMS });
  for (let seq = 1; seq <= 64; seq++) {
    for (const b of blocksEndingAt(seq, 2)) assert.equal(blockSpan(b, 2).upto, seq);
  }
  assert.throws(() => blockChildren({ level: 0, index: 3 }), RangeError);
  assert.throws(() => planRange(5, 4), RangeError);
});

Deno.test("planRange(): aligned ends need no items; a prefix has no head", () => {
  assert.deepEqual(planRange(0, 1024, 256).blocks, [{ level: 2, index: 0 }]);
  assert.equal(planRange(0, 1024, 256).head, undefined);
  assert.deepEqual(planRange(0, 1000, 256), {
    head: undefined,
    blocks: [{ level: 1, index: 0 }, { level: 0, index: 2 }],
    tail: { from: 768, upto: 1000 },
  });
  assert.deepEqual(planRange(10, 20, 256), { head: { from: 10, upto: 20 }, blocks: [], tail: undefined });
  assert.deepEqual(planRange(250, 260, 256), {
    head: { from: 250, upto: 256 },
    blocks: [],
    tail: { from: 256, upto: 260 },
  });
  assert.deepEqual(planRange(7, 7, 256), { head: undefined, blocks: [], tail: undefined });
});
