import assert from "node:assert/strict";
import { concat, toHex } from "./bytes.ts";
import { type CborValue, decodeCbor, encodeCbor } from "./cbor.ts";
import { Ht } from "./hash.ts";
import { type HashReader, inclusionProof, MemoryHashStore, MmrAccumulator } from "./mmr.ts";
import { decodeMmrProof, encodeMmrProof, type MmrProof, mmrProofRoot, verifyInclusion } from "./mmr_proof.ts";
import { prng, rejectsCode, throwsCode } from "../tests/util.ts";
import { buildMmr, flip, isSizeError, leaf } from "./testing/mmr.ts";

/** One store of MAX leaves with the root at every size; proofs at smaller sizes read the same store. */
const MAX = 2000;
const { store, roots } = buildMmr(MAX);

// ---- naive reference proof: recursive over the leaf list, independent of position arithmetic ----
const N = (l: Uint8Array, r: Uint8Array) => Ht("veen/mmr-node", concat(l, r));
const tree = (ls: Uint8Array[]): Uint8Array =>
  ls.length === 1 ? ls[0]! : N(tree(ls.slice(0, ls.length / 2)), tree(ls.slice(ls.length / 2)));

function naiveProof(seq: number, size: number): MmrProof {
  const ls = Array.from({ length: size }, (_, i) => leaf(i + 1));
  const peaks: { t: Uint8Array[]; start: number }[] = []; // descending height
  for (let start = 0; start < size;) {
    let w = 1;
    while (w * 2 <= size - start) w *= 2;
    peaks.push({ t: ls.slice(start, start + w), start });
    start += w;
  }
  const k = seq - 1;
  const idx = peaks.findIndex((p) => k >= p.start && k < p.start + p.t.length);
  const path: MmrProof["path"] = [];
  const walk = (t: Uint8Array[], i: number): void => {
    if (t.length === 1) return;
    const h = t.length / 2;
    if (i < h) {
      walk(t.slice(0, h), i);
      path.push({ dir: 1, sib: tree(t.slice(h)) });
    } else {
      walk(t.slice(h), i - h);
      path.push({ dir: 0, sib: tree(t.slice(0, h)) });
    }
  };
  walk(peaks[idx]!.t, k - peaks[idx]!.start);
  const asc = (ps: typeof peaks) => ps.map((p) => tree(p.t)).reverse();
  const before = asc(peaks.slice(idx + 1));
  const proof: MmrProof = { leafHash: ls[k]!, path, peaksAfter: asc(peaks.slice(0, idx)) };
  if (before.length > 0) proof.peaksBefore = before;
  return proof;
}

/** Every single-hash mutation of `p` (one byte, chosen by `pick`) plus every dir flip. */
function mutations(p: MmrProof, pick: () => number): MmrProof[] {
  const out: MmrProof[] = [{ ...p, leafHash: flip(p.leafHash, pick()) }];
  p.path.forEach((s, i) => {
    const path = p.path.slice();
    path[i] = { dir: s.dir, sib: flip(s.sib, pick()) };
    out.push({ ...p, path });
    const flipped = p.path.slice();
    flipped[i] = { dir: s.dir === 0 ? 1 : 0, sib: s.sib };
    out.push({ ...p, path: flipped });
  });
  p.peaksAfter.forEach((_, i) => {
    const peaksAfter = p.peaksAfter.slice();
    peaksAfter[i] = flip(peaksAfter[i]!, pick());
    out.push({ ...p, peaksAfter });
  });
  (p.peaksBefore ?? []).forEach((_, i) => {
    const peaksBefore = p.peaksBefore!.slice();
    peaksBefore[i] = flip(peaksBefore[i]!, pick());
    out.push({ ...p, peaksBefore });
  });
  return out;
}

function checkProof(p: MmrProof, seq: number, size: number, full: boolean, pick: () => number): void {
  const root = roots[size]!;
  assert.ok(verifyInclusion(p, root, { seq, size }), `seq ${seq} size ${size}`);
  const all = mutations(p, pick);
  if (!full) {
    // One mutation chosen at random; the full set runs on a sample (the hashing cost is the bound here).
    assert.equal(verifyInclusion(all[Math.floor(pick() * all.length / 32)]!, root, { seq, size }), false);
    return;
  }
  assert.ok(verifyInclusion(p, root));
  const bytes = encodeMmrProof(p);
  assert.deepEqual(encodeMmrProof(decodeMmrProof(bytes)), bytes);
  assert.deepEqual(decodeMmrProof(bytes), p);
  for (const bad of all) {
    assert.equal(verifyInclusion(bad, root), false);
    assert.equal(verifyInclusion(bad, root, { seq, size }), false);
  }
  assert.equal(verifyInclusion(p, flip(root, pick())), false);
  for (const other of [seq - 1, seq + 1, 1, size]) {
    if (other !== seq && other >= 1 && other <= size) {
      assert.equal(verifyInclusion(p, root, { seq: other, size }), false, `other seq ${other}`);
    }
  }
  if (size > 1) assert.equal(verifyInclusion(p, roots[size - 1]!, { seq, size: size - 1 }), false);
  if (size < MAX) assert.equal(verifyInclusion(p, roots[size + 1]!, { seq, size: size + 1 }), false);
}

Deno.test("inclusionProof matches the naive reference proof for every leaf of sizes 1..40", async () => {
  for (let size = 1; size <= 40; size++) {
    for (let seq = 1; seq <= size; seq++) {
      const p = await inclusionProof(store, seq, size);
      assert.deepEqual(p, naiveProof(seq, size), `seq ${seq} size ${size}`);
      assert.deepEqual(encodeMmrProof(p), encodeMmrProof(naiveProof(seq, size)));
    }
  }
});

Deno.test("every leaf of sizes 1..64 verifies with position checks and fails under every mutation", async () => {
  const rnd = prng(1);
  for (let size = 1; size <= 64; size++) {
    for (let seq = 1; seq <= size; seq++) {
      checkProof(await inclusionProof(store, seq, size), seq, size, true, () => rnd.int(32));
    }
  }
});

Deno.test("every byte of a proof and of the root matters", async () => {
  const p = await inclusionProof(store, 1234, 1999);
  const root = roots[1999]!;
  assert.ok(p.peaksBefore !== undefined && p.path.length > 0 && p.peaksAfter.length > 0);
  for (let i = 0; i < 32; i++) {
    for (const bad of mutations(p, () => i)) assert.equal(verifyInclusion(bad, root), false);
    assert.equal(verifyInclusion(p, flip(root, i)), false);
  }
  const bytes = encodeMmrProof(p);
  for (let i = 0; i < bytes.length; i++) {
    let d: MmrProof;
    try {
      d = decodeMmrProof(flip(bytes, i));
    } catch {
      continue;
    }
    assert.equal(verifyInclusion(d, root, { seq: 1234, size: 1999 }), false, `byte ${i}`);
  }
});

Deno.test("random sizes up to 2000: every leaf proves against the latest and later roots", async () => {
  const rnd = prng(2024);
  const sizes = [MAX, 1024, 1025, ...Array.from({ length: 3 }, () => 1 + rnd.int(MAX))];
  for (const size of sizes) {
    const later = Array.from({ length: 2 }, () => size + rnd.int(MAX - size + 1));
    for (let seq = 1; seq <= size; seq++) {
      const full = rnd.int(60) === 0;
      checkProof(await inclusionProof(store, seq, size), seq, size, full, () => rnd.int(32));
      for (const s of later) {
        checkProof(await inclusionProof(store, seq, s), seq, s, full, () => rnd.int(32));
      }
    }
  }
});

Deno.test("the proof of the newest leaf right after its append has no key 5", async () => {
  const acc = new MmrAccumulator();
  const s = new MemoryHashStore();
  for (let i = 1; i <= 300; i++) {
    const r = acc.append(leaf(i));
    s.append(r.newNodes);
    const p = await inclusionProof(s, i, i);
    assert.equal(p.peaksBefore, undefined);
    const m = decodeCbor(encodeMmrProof(p));
    assert.ok(m instanceof Map && !m.has(5) && m.size === 4);
    assert.ok(verifyInclusion(p, r.root, { seq: i, size: i }));
  }
});

Deno.test("encoded proof bytes are pinned for leaf 5 of 7", async () => {
  const p = await inclusionProof(store, 5, 7);
  assert.equal(p.path.length, 1);
  assert.equal(p.path[0]!.dir, 1);
  assert.equal(p.peaksBefore?.length, 1);
  const bytes = encodeMmrProof(p);
  assert.equal(
    toHex(bytes.subarray(0, 6)),
    "a50101025820", // map(5) {1: 1, 2: bstr(32) ...
  );
  assert.deepEqual(mmrProofRoot(p), roots[7]);
  assert.equal(toHex(roots[7]!), "90d625ef97a5848c8ae7e1baee028c78784512776dba90c11a85b132bc3d6f32");
});

Deno.test("inclusionProof reads at most 2*log2(n)+2 hashes in one call", async () => {
  const rnd = prng(99);
  let calls = 0;
  let reads = 0;
  const reader: HashReader = {
    readHashes(positions) {
      calls++;
      reads += positions.length;
      return store.readHashes(positions);
    },
  };
  for (let t = 0; t < 500; t++) {
    const size = 1 + rnd.int(MAX);
    const seq = 1 + rnd.int(size);
    calls = 0;
    reads = 0;
    const p = await inclusionProof(reader, seq, size);
    assert.equal(calls, 1);
    assert.equal(reads, 1 + p.path.length + p.peaksAfter.length + (p.peaksBefore?.length ?? 0));
    assert.ok(reads <= 2 * Math.log2(size) + 2, `${reads} reads for size ${size}`);
  }
});

Deno.test("inclusionProof rejects leaves outside the MMR", async () => {
  await rejectsCode(() => inclusionProof(store, 0, 5), "E.NOT_FOUND");
  await rejectsCode(() => inclusionProof(store, 6, 5), "E.NOT_FOUND");
  await rejectsCode(() => inclusionProof(store, 1.5, 5), "E.SIZE");
  await rejectsCode(() => inclusionProof(store, 1, MAX + 1), "E.NOT_FOUND");
  await rejectsCode(
    () => inclusionProof({ readHashes: (ps) => ps.map(() => new Uint8Array(31)) }, 1, 5),
    "E.SIZE",
  );
  const p = await inclusionProof(store, 3, 5);
  assert.equal(verifyInclusion(p, roots[5]!, { seq: 6, size: 5 }), false);
  assert.equal(verifyInclusion(p, roots[5]!, { seq: 0, size: 5 }), false);
});

// ---- strict decoding ----

async function validMap(): Promise<Map<number, CborValue>> {
  const m = decodeCbor(encodeMmrProof(await inclusionProof(store, 5, 7)));
  assert.ok(m instanceof Map);
  return m as Map<number, CborValue>;
}

Deno.test("decodeMmrProof rejects unknown keys, empty key 5, bad sizes, bad dirs, long paths and trailing bytes", async () => {
  const base = await validMap();
  const sib = new Uint8Array(32);
  const step = (dir: number, s: Uint8Array = sib) => new Map<number, CborValue>([[1, dir], [2, s]]);
  const cases: Record<string, (m: Map<number, CborValue>) => void> = {
    "unknown key": (m) => m.set(6, 0),
    "unknown path step key": (m) => m.set(3, [new Map<number, CborValue>([[1, 1], [2, sib], [3, 0]])]),
    "key 5 with empty array": (m) => m.set(5, []),
    "wrong sib size": (m) => m.set(3, [step(1, new Uint8Array(31))]),
    "dir 2": (m) => m.set(3, [step(2)]),
    "path longer than 64": (m) => m.set(3, Array.from({ length: 65 }, () => step(0))),
    "ver 2": (m) => m.set(1, 2),
    "missing peaks_after": (m) => m.delete(4),
    "leaf_hash 33 bytes": (m) => m.set(2, new Uint8Array(33)),
    "peak 31 bytes": (m) => m.set(4, [new Uint8Array(31)]),
    "more than 64 peaks": (m) => {
      m.set(4, Array.from({ length: 40 }, () => sib));
      m.set(5, Array.from({ length: 24 }, () => sib));
    },
    "path not an array": (m) => m.set(3, sib),
  };
  for (const [name, mutate] of Object.entries(cases)) {
    const m = new Map(base);
    mutate(m);
    assert.throws(() => decodeMmrProof(encodeCbor(m)), isSizeError, name);
  }
  const ok = encodeCbor(base);
  decodeMmrProof(ok);
  throwsCode(() => decodeMmrProof(concat(ok, new Uint8Array([0]))), "E.SIZE");
  throwsCode(() => decodeMmrProof(ok.subarray(0, ok.length - 1)), "E.SIZE");
  throwsCode(() => decodeMmrProof(encodeCbor([1, 2])), "E.SIZE");
  // 64 path steps and 64 peaks in all are the limits, not errors.
  const edge = new Map(base);
  edge.set(3, Array.from({ length: 64 }, () => step(1)));
  edge.set(4, Array.from({ length: 40 }, () => sib));
  edge.set(5, Array.from({ length: 23 }, () => sib));
  assert.equal(decodeMmrProof(encodeCbor(edge)).path.length, 64);
});

Deno.test("encodeMmrProof omits an empty peaksBefore and rejects malformed proofs", async () => {
  const p = await inclusionProof(store, 8, 8);
  assert.deepEqual(encodeMmrProof({ ...p, peaksBefore: [] }), encodeMmrProof(p));
  throwsCode(() => encodeMmrProof({ ...p, leafHash: new Uint8Array(1) }), "E.SIZE");
  throwsCode(() => encodeMmrProof({ ...p, path: [{ dir: 2 as 0, sib: new Uint8Array(32) }] }), "E.SIZE");
  throwsCode(() => mmrProofRoot({ ...p, peaksAfter: [new Uint8Array(3)] }), "E.SIZE");
  assert.equal(verifyInclusion({ ...p, peaksAfter: [new Uint8Array(3)] }, roots[8]!), false);
});
