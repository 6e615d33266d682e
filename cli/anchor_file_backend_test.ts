import assert from "node:assert/strict";
import { FileAnchorBackend } from "./anchor_file_backend.ts";
import { tempDir } from "./testing/run.ts";

const root = (n: number) => new Uint8Array(32).fill(n);

Deno.test("file anchor backend: the log of cmd/anchor_file_log.ts plus the CHECKPOINT bindings", async () => {
  const t = await tempDir();
  try {
    const b = new FileAnchorBackend(`${t.path}/a`);
    const r0 = await b.publish(root(1), 1, 10, new Uint8Array([1, 2]));
    assert.equal(await b.verify(root(1), r0), true);
    // Bindings: the CHECKPOINT bytes beside the ref, and the ref indexed by root.
    await b.storeBinding(r0, new Uint8Array([0x87]), root(1));
    assert.deepEqual(await Deno.readFile(b.bindingPath(r0)), new Uint8Array([0x87]));
    assert.deepEqual(await b.refForRoot(root(1)), r0);
    assert.equal(await b.refForRoot(root(9)), undefined);
  } finally {
    await t.cleanup();
  }
});
