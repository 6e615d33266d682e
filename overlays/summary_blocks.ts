/**
 * The block-summary tree of a fold whose merge is valid for adjacent ranges (`Fold.ranges`; spec 001 L151-203:
 * "folds are monoids with summaries", lookups O(log n)). Like an MMR of summaries: the stream's items are cut into
 * aligned chunks of C items, and the summary of every aligned power-of-two run of chunks is kept, so the summary of
 * any range is the merge of O(log n) stored blocks and the fold of at most two partial chunks (< 2C items).
 *
 * Block (level h, index j) covers the stream items `(j·2^h·C, (j+1)·2^h·C]`. Level 0 is one chunk; block (h, j)
 * is `merge(block (h-1, 2j), block (h-1, 2j+1))`, complete when its right child is. Pure arithmetic: where the
 * summaries are kept is the reader's business (cli/block_summaries.ts).
 */

/** Items per chunk (C): a range read folds at most 2(C-1) items besides its stored blocks. */
export const CHUNK_ITEMS = 256;

/** Block (level, index): the stream items `(index·2^level·C, (index+1)·2^level·C]`. */
export interface SummaryBlock {
  level: number;
  index: number;
}

/** A range of stream items `(from, upto]` (as in `RangeSummary`). */
export interface ItemRange {
  from: number;
  upto: number;
}

/** The stream items block `b` covers, `(from, upto]`. */
export function blockSpan(b: SummaryBlock, c: number = CHUNK_ITEMS): ItemRange {
  const w = c * 2 ** b.level;
  return { from: b.index * w, upto: (b.index + 1) * w };
}

/**
 * The blocks that become complete when item `seq` is folded, bottom up: none unless `seq` ends a chunk, else that
 * chunk and each block whose right child the previous one is (so each block's children come before it).
 */
export function blocksEndingAt(seq: number, c: number = CHUNK_ITEMS): SummaryBlock[] {
  if (seq < 1 || seq % c !== 0) return [];
  const out: SummaryBlock[] = [];
  let index = seq / c - 1;
  let level = 0;
  out.push({ level, index });
  while (index % 2 === 1) {
    index = (index - 1) / 2;
    level++;
    out.push({ level, index });
  }
  return out;
}

/** The two children of a block of level 1 or more, left then right. */
export function blockChildren(b: SummaryBlock): [SummaryBlock, SummaryBlock] {
  if (b.level < 1) throw new RangeError("A chunk (level 0) has no children");
  return [{ level: b.level - 1, index: 2 * b.index }, { level: b.level - 1, index: 2 * b.index + 1 }];
}

/**
 * How to read the summary of `(from, upto]`: fold the items of `head`, merge the stored `blocks` (left to right,
 * at most 2 per level), fold the items of `tail`; in that order. head and tail are each within one chunk (fewer
 * than C items), so a plan folds fewer than 2C items.
 */
export interface RangePlan {
  head: ItemRange | undefined;
  blocks: SummaryBlock[];
  tail: ItemRange | undefined;
}

/** The plan of `(from, upto]` (0 <= from <= upto). */
export function planRange(from: number, upto: number, c: number = CHUNK_ITEMS): RangePlan {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(upto) || from < 0 || upto < from) {
    throw new RangeError(`Cannot plan the range (${from}, ${upto}]`);
  }
  const first = Math.ceil(from / c); // first whole chunk
  const end = Math.floor(upto / c); // chunks [first, end) are whole
  if (first >= end) {
    // No whole chunk: at most a piece of two chunks.
    const cut = Math.min(Math.max(first * c, from), upto);
    return {
      head: cut > from ? { from, upto: cut } : undefined,
      blocks: [],
      tail: upto > cut ? { from: cut, upto } : undefined,
    };
  }
  const blocks: SummaryBlock[] = [];
  for (let p = first; p < end;) {
    let w = 1;
    while (p % (2 * w) === 0 && p + 2 * w <= end) w *= 2;
    blocks.push({ level: Math.log2(w), index: p / w });
    p += w;
  }
  return {
    head: from < first * c ? { from, upto: first * c } : undefined,
    blocks,
    tail: upto > end * c ? { from: end * c, upto } : undefined,
  };
}
