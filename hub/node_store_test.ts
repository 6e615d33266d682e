import assert from "node:assert/strict";
import { MmrAccumulator, nodeCountForLeaves, toHex } from "../core/mod.ts";
import { prng, throwsCode } from "../tests/util.ts";
import { NODE_BYTES, NodeStore, POS_BYTES, PosStore } from "./node_store.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-nodes-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function grow(acc: MmrAccumulator, n: number, seed: number): Uint8Array[] {
  const r = prng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(...acc.append(r.bytes(32)).newNodes);
  return out;
}

Deno.test("NodeStore writes nodes at their positions and reads any set of positions back", async () => {
  await withDir(async (dir) => {
    const ns = await NodeStore.open(`${dir}/mmr`);
    const label = new Uint8Array(32).fill(9);
    const acc = new MmrAccumulator();
    const all: Uint8Array[] = [];
    for (let b = 0; b < 10; b++) {
      const nodes = grow(acc, 37, b);
      await ns.writeAndSync(label, all.length, nodes);
      all.push(...nodes);
    }
    assert.equal(all.length, nodeCountForLeaves(370));
    assert.equal((await Deno.stat(`${dir}/mmr/${toHex(label)}.nodes`)).size, all.length * NODE_BYTES);
    const r = prng(1);
    for (let t = 0; t < 50; t++) {
      const pos = Array.from({ length: 1 + r.int(20) }, () => r.int(all.length));
      assert.deepEqual(ns.readHashes(label, pos, all.length), pos.map((p) => all[p]));
    }
    throwsCode(() => ns.readHashes(label, [all.length], all.length), "E.NOT_FOUND");
    throwsCode(() => ns.readHashes(label, [-1], all.length), "E.NOT_FOUND");
    await ns.close();
  });
});

Deno.test("NodeStore.reconcile truncates long files, removes orphans and reports short ones", async () => {
  await withDir(async (dir) => {
    const ns = await NodeStore.open(`${dir}/mmr`);
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    const c = new Uint8Array(32).fill(3);
    await ns.writeAndSync(a, 0, grow(new MmrAccumulator(), 8, 1)); // 15 nodes
    await ns.writeAndSync(b, 0, grow(new MmrAccumulator(), 2, 2)); // 3 nodes
    await ns.writeAndSync(c, 0, grow(new MmrAccumulator(), 1, 3)); // 1 node
    await ns.close();
    const ns2 = await NodeStore.open(`${dir}/mmr`);
    const want: Record<string, number> = { [toHex(a)]: 11, [toHex(b)]: 4 };
    const repairs: string[] = [];
    const { short } = await ns2.reconcile((hex) => want[hex] ?? 0, (w) => repairs.push(w));
    assert.deepEqual(short, [toHex(b)]);
    assert.equal((await Deno.stat(`${dir}/mmr/${toHex(a)}.nodes`)).size, 11 * NODE_BYTES);
    await assert.rejects(Deno.stat(`${dir}/mmr/${toHex(c)}.nodes`), Deno.errors.NotFound);
    assert.equal(repairs.length, 2);
    await ns2.close();
  });
});

Deno.test("NodeStore overwrites stale bytes past the committed count", async () => {
  await withDir(async (dir) => {
    const ns = await NodeStore.open(`${dir}/mmr`);
    const label = new Uint8Array(32).fill(4);
    await ns.writeAndSync(label, 0, [new Uint8Array(32).fill(0xaa), new Uint8Array(32).fill(0xbb)]);
    await ns.writeAndSync(label, 1, [new Uint8Array(32).fill(0xcc)]);
    const [x, y] = ns.readHashes(label, [0, 1], 2);
    assert.equal(x![0], 0xaa);
    assert.equal(y![0], 0xcc);
    await ns.close();
  });
});

Deno.test("PosStore keeps 24-byte log locations per stream_seq, including offsets past 2^32", async () => {
  await withDir(async (dir) => {
    const ps = await PosStore.open(`${dir}/pos`);
    const label = new Uint8Array(32).fill(5);
    const locs = Array.from({ length: 100 }, (_, i) => ({
      seg: i >> 3,
      rOff: 2 ** 40 + i * 1000,
      rLen: 300 + i,
      pOff: i * 7000,
      pLen: 2 ** 31 + i,
    }));
    await ps.writeAndSync(label, 1, locs.slice(0, 60));
    await ps.writeAndSync(label, 61, locs.slice(60));
    assert.equal((await Deno.stat(`${dir}/pos/${toHex(label)}.pos`)).size, 100 * POS_BYTES);
    assert.deepEqual(ps.read(label, 1, 100), locs);
    assert.deepEqual(ps.read(label, 42, 3), locs.slice(41, 44));
    throwsCode(() => ps.read(label, 99, 5), "E.UNAVAILABLE");
    const { short } = await ps.reconcile(() => 90, undefined, [toHex(label), "ab"]);
    assert.deepEqual(short, ["ab"]); // a label the index knows has no file
    assert.equal((await Deno.stat(`${dir}/pos/${toHex(label)}.pos`)).size, 90 * POS_BYTES);
    await ps.close();
  });
});

Deno.test("NodeStore buffers commits: readable at once, in the file only after syncDirty, gaps written out first", async () => {
  await withDir(async (dir) => {
    const ns = await NodeStore.open(`${dir}/mmr`);
    const label = new Uint8Array(32).fill(6);
    const path = `${dir}/mmr/${toHex(label)}.nodes`;
    const acc = new MmrAccumulator();
    const first = grow(acc, 8, 1); // 15 nodes
    await ns.writeAndSync(label, 0, first);
    const more = grow(acc, 8, 2); // 16 more: 31 nodes
    await ns.write(label, first.length, more.slice(0, 10));
    await ns.write(label, first.length + 10, more.slice(10));
    assert.equal((await Deno.stat(path)).size, first.length * NODE_BYTES, "buffered, not yet written");
    const all = [...first, ...more];
    const positions = [0, 14, 15, 20, 30, 3];
    assert.deepEqual(ns.readHashes(label, positions, all.length), positions.map((p) => all[p]));
    throwsCode(() => ns.files.readRun(label, 29, 3), "E.UNAVAILABLE");
    await ns.syncDirty();
    assert.equal((await Deno.stat(path)).size, all.length * NODE_BYTES);
    assert.deepEqual(ns.readHashes(label, positions, all.length), positions.map((p) => all[p]));
    // A write that does not continue the buffer writes the buffer out first, then overwrites.
    await ns.write(label, all.length, [new Uint8Array(32).fill(1)]);
    await ns.write(label, 2, [new Uint8Array(32).fill(2)]);
    assert.equal((await Deno.stat(path)).size, (all.length + 1) * NODE_BYTES);
    await ns.syncDirty();
    const [a, b] = ns.readHashes(label, [2, all.length], all.length + 1);
    assert.equal(a![0], 2);
    assert.equal(b![0], 1);
    await ns.close();
    const again = await NodeStore.open(`${dir}/mmr`);
    assert.equal(again.readHashes(label, [all.length], all.length + 1)[0]![0], 1);
    await again.close();
  });
});
