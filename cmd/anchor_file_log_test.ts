import assert from "node:assert/strict";
import { ANCHOR_RECORD_LEN } from "../overlays/mod.ts";
import { rejectsCode } from "../tests/util.ts";
import { FileAnchorLog } from "./anchor_file_log.ts";

const root = (n: number) => new Uint8Array(32).fill(n);

Deno.test("file anchor log: publish, verify, torn tail cut off, damaged tail refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-anchor-log-" });
  try {
    const b = new FileAnchorLog(`${dir}/a`);
    assert.equal(await b.verify(root(1), new Uint8Array(40)), false); // no log yet
    const r0 = await b.publish(root(1), 1, 10, new Uint8Array([1, 2]));
    const r1 = await b.publish(root(2), 2, 20, new Uint8Array(0));
    assert.equal(await b.verify(root(1), r0), true);
    assert.equal(await b.verify(root(2), r1), true);
    assert.equal(await b.verify(root(2), r0), false);
    assert.equal(await b.verify(root(1), r0.subarray(1)), false);
    // A torn append (crash before anchor_ref was returned) is cut off by the next publish.
    const f = await Deno.open(b.logPath, { append: true });
    await f.write(new Uint8Array(17).fill(0xaa));
    f.close();
    const r2 = await b.publish(root(3), 3, 30, new Uint8Array(0));
    assert.equal((await Deno.stat(b.logPath)).size, 3 * ANCHOR_RECORD_LEN);
    assert.equal(await b.verify(root(3), r2), true);
    // A damaged last record is never chained onto.
    const bytes = await Deno.readFile(b.logPath);
    bytes[bytes.length - 1]! ^= 1;
    await Deno.writeFile(b.logPath, bytes);
    await rejectsCode(() => b.publish(root(4), 4, 40, new Uint8Array(0)), "E.SIG");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
