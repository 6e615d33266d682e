/**
 * hub/backup.ts on a DiskStore: the backup is the cut — entries committed after it (while the files are copied)
 * are not in it although their log, node and position bytes are on disk by then: the active segment is copied up
 * to the cut's offsets, and the metadata is the cut's heads. (A restore of such a backup: tests/backup_test.ts.)
 */
import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { fill, Gen, labelN } from "../tests/store_gen.ts";
import { writeBackup } from "./backup.ts";
import { openDiskStore } from "./disk_store.ts";
import { readBackup } from "./backup_format.ts";
import { loadOrCreateHubKey } from "./hub_key.ts";
import type { StoreCut } from "./store.ts";

Deno.test("a backup holds the cut: entries committed while it copies are left out", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-backup-" });
  try {
    const src = `${root}/src`;
    const { key } = await (async () => {
      await Deno.mkdir(src);
      return await loadOrCreateHubKey(src);
    })();
    const store = await openDiskStore(src, { segmentBytes: 256 * 1024 });
    const gen = new Gen(7);
    const labels = [labelN(1), labelN(2), labelN(3)];
    let cutHeads: StoreCut["heads"] = [];
    let cut: StoreCut | undefined;
    try {
      await fill(store, gen, labels, 150, 16);
      // Not yet indexed when the cut is taken (the index writer runs behind the log).
      await store.commit(gen.batch(labels, 9));
      const chunks: Uint8Array[] = [];
      const meta = await writeBackup({
        dataDir: src,
        store: {
          snapshot: (copy) =>
            store.snapshot(async (c) => {
              cut = c;
              cutHeads = c.heads;
              // After the cut, before the copy: these entries' bytes are on disk but not in the backup.
              await store.commit(gen.batch(labels, 40));
              await store.flushIndex();
              return await copy(c);
            }),
        },
        hubPk: key.public,
        taken: "offline",
        now: () => 1_700_000_000_000,
      }, (c) => Promise.resolve(void chunks.push(c)));
      assert.equal(meta.entries, 159);
      assert.deepEqual(
        meta.labels.map((l) => [l.label, l.last_stream_seq, l.mmr_root]),
        cutHeads.map((h) => [toHex(h.label), h.seq, toHex(h.root)]).sort(),
      );
      const file = `${root}/b`;
      await Deno.writeFile(file, new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer()));
      const sizes = new Map<string, number>();
      for await (const it of readBackup(file)) if (it.kind === "file") sizes.set(it.path, it.size);
      const seg = String(cut!.log.seg).padStart(8, "0");
      assert.equal(sizes.get(`receipts/${seg}.cborseq`), cut!.log.rOff);
      assert.equal(sizes.get(`payloads/${seg}.cborseq`), cut!.log.pOff);
      // One segment (no rotation at this size): it went on after the cut, the copy stops at the cut.
      assert.ok((await Deno.stat(`${src}/receipts/${seg}.cborseq`)).size > cut!.log.rOff, "the log went on");
      assert.equal(sizes.has(`receipts/${seg}.idx`), false);
      for (const p of sizes.keys()) assert.doesNotMatch(p, /index\.kv|views\.kv|lock|\.tmp/);
      assert.ok(
        sizes.has("hub_key") && sizes.has("mmr/" + toHex(labels[0]!) + ".nodes"),
        [...sizes.keys()].join(),
      );
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
