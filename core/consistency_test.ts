import assert from "node:assert/strict";
import { concat, u64be } from "./bytes.ts";
import { type CborValue, decodeCbor, encodeCbor } from "./cbor.ts";
import { Ht } from "./hash.ts";
import type { HashReader } from "./mmr.ts";
import {
  type ConsistencyProof,
  consistencyProof,
  decodeConsistencyProof,
  encodeConsistencyProof,
  verifyConsistency,
} from "./consistency.ts";
import { prng, rejectsCode, throwsCode } from "../tests/util.ts";
import { buildMmr, flip, isSizeError, leaf } from "./testing/mmr.ts";

const MAX = 2000;
const { store, roots } = buildMmr(MAX);

Deno.test("consistency proofs verify for every pair 1 <= m < n <= 64 and fail with swapped roots", async () => {
  for (let n = 2; n <= 64; n++) {
    for (let m = 1; m < n; m++) {
      const p = await consistencyProof(store, m, n);
      assert.ok(verifyConsistency(p, m, roots[m]!, n, roots[n]!), `m ${m} n ${n}`);
      assert.equal(verifyConsistency(p, m, roots[n]!, n, roots[m]!), false);
      assert.deepEqual(
        encodeConsistencyProof(decodeConsistencyProof(encodeConsistencyProof(p))),
        encodeConsistencyProof(p),
      );
    }
  }
});

Deno.test("a worked example: m = 3, n = 7 lifts leaf 3 with the right sibling leaf 4", async () => {
  const p = await consistencyProof(store, 3, 7);
  const N = (l: Uint8Array, r: Uint8Array) => Ht("veen/mmr-node", concat(l, r));
  assert.deepEqual(p.oldPeaks, [leaf(3), N(leaf(1), leaf(2))]);
  assert.deepEqual(p.path, [leaf(4)]);
  assert.deepEqual(p.newPeaks, [leaf(7), N(leaf(5), leaf(6))]);
  const q = await consistencyProof(store, 4, 6); // r = 0: the new peak of height 1 is given whole
  assert.deepEqual(q.path, []);
  assert.deepEqual(q.newPeaks, [N(leaf(5), leaf(6))]);
});

Deno.test("random (m, n) pairs up to 2000 verify and fail on any mutated byte, root or size", async () => {
  const rnd = prng(5);
  for (let t = 0; t < 25; t++) {
    const n = 2 + rnd.int(MAX - 1);
    const m = 1 + rnd.int(n - 1);
    const p = await consistencyProof(store, m, n);
    const oldRoot = roots[m]!;
    const newRoot = roots[n]!;
    assert.ok(verifyConsistency(p, m, oldRoot, n, newRoot), `m ${m} n ${n}`);
    const bytes = encodeConsistencyProof(p);
    assert.deepEqual(encodeConsistencyProof(decodeConsistencyProof(bytes)), bytes);
    for (let i = 0; i < bytes.length; i++) {
      let d: ConsistencyProof;
      try {
        d = decodeConsistencyProof(flip(bytes, i));
      } catch {
        continue;
      }
      assert.equal(verifyConsistency(d, m, oldRoot, n, newRoot), false, `byte ${i} of m ${m} n ${n}`);
    }
    for (let i = 0; i < 32; i++) {
      assert.equal(verifyConsistency(p, m, flip(oldRoot, i), n, newRoot), false);
      assert.equal(verifyConsistency(p, m, oldRoot, n, flip(newRoot, i)), false);
    }
    for (const [m2, n2] of [[m - 1, n], [m + 1, n], [m, n - 1], [m, n + 1]] as const) {
      if (m2 >= 1 && m2 < n2 && n2 <= MAX) {
        assert.equal(verifyConsistency(p, m2, roots[m2]!, n2, roots[n2]!), false, `sizes ${m2} ${n2}`);
      }
    }
    assert.equal(verifyConsistency(p, m, oldRoot, n, roots[m]!), false);
  }
});

Deno.test("a history rewritten before m fails against the honest roots", async () => {
  const rnd = prng(11);
  for (let t = 0; t < 30; t++) {
    const n = 2 + rnd.int(500);
    const m = 1 + rnd.int(n - 1);
    const changed = 1 + rnd.int(m);
    const forked = buildMmr(n, (i) => (i === changed ? Ht("test/forged", u64be(i)) : leaf(i)));
    const fp = await consistencyProof(forked.store, m, n);
    assert.ok(verifyConsistency(fp, m, forked.roots[m]!, n, forked.roots[n]!));
    assert.equal(verifyConsistency(fp, m, roots[m]!, n, forked.roots[n]!), false);
    assert.equal(verifyConsistency(fp, m, forked.roots[m]!, n, roots[n]!), false);
    const hp = await consistencyProof(store, m, n);
    assert.equal(verifyConsistency(hp, m, roots[m]!, n, forked.roots[n]!), false);
  }
});

Deno.test("consistencyProof reads O(log n) hashes in one call", async () => {
  const rnd = prng(3);
  let calls = 0;
  let reads = 0;
  const reader: HashReader = {
    readHashes(positions) {
      calls++;
      reads += positions.length;
      return store.readHashes(positions);
    },
  };
  for (let t = 0; t < 300; t++) {
    const n = 2 + rnd.int(MAX - 1);
    const m = 1 + rnd.int(n - 1);
    calls = 0;
    reads = 0;
    const p = await consistencyProof(reader, m, n);
    assert.equal(calls, 1);
    assert.equal(reads, p.oldPeaks.length + p.path.length + p.newPeaks.length);
    assert.ok(reads <= 3 * Math.log2(n) + 3, `${reads} reads for m ${m} n ${n}`);
  }
});

Deno.test("consistency sizes must satisfy 1 <= m < n", async () => {
  await rejectsCode(() => consistencyProof(store, 0, 5), "E.SIZE");
  await rejectsCode(() => consistencyProof(store, 5, 5), "E.SIZE");
  await rejectsCode(() => consistencyProof(store, 6, 5), "E.SIZE");
  await rejectsCode(() => consistencyProof(store, 1, MAX + 1), "E.NOT_FOUND");
  const p = await consistencyProof(store, 3, 5);
  assert.equal(verifyConsistency(p, 5, roots[5]!, 5, roots[5]!), false);
  assert.equal(verifyConsistency(p, 0, roots[1]!, 5, roots[5]!), false);
  assert.equal(verifyConsistency({ ...p, path: [new Uint8Array(31)] }, 3, roots[3]!, 5, roots[5]!), false);
});

Deno.test("decodeConsistencyProof rejects unknown keys, missing keys, bad sizes, long lists and trailing bytes", async () => {
  const base = decodeCbor(encodeConsistencyProof(await consistencyProof(store, 5, 9)));
  assert.ok(base instanceof Map);
  const h = new Uint8Array(32);
  const cases: Record<string, (m: Map<number | string, CborValue>) => void> = {
    "unknown key": (m) => m.set(5, []),
    "missing key": (m) => m.delete(3),
    "ver 2": (m) => m.set(1, 2),
    "hash 31 bytes": (m) => m.set(2, [new Uint8Array(31)]),
    "list of 65": (m) => m.set(4, Array.from({ length: 65 }, () => h)),
    "text key": (m) => m.set("x", 1),
  };
  for (const [name, mutate] of Object.entries(cases)) {
    const m = new Map(base);
    mutate(m);
    assert.throws(() => decodeConsistencyProof(encodeCbor(m)), isSizeError, name);
  }
  const ok = encodeCbor(base);
  throwsCode(() => decodeConsistencyProof(concat(ok, new Uint8Array([0]))), "E.SIZE");
  throwsCode(() => encodeConsistencyProof({ oldPeaks: [h.subarray(1)], path: [], newPeaks: [] }), "E.SIZE");
});
