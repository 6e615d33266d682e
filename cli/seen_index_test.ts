/** The seen-key index: lookups only for asked keys, tags against the summary's upto_seq, epochs apart and marked. */
import assert from "node:assert/strict";
import { newEpoch, SeenIndex, withoutSeen } from "./seen_index.ts";
import { tempDir } from "./testing/run.ts";

Deno.test("seen index: a key counts as seen only at a tag the summary covers, in its own epoch", async () => {
  const t = await tempDir();
  try {
    const path = `${t.path}/overlays/x.kv`;
    const epoch = newEpoch();
    assert.equal(await SeenIndex.holds(path, epoch), false, "no file");
    const fresh = new SeenIndex(path, epoch, false);
    const seen = new Set<string>();
    await fresh.preload(["a", "b"], seen, 0);
    assert.equal(fresh.lookups, 0, "a new epoch holds nothing: no lookup");
    seen.add("a");
    seen.add("b");
    assert.equal(await fresh.flush(seen, 5), 2);
    assert.equal(await fresh.flush(seen, 5), 0, "written once");
    fresh.close();
    assert.equal(await SeenIndex.holds(path, epoch), true);
    // The first save of an epoch marks it, even with no key to write.
    const bare = newEpoch();
    const empty = new SeenIndex(path, bare, false);
    assert.equal(await SeenIndex.holds(path, bare), false);
    assert.equal(await empty.flush(new Set(), 1), 0);
    empty.close();
    assert.equal(await SeenIndex.holds(path, bare), true);

    // Saved at upto_seq 5; "c" written by a later save whose summary never landed (tag 9).
    const late = new SeenIndex(path, epoch, true);
    const s2 = new Set(["c"]);
    assert.equal(await late.flush(s2, 9), 1);
    late.close();

    const warm = new SeenIndex(path, epoch, true);
    const got = new Set<string>();
    await warm.preload(["a", "c", "z"], got, 5);
    assert.deepEqual([...got], ["a"], "c is tagged above upto_seq 5, z absent");
    assert.equal(warm.lookups, 3);
    await warm.preload(["a"], got, 5);
    assert.equal(warm.lookups, 3, "a key already in the set is not asked again");
    // After the summary at 9 lands, "c" counts.
    await warm.preload(["c"], got, 9);
    assert.ok(got.has("c"));
    // Keys already stored are not written again; a new one is.
    got.add("d");
    assert.equal(await warm.flush(got, 10), 1);
    warm.close();

    const other = new SeenIndex(path, newEpoch(), true);
    const none = new Set<string>();
    await other.preload(["a", "b", "c", "d"], none, 100);
    assert.equal(none.size, 0, "another epoch's keys are never read");
    other.close();
  } finally {
    await t.cleanup();
  }
});

Deno.test("withoutSeen: the JSON is made without the set, which is put back", () => {
  const seen = new Set(["k1", "k2"]);
  const json = withoutSeen(seen, () => ({ seen: [...seen] }));
  assert.deepEqual(json, { seen: [] });
  assert.deepEqual([...seen].sort(), ["k1", "k2"]);
  assert.throws(() =>
    withoutSeen(seen, () => {
      throw new Error("boom");
    })
  );
  assert.equal(seen.size, 2);
});
