import assert from "node:assert/strict";
import { CommandError } from "../cmd/mod.ts";
import { ensurePrivateDir, exists, readInputFile, writeFileAtomic } from "./files.ts";
import { tempDir } from "./testing/run.ts";

Deno.test("writeFileAtomic() replaces the file with mode 0600 and leaves no temporary files", async () => {
  const t = await tempDir();
  try {
    await writeFileAtomic(`${t.path}/f`, "one");
    await writeFileAtomic(`${t.path}/f`, "two");
    assert.equal(await Deno.readTextFile(`${t.path}/f`), "two");
    assert.equal((await Deno.stat(`${t.path}/f`)).mode! & 0o777, 0o600);
    const names = [];
    for await (const e of Deno.readDir(t.path)) names.push(e.name);
    assert.deepEqual(names, ["f"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("writeFileAtomic() removes its temporary file when the rename fails", async () => {
  const t = await tempDir();
  try {
    await Deno.mkdir(`${t.path}/taken/inner`, { recursive: true });
    await assert.rejects(() => writeFileAtomic(`${t.path}/taken`, "x"));
    const names = [];
    for await (const e of Deno.readDir(t.path)) names.push(e.name);
    assert.deepEqual(names, ["taken"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("ensurePrivateDir() makes 0700 directories; readInputFile() fails as a usage error", async () => {
  const t = await tempDir();
  try {
    await ensurePrivateDir(`${t.path}/a/b`);
    assert.equal((await Deno.stat(`${t.path}/a/b`)).mode! & 0o777, 0o700);
    assert.equal(await exists(`${t.path}/a/b`), true);
    assert.equal(await exists(`${t.path}/nope`), false);
    await assert.rejects(
      () => readInputFile(`${t.path}/nope`, "MSG"),
      (e: unknown) => e instanceof CommandError && e.kind === "usage",
    );
  } finally {
    await t.cleanup();
  }
});
