import assert from "node:assert/strict";
import { concat, toHex } from "./bytes.ts";
import { Ht } from "./hash.ts";
import {
  type HashReader,
  leafPosition,
  MmrAccumulator,
  mmrNode,
  mmrRoot,
  nodeCountForLeaves,
  nodePosition,
  peakPositions,
  peaksAt,
} from "./mmr.ts";
import { prng, rejectsCode, throwsCode } from "../tests/util.ts";
import { buildMmr, leaf } from "./testing/mmr.ts";

const leaves = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => leaf(i + 1));

// ---- naive reference: binary decomposition into perfect subtrees, peaks in ascending height ----
const N = (l: Uint8Array, r: Uint8Array) => Ht("veen/mmr-node", concat(l, r));

function naiveTree(ls: Uint8Array[]): Uint8Array {
  if (ls.length === 1) return ls[0]!;
  const half = ls.length / 2;
  return N(naiveTree(ls.slice(0, half)), naiveTree(ls.slice(half)));
}

function naivePeaks(ls: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let rest = ls;
  while (rest.length > 0) {
    let w = 1;
    while (w * 2 <= rest.length) w *= 2;
    out.push(naiveTree(rest.slice(0, w)));
    rest = rest.slice(w);
  }
  return out.reverse();
}

function naiveRoot(ls: Uint8Array[]): Uint8Array {
  const p = naivePeaks(ls);
  return p.length === 1 ? p[0]! : Ht("veen/mmr-root", concat(...p));
}

Deno.test("fixed vectors: roots for 1, 2, 3, 4 and 7 leaves follow spec 004 §7 by hand", () => {
  const [l1, l2, l3, l4, l5, l6, l7] = leaves(7) as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  const n12 = N(l1, l2);
  const n34 = N(l3, l4);
  const byHand: [number, Uint8Array][] = [
    [1, l1],
    [2, n12],
    [3, Ht("veen/mmr-root", concat(l3, n12))],
    [4, N(n12, n34)],
    [7, Ht("veen/mmr-root", concat(l7, N(l5, l6), N(n12, n34)))],
  ];
  for (const [n, expected] of byHand) {
    const { acc } = buildMmr(n);
    assert.deepEqual(acc.root(), expected, `root of ${n} leaves`);
    assert.deepEqual(acc.root(), naiveRoot(leaves(n)), `naive root of ${n} leaves`);
  }
  assert.equal(
    toHex(buildMmr(7).acc.root()!),
    "90d625ef97a5848c8ae7e1baee028c78784512776dba90c11a85b132bc3d6f32",
  );
  assert.deepEqual(buildMmr(3).acc.peaks(), [l3, n12]);
});

Deno.test("MmrAccumulator roots and peaks match the naive reference for 1..200 leaves", () => {
  const acc = new MmrAccumulator();
  const ls = leaves(200);
  for (let n = 1; n <= 200; n++) {
    const r = acc.append(ls[n - 1]!);
    assert.equal(r.seq, n);
    assert.equal(acc.size, n);
    const sub = ls.slice(0, n);
    assert.deepEqual(acc.peaks(), naivePeaks(sub));
    assert.deepEqual(r.root, naiveRoot(sub));
    assert.deepEqual(acc.root(), r.root);
    assert.deepEqual(mmrRoot(acc.peaks()), r.root);
  }
});

Deno.test("position helpers follow postorder numbering", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map(leafPosition), [0, 1, 3, 4, 7, 8, 10, 11, 15]);
  assert.equal(nodePosition(1, 0), 2);
  assert.equal(nodePosition(1, 1), 5);
  assert.equal(nodePosition(2, 0), 6);
  assert.equal(nodePosition(3, 0), 14);
  assert.equal(nodePosition(0, 6), 10);
  assert.deepEqual([0, 1, 2, 3, 4, 7, 8].map(nodeCountForLeaves), [0, 1, 3, 4, 7, 11, 15]);
  assert.deepEqual(peakPositions(7), [{ position: 10, height: 0 }, { position: 9, height: 1 }, {
    position: 6,
    height: 2,
  }]);
  assert.deepEqual(peakPositions(0), []);
  assert.equal(leafPosition(2 ** 52), 2 ** 53 - 2 - 52);
  throwsCode(() => leafPosition(0), "E.SIZE");
  throwsCode(() => leafPosition(1.5), "E.SIZE");
  throwsCode(() => nodeCountForLeaves(-1), "E.SIZE");
  throwsCode(() => peakPositions(2 ** 52 + 1), "E.SIZE");
});

Deno.test("append emits the leaf and completed parents in position order, as a flat file stores them", () => {
  const n = 130;
  const ls = leaves(n);
  const { store } = buildMmr(n);
  assert.equal(store.size, nodeCountForLeaves(n));
  for (let h = 0; 2 ** h <= n; h++) {
    for (let j = 0; (j + 1) * 2 ** h <= n; j++) {
      const [got] = store.readHashes([nodePosition(h, j)]);
      assert.deepEqual(got, naiveTree(ls.slice(j * 2 ** h, (j + 1) * 2 ** h)), `node h=${h} j=${j}`);
    }
  }
  const acc = new MmrAccumulator();
  for (let i = 1; i <= 16; i++) {
    const before = nodeCountForLeaves(i - 1);
    const r = acc.append(leaf(i));
    assert.equal(r.newNodes.length, nodeCountForLeaves(i) - before);
    assert.deepEqual(r.newNodes[0], leaf(i));
  }
});

Deno.test("MmrAccumulator resumes from (size, peaks) and rejects inconsistent state", () => {
  const a = buildMmr(77).acc;
  const b = new MmrAccumulator(a.size, a.peaks());
  assert.deepEqual(b.root(), a.root());
  for (let i = 78; i <= 100; i++) assert.deepEqual(b.append(leaf(i)), a.append(leaf(i)));
  throwsCode(() => new MmrAccumulator(3, [leaf(1)]), "E.SIZE");
  throwsCode(() => new MmrAccumulator(1, [new Uint8Array(31)]), "E.SIZE");
  throwsCode(() => new MmrAccumulator(0.5), "E.SIZE");
  throwsCode(() => a.append(new Uint8Array(33)), "E.SIZE");
});

Deno.test("an empty MMR has no root", () => {
  assert.equal(new MmrAccumulator().root(), undefined);
  assert.deepEqual(new MmrAccumulator().peaks(), []);
  throwsCode(() => mmrRoot([]), "E.SIZE");
});

Deno.test("peaksAt returns the peaks of every past size in one read", async () => {
  const rnd = prng(7);
  const n = 500;
  const { store } = buildMmr(n);
  const acc = new MmrAccumulator();
  let calls = 0;
  const reader: HashReader = {
    readHashes(p) {
      calls++;
      return store.readHashes(p);
    },
  };
  assert.deepEqual(await peaksAt(reader, 0), []);
  for (let i = 1; i <= n; i++) {
    acc.append(leaf(i));
    if (i < 40 || rnd.int(10) === 0) {
      calls = 0;
      assert.deepEqual(await peaksAt(reader, i), acc.peaks());
      assert.equal(calls, 1);
    }
  }
});

Deno.test("MemoryHashStore rejects missing positions and malformed hashes", async () => {
  const { store } = buildMmr(3);
  assert.equal(store.size, 4);
  throwsCode(() => store.readHashes([4]), "E.NOT_FOUND");
  throwsCode(() => store.append([new Uint8Array(5)]), "E.SIZE");
  await rejectsCode(() => peaksAt(store, 4), "E.NOT_FOUND");
  await rejectsCode(() => peaksAt({ readHashes: () => [] }, 3), "E.SIZE");
});

Deno.test("mmrNode is Ht(veen/mmr-node, left || right)", () => {
  assert.deepEqual(mmrNode(leaf(1), leaf(2)), N(leaf(1), leaf(2)));
});
