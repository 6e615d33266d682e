import assert from "node:assert/strict";
import { withDir } from "../tests/log_util.ts";
import { writeFileAtomic } from "./files.ts";

Deno.test("writeFileAtomic replaces a file and removes its temporary file when the rename fails", async () => {
  await withDir(async (dir) => {
    await writeFileAtomic(dir, "a.idx", new Uint8Array([1, 2]));
    await writeFileAtomic(dir, "a.idx", new Uint8Array([3]));
    assert.deepEqual(await Deno.readFile(`${dir}/a.idx`), new Uint8Array([3]));
    await Deno.mkdir(`${dir}/taken/inner`, { recursive: true });
    await assert.rejects(() => writeFileAtomic(dir, "taken", new Uint8Array([4])));
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["a.idx", "taken"]);
  });
});
