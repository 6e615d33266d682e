/**
 * Micro-benchmark (not a test) of SHA-256 at the sizes and part counts `H` sees on the hub's submit path, where
 * `core/hash.ts` uses the hand-written `sha256Parts` below 512 bytes and `node:crypto` above:
 *
 *   deno run tests/sha256_bench.ts [batches=40]
 *
 * Each batch times 5000 calls of each implementation in turn; prints the median and the fastest batch per call
 * (the median is what a loaded machine gives, the minimum what the code costs). Figures and the comparison with
 * `@noble/hashes` in docs/performance.md.
 */
import { createHash } from "node:crypto";
import { sha256Parts } from "../core/sha256.ts";

/** Input sizes split into the parts the hub hashes them in. */
const CASES: [string, number[]][] = [
  ["32 B", [32]],
  ["64 B node pair (32+32)", [32, 32]],
  ["97 B tagged leaf (33+64)", [33, 64]],
  ["128 B", [128]],
  ["200 B digest (24+32+144)", [24, 32, 144]],
  ["255 B", [255]],
  ["256 B ciphertext", [256]],
  ["420 B MSG signing digest (18+402)", [18, 402]],
  ["680 B log frame", [680]],
  ["1023 B", [1023]],
];

function native(parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

const IMPLS: [string, (parts: readonly Uint8Array[]) => Uint8Array][] = [
  ["sha256.ts", sha256Parts],
  ["node:crypto", native],
];

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

if (import.meta.main) {
  const batches = Number(Deno.args[0] ?? 40);
  const calls = 5000;
  let sink = 0;
  for (const [name, sizes] of CASES) {
    const parts = sizes.map((n, i) => new Uint8Array(n).fill(i + 7));
    const want = native(parts).join();
    const us = new Map<string, number[]>(IMPLS.map(([i]) => [i, []]));
    for (let b = 0; b < batches + 5; b++) {
      for (const [impl, fn] of IMPLS) {
        if (b === 0 && fn(parts).join() !== want) throw new Error(`${impl} disagrees at ${name}`);
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) sink += fn(parts)[0]!;
        if (b >= 5) us.get(impl)!.push((performance.now() - t0) / calls * 1000);
      }
    }
    const cols = IMPLS.map(([i]) =>
      `${i} ${median(us.get(i)!).toFixed(2)} (min ${Math.min(...us.get(i)!).toFixed(2)})`
    );
    console.log(`${name.padEnd(26)} µs/call: ${cols.join("  ")}`);
  }
  if (sink < 0) console.log(sink);
}
