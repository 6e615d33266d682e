import assert from "node:assert/strict";
import { H, toHex } from "../core/mod.ts";
import { prng, rejectsCode } from "../tests/util.ts";
import { AttachmentStore } from "./attachment_store.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-att-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("AttachmentStore stores content-addressed files and returns undefined when absent", async () => {
  await withDir(async (dir) => {
    const st = await AttachmentStore.open(`${dir}/attachments`, { maxBytes: 1000 });
    const bytes = prng(1).bytes(1000);
    const coid = H(bytes);
    assert.equal(await st.get(coid), undefined);
    assert.equal(await st.has(coid), false);
    assert.deepEqual(await st.put(bytes), coid);
    assert.deepEqual(await st.put(bytes), coid); // idempotent
    assert.deepEqual(await st.get(coid), bytes);
    const hex = toHex(coid);
    const files = [...Deno.readDirSync(`${dir}/attachments/${hex.slice(0, 2)}`)].map((e) => e.name);
    assert.deepEqual(files, [hex]);
    assert.equal(Deno.statSync(`${dir}/attachments`).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(`${dir}/attachments/${hex.slice(0, 2)}/${hex}`).mode! & 0o777, 0o600);
    // reopen
    const st2 = await AttachmentStore.open(`${dir}/attachments`);
    assert.deepEqual(await st2.get(coid), bytes);
  });
});

Deno.test("AttachmentStore refuses oversize attachments and malformed coids with E.SIZE", async () => {
  await withDir(async (dir) => {
    const st = await AttachmentStore.open(`${dir}/attachments`, { maxBytes: 10 });
    const big = new Uint8Array(11);
    await rejectsCode(() => st.put(big), "E.SIZE");
    await rejectsCode(() => st.get(new Uint8Array(31)), "E.SIZE");
    assert.equal(await st.has(H(big)), false);
  });
});

Deno.test("AttachmentStore reports a corrupted stored file as E.UNAVAILABLE", async () => {
  await withDir(async (dir) => {
    const st = await AttachmentStore.open(`${dir}/attachments`);
    const bytes = new Uint8Array([1, 2, 3]);
    const coid = H(bytes);
    await st.put(bytes);
    const hex = toHex(coid);
    await Deno.writeFile(`${dir}/attachments/${hex.slice(0, 2)}/${hex}`, new Uint8Array([9]));
    await rejectsCode(() => st.get(coid), "E.UNAVAILABLE");
  });
});
