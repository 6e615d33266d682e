/** Test helpers for the MMR and its proofs: numbered test leaves, a built MMR with its root at every size, mutations. */
import { u64be } from "../bytes.ts";
import { VeenError } from "../errors.ts";
import { Ht } from "../hash.ts";
import { MemoryHashStore, MmrAccumulator } from "../mmr.ts";

/** The test leaf hash of leaf `i`: `Ht("test/leaf", u64be(i))`. */
export const leaf = (i: number): Uint8Array => Ht("test/leaf", u64be(i));

/** True for a VeenError with code E.SIZE. */
export const isSizeError = (e: unknown): boolean => e instanceof VeenError && e.code === "E.SIZE";

/** A copy of `b` with the low bit of byte `i` flipped. */
export function flip(b: Uint8Array, i: number): Uint8Array {
  const c = b.slice();
  c[i] = c[i]! ^ 0x01;
  return c;
}

/** The MMR of leaves 1..n: accumulator, node store, and `roots[s]` = the root at size s (`roots[0]` is empty). */
export function buildMmr(
  n: number,
  leafOf: (i: number) => Uint8Array = leaf,
): { acc: MmrAccumulator; store: MemoryHashStore; roots: Uint8Array[] } {
  const acc = new MmrAccumulator();
  const store = new MemoryHashStore();
  const roots: Uint8Array[] = [new Uint8Array(0)];
  for (let i = 1; i <= n; i++) {
    const r = acc.append(leafOf(i));
    store.append(r.newNodes);
    roots.push(r.root);
  }
  return { acc, store, roots };
}
