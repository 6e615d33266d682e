import assert from "node:assert/strict";
import { withDir } from "../tests/log_util.ts";
import { RecordFile } from "./record_file.ts";
import { StorageDamage } from "./storage_damage.ts";

Deno.test("RecordFile appends, reads and repairs its tail after the indexed offset", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/checkpoints.cborseq`;
    let { file, tail } = await RecordFile.open(path, 0);
    assert.equal(tail.length, 0);
    const locs = await file.append([new Uint8Array([1]), new Uint8Array([2, 2])]);
    const locs2 = await file.append([new Uint8Array([3, 3, 3])]);
    assert.deepEqual([...(await file.read(...locs[1]!))], [2, 2]);
    const size = file.size;
    await file.close();
    await Deno.writeFile(path, new Uint8Array([0x82, 0x44, 1]), { append: true }); // torn record
    const repairs: string[] = [];
    ({ file, tail } = await RecordFile.open(path, locs2[0]![0], { onRepair: (w) => repairs.push(w) }));
    assert.deepEqual(tail.map((t) => [...t.body]), [[3, 3, 3]]);
    assert.equal(file.size, size);
    assert.equal((await Deno.stat(path)).size, size);
    assert.equal(repairs.length, 1);
    await file.close();
  });
});

Deno.test("a read of a corrupt record file record is StorageDamage naming the file and the record's offset", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/admissions.cborseq`;
    const { file } = await RecordFile.open(path, 0, { relPath: "admissions.cborseq" });
    const locs = await file.append([new Uint8Array([1, 1]), new Uint8Array([2, 2])]);
    const [off, len] = locs[1]!;
    const bytes = await Deno.readFile(path);
    bytes[off + len - 1]! ^= 1;
    await Deno.writeFile(path, bytes);
    assert.deepEqual([...file.read(...locs[0]!)], [1, 1]);
    for (const read of [() => file.read(off, len), () => file.readAll()]) {
      const e = await (async () => {
        try {
          await read();
        } catch (e) {
          return e;
        }
      })();
      assert.ok(e instanceof StorageDamage, String(e));
      assert.deepEqual([e.file, e.offset], ["admissions.cborseq", off]);
    }
    await file.close();
  });
});
