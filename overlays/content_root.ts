/**
 * The content root of a data publication (spec-3 §6.2, the RECOMMENDED construction): the leaves are the content
 * items' hashes `H(item)` in order; they are grouped as an MMR is, into perfect binary trees of decreasing size from
 * left to right, each inner node `Ht("veen/content-node", left || right)`; the root is
 * `Ht("veen/content-root", concat(peaks))`. Zero items have no root.
 */
import { concat, Ht } from "../core/mod.ts";

export function contentRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) throw new RangeError("A content root needs at least one item");
  const peaks: Uint8Array[] = [];
  let i = 0;
  for (let size = 2 ** Math.floor(Math.log2(leaves.length)); size >= 1; size /= 2) {
    if (leaves.length - i < size) continue;
    let level = leaves.slice(i, i + size);
    while (level.length > 1) {
      const up: Uint8Array[] = [];
      for (let j = 0; j < level.length; j += 2) up.push(Ht("veen/content-node", level[j]!, level[j + 1]!));
      level = up;
    }
    peaks.push(level[0]!);
    i += size;
  }
  return Ht("veen/content-root", concat(...peaks));
}
