/**
 * The record index: range lookups by key and stream_seq, rows above the summary's upto_seq never read and deleted
 * by the next write after a crash, large values in parts, a new epoch replacing the file of a discarded summary.
 */
import assert from "node:assert/strict";
import type { IndexRow } from "../overlays/mod.ts";
import { RecordIndex } from "./record_index.ts";
import { newEpoch, SeenIndex } from "./seen_index.ts";
import { tempDir } from "./testing/run.ts";

/** Row `seq` under the schema key and, when given, an account key. */
const row = (seq: number, schema: string, account?: string, note = ""): IndexRow => ({
  seq,
  keys: [["schema", schema], ...(account === undefined ? [] : [["account", account]])],
  value: { seq, schema, note },
});
const seqs = (rs: { seq: number }[]) => rs.map((r) => r.seq);

/** Runs `f` with the path of an index file in a fresh directory. */
async function withIndexPath(f: (path: string) => Promise<void>): Promise<void> {
  const t = await tempDir();
  try {
    await f(`${t.path}/overlays/x.kv`);
  } finally {
    await t.cleanup();
  }
}

/** How many KV entries of the file at `path` start with `prefix`. */
async function entriesUnder(path: string, prefix: Deno.KvKey): Promise<number> {
  const kv = await Deno.openKv(path);
  try {
    return (await Array.fromAsync(kv.list({ prefix }))).length;
  } finally {
    kv.close();
  }
}

Deno.test("record index: a key lists its rows in stream order within [from, upto], latest first on request", async () => {
  await withIndexPath(async (path) => {
    const epoch = newEpoch();
    const idx = new RecordIndex(path, epoch, undefined);
    assert.deepEqual(await idx.list(["schema", "paid"]), [], "a new epoch covers nothing");
    const rows = Array.from(
      { length: 40 },
      (_, i) => row(i + 1, i % 4 === 0 ? "audit" : "paid", `a${i % 3}`),
    );
    await idx.write(rows, 40);
    idx.covered = 40; // the summary at 40 landed
    assert.equal(await SeenIndex.holds(path, epoch), true, "the epoch is marked");
    assert.deepEqual(seqs(await idx.list(["schema", "audit"])), [1, 5, 9, 13, 17, 21, 25, 29, 33, 37]);
    assert.equal(idx.reads, 10, "only the rows of the key are read");
    assert.deepEqual(seqs(await idx.list(["schema", "paid"], { from: 10, upto: 16 })), [
      10,
      11,
      12,
      14,
      15,
      16,
    ]);
    assert.deepEqual(seqs(await idx.list(["account", "a1"], { upto: 20 })), [2, 5, 8, 11, 14, 17, 20]);
    assert.deepEqual(seqs(await idx.list(["account", "a1"], { upto: 20, reverse: true, limit: 1 })), [20]);
    assert.deepEqual(await idx.list(["account", "none"]), []);
    assert.deepEqual((await idx.list(["schema", "audit"], { from: 5, upto: 5 }))[0]!.value, {
      seq: 5,
      schema: "audit",
      note: "",
    });
    // A value over a KV value's size is stored in parts and read back whole.
    const big = "é".repeat(100_000);
    await idx.write([row(41, "paid", "a2", big)], 41);
    idx.covered = 41;
    const [got] = await idx.list(["account", "a2"], { from: 41 });
    assert.equal((got!.value as { note: string }).note, big);
  });
});

Deno.test("record index: after a crash between index and summary, rows above upto_seq are not read and are replaced", async () => {
  await withIndexPath(async (path) => {
    const epoch = newEpoch();
    const first = new RecordIndex(path, epoch, undefined);
    await first.write([row(1, "paid", "a"), row(2, "audit")], 3); // summary at 3 written
    // A save of items 4..6 whose summary never landed (the process stopped after the index write).
    const lost = new RecordIndex(path, epoch, 3);
    await lost.write([row(4, "paid", "a"), row(5, "paid", "b", "big ".repeat(5000)), row(6, "audit")], 6);

    // Resumed from the summary at 3: the rows of 4..6 are not covered.
    const resumed = new RecordIndex(path, epoch, 3);
    assert.deepEqual(seqs(await resumed.list(["schema", "paid"])), [1]);
    assert.deepEqual(seqs(await resumed.list(["schema", "audit"])), [2]);
    // The items after 3 are folded again — here the hub answers other ones — and saved at 6.
    await resumed.write([row(4, "audit"), row(6, "paid", "c")], 6);
    resumed.covered = 6;
    assert.deepEqual(seqs(await resumed.list(["schema", "paid"])), [1, 6], "no row left from the lost save");
    assert.deepEqual(seqs(await resumed.list(["schema", "audit"])), [2, 4]);
    assert.deepEqual(seqs(await resumed.list(["account", "a"])), [1]);
    assert.deepEqual(seqs(await resumed.list(["account", "b"])), []);
    assert.equal(await entriesUnder(path, ["part", epoch]), 0, "the parts of the lost row 5 are gone");
    // A save with no record still clears what a lost save left.
    const again = new RecordIndex(path, epoch, 6);
    await again.write([row(7, "paid", "a"), row(8, "paid", "a")], 8);
    const after = new RecordIndex(path, epoch, 6);
    await after.write([], 9);
    after.covered = 9;
    assert.deepEqual(seqs(await after.list(["account", "a"])), [1]);
  });
});

Deno.test("record index: a new epoch replaces the file, so a summary of the old epoch is no longer held", async () => {
  await withIndexPath(async (path) => {
    const old = newEpoch();
    await new RecordIndex(path, old, undefined).write([row(1, "paid", "a")], 1);
    assert.equal(await SeenIndex.holds(path, old), true);
    const fresh = newEpoch();
    const idx = new RecordIndex(path, fresh, undefined);
    await idx.write([], 5); // a fold from stream_seq 1 with no record still marks its epoch
    idx.covered = 5;
    assert.equal(await SeenIndex.holds(path, fresh), true);
    assert.equal(await SeenIndex.holds(path, old), false, "the old epoch's summary will be discarded");
    assert.deepEqual(await idx.list(["schema", "paid"]), []);
    assert.equal(await entriesUnder(path, []), 2, "only the marker and top");
  });
});
