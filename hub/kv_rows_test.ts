/** hub/kv_rows.ts: every value type the hub stores round-trips through a line, and malformed lines are refused. */
import assert from "node:assert/strict";
import { decodeKvRow, dumpKv, encodeKvRow, loadKv } from "./kv_rows.ts";

Deno.test("KV rows round-trip through dump and load: bytes, bigints, KvU64, nested arrays and objects", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-kvrows-" });
  try {
    const src = await Deno.openKv(`${dir}/a.kv`);
    const rows: [Deno.KvKey, unknown][] = [
      [["head", new Uint8Array([0, 1, 255])], {
        seq: 3,
        peaks: [new Uint8Array(32).fill(7)],
        root: new Uint8Array(32),
        lastHubTs: 1,
      }],
      [["meta", "indexed"], [1, 2, 3, 4]],
      [["att_seg", 5, new Uint8Array([9])], true],
      [["n", 1n], new Deno.KvU64(2n ** 60n)],
      [["s"], { a: null, b: "x", c: -1.5, d: 2n ** 70n }],
    ];
    for (const [k, v] of rows) await src.set(k, v);
    const lines = await dumpKv(src);
    src.close();
    // More rows than one atomic holds.
    const many = Array.from(
      { length: 1200 },
      (_, i) => encodeKvRow([["c", i], new Uint8Array(100).fill(i % 256)]),
    );
    assert.equal(await loadKv(`${dir}/b.kv`, [...lines, ...many]), rows.length + 1200);
    const dst = await Deno.openKv(`${dir}/b.kv`);
    try {
      for (const [k, v] of rows) assert.deepEqual((await dst.get(k)).value, v);
      assert.deepEqual((await dst.get(["c", 1199])).value, new Uint8Array(100).fill(1199 % 256));
    } finally {
      dst.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a line that is not a row is refused", () => {
  for (
    const bad of ["", "{", "[]", "[[],1]", '[["a"]]', '[[{"$b":"zz"}],1]', '[["a"],{"$x":1}]', "[[null],1]"]
  ) {
    assert.throws(() => decodeKvRow(bad), /E\.SIZE/, bad);
  }
  assert.throws(() => encodeKvRow([["a"], new Date()]), /unsupported type/);
});
