import assert from "node:assert/strict";
import type { Fold, ItemRange, OverlayEntry } from "../overlays/mod.ts";
import { BlockSummaries } from "./block_summaries.ts";
import { newEpoch } from "./seen_index.ts";
import { tempDir } from "./testing/run.ts";

/** The free monoid of (seq, tag) pairs folded: equal results mean each item once, in order, from the right history. */
const PAIRS: Fold<string[]> = {
  kind: "test.pairs",
  schema: new Uint8Array(32),
  ranges: true,
  empty: () => [],
  merge: (l, r) => [...l, ...r],
  apply(s, e) {
    s.push(`${e.seq}:${e.hubTs}:${"x".repeat(e.body.length)}`);
    return "applied";
  },
  toJson: (s) => s,
  fromJson(v) {
    if (!Array.isArray(v)) throw new Error("not a list");
    return v as string[];
  },
};

/** Item `seq` of history `tag` (undefined: an item this client cannot open); `pad` bytes of body. */
const item = (seq: number, tag: number, pad = 0): OverlayEntry | undefined =>
  seq % 7 === 3 ? undefined : {
    seq,
    msgId: new Uint8Array(32),
    clientId: new Uint8Array(32),
    hubTs: tag,
    hdr: { schema: new Uint8Array(32) },
    body: new Uint8Array(pad),
  };

function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return Math.floor((a / 2 ** 32) * n);
  };
}

const C = 4;

/** Runs `f` with the path of a tree file in a fresh temporary directory, and a fresh epoch. */
async function withTree(f: (path: string, epoch: string) => Promise<void>): Promise<void> {
  const d = await tempDir();
  try {
    await f(`${d.path}/x.blocks.kv`, newEpoch());
  } finally {
    await d.cleanup();
  }
}

/** Folds `items` (1-based: items[seq - 1]) from `from + 1` to `upto` into `t`. */
async function feed(
  t: BlockSummaries<string[]>,
  items: (OverlayEntry | undefined)[],
  from: number,
  upto: number,
) {
  for (let seq = from + 1; seq <= upto; seq++) await t.item(seq, items[seq - 1]);
}

/**
 * A save as the cursor makes it: the tree first, then the summary, which holds the open chunk; returns that
 * `open_chunk` as the summary file keeps it (a copy: the tree goes on folding into its own).
 */
async function save(t: BlockSummaries<string[]>, upto: number): Promise<string[] | undefined> {
  await t.flush(upto);
  t.close();
  const open = t.openChunk();
  return open === undefined ? undefined : PAIRS.fromJson(JSON.parse(JSON.stringify(PAIRS.toJson(open))));
}

/** Checks random ranges (and the whole prefix) against the naive fold; returns the most items one read fetched. */
async function checkRanges(
  t: BlockSummaries<string[]>,
  items: (OverlayEntry | undefined)[],
  upto: number,
  next: (n: number) => number,
) {
  let most = 0;
  for (let k = 0; k < 150; k++) {
    const a = k === 0 ? 0 : next(upto + 1);
    const b = k === 0 ? upto : a + next(upto - a + 1);
    let fetched = 0;
    const fetch = (r: ItemRange) => {
      fetched += r.upto - r.from;
      return Promise.resolve(items.slice(r.from, r.upto).filter((e) => e !== undefined));
    };
    const naive = PAIRS.empty();
    for (const e of items.slice(a, b)) if (e !== undefined) PAIRS.apply(naive, e);
    assert.deepEqual(await t.range(a, b, fetch), naive, `(${a}, ${b}]`);
    most = Math.max(most, fetched);
  }
  t.close();
  return most;
}

Deno.test("BlockSummaries: any range read from the stored tree equals the naive fold, across saves and resumes", async () => {
  await withTree(async (path, epoch) => {
    const next = rng(7);
    const n = 37 * C + 2;
    const items = Array.from({ length: n }, (_, i) => item(i + 1, 1));
    let t = new BlockSummaries(path, PAIRS, epoch, undefined, undefined, C);
    let upto = 0;
    while (upto < n) {
      const to = Math.min(n, upto + 1 + next(3 * C));
      await feed(t, items, upto, to);
      const open = await save(t, to);
      upto = to;
      assert.ok(await BlockSummaries.holds(path, epoch), `holds at ${upto}`);
      t = new BlockSummaries(path, PAIRS, epoch, upto, open, C); // the next run resumes from the summary
    }
    const most = await checkRanges(t, items, n, next);
    assert.ok(most <= 2 * (C - 1), `a range read fetched ${most} items`);
  });
});

Deno.test("BlockSummaries: after a crash between the tree and its summary, blocks above upto_seq are never read", async () => {
  await withTree(async (path, epoch) => {
    const old = Array.from({ length: 40 }, (_, i) => item(i + 1, 1));
    let t = new BlockSummaries(path, PAIRS, epoch, undefined, undefined, C);
    await feed(t, old, 0, 10);
    const at10 = await save(t, 10); // the summary at 10 landed
    t = new BlockSummaries(path, PAIRS, epoch, 10, structuredClone(at10), C);
    await feed(t, old, 10, 33);
    await t.flush(33); // the tree up to 33 is durable, then the process dies before its summary
    t.close();
    // The next run resumes from the summary at 10 and folds other items after it (history tag 2).
    assert.ok(await BlockSummaries.holds(path, epoch));
    const items = [...old.slice(0, 10), ...Array.from({ length: 30 }, (_, i) => item(i + 11, 2))];
    t = new BlockSummaries(path, PAIRS, epoch, 10, structuredClone(at10), C);
    await feed(t, items, 10, 22);
    assert.ok(await checkRanges(t, items, 22, rng(3)) <= 2 * (C - 1), "before the next save");
    t = new BlockSummaries(path, PAIRS, epoch, 10, structuredClone(at10), C);
    await feed(t, items, 10, 38);
    const at38 = await save(t, 38);
    const kv = await Deno.openKv(path);
    try {
      const kinds = new Set<unknown>();
      for await (const r of kv.list({ prefix: [] })) kinds.add(r.key[0]);
      assert.deepEqual(
        [...kinds].sort(),
        ["block", "epoch"],
        "open chunks live in the summary, not in the file",
      );
    } finally {
      kv.close();
    }
    await checkRanges(new BlockSummaries(path, PAIRS, epoch, 38, at38, C), items, 38, rng(4));
  });
});

Deno.test("BlockSummaries.holds(): false without the file or the epoch; a new epoch discards the old tree", async () => {
  await withTree(async (path, epoch) => {
    assert.equal(await BlockSummaries.holds(path, epoch), false, "no file");
    const items = Array.from({ length: 20 }, (_, i) => item(i + 1, 1));
    const t = new BlockSummaries(path, PAIRS, epoch, undefined, undefined, C);
    await feed(t, items, 0, 9);
    assert.deepEqual(await save(t, 9), ["9:1:"], "the open chunk of the summary at 9: item 9");
    assert.equal(await BlockSummaries.holds(path, epoch), true);
    assert.equal(await BlockSummaries.holds(path, newEpoch()), false, "another epoch");
    const fresh = newEpoch();
    const u = new BlockSummaries(path, PAIRS, fresh, undefined, undefined, C);
    await feed(u, items, 0, 2);
    await save(u, 2);
    assert.equal(await BlockSummaries.holds(path, fresh), true);
    assert.equal(await BlockSummaries.holds(path, epoch), false, "the old epoch went with its summary");
    assert.throws(
      () => new BlockSummaries(path, { ...PAIRS, ranges: false }, epoch, undefined, undefined, C),
      /does not merge/,
    );
    assert.throws(() => new BlockSummaries(path, PAIRS, epoch, 9, undefined, C), /needs its open chunk/);
  });
});

Deno.test("BlockSummaries: summaries beyond a KV value (64 KiB) and a KV commit are stored in parts", async () => {
  await withTree(async (path, epoch) => {
    const n = 70;
    const items = Array.from({ length: n }, (_, i) => item(i + 1, 1, 20_000)); // a level-4 block: ~1.2 MB of JSON
    const t = new BlockSummaries(path, PAIRS, epoch, undefined, undefined, C);
    await feed(t, items, 0, n);
    const open = await save(t, n);
    await checkRanges(new BlockSummaries(path, PAIRS, epoch, n, open, C), items, n, rng(5));
  });
});

Deno.test("BlockSummaries: a cold fold that writes blocks before its first save keeps them (the file is cleared once)", async () => {
  await withTree(async (path, epoch) => {
    const n = 300; // 75 chunks and their parents: more blocks than are kept in memory before being written
    const items = Array.from({ length: n }, (_, i) => item(i + 1, 1));
    const t = new BlockSummaries(path, PAIRS, epoch, undefined, undefined, C);
    await feed(t, items, 0, n);
    t.close(); // as the cursor's entries() does before its save
    const open = await save(t, n);
    await checkRanges(new BlockSummaries(path, PAIRS, epoch, n, open, C), items, n, rng(6));
  });
});
