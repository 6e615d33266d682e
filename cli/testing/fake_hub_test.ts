import assert from "node:assert/strict";
import { decodeErrorBody, decodeReceipt } from "../../core/mod.ts";
import { startFakeHub } from "./fake_hub.ts";
import { encodeMsg, makeMsg } from "./fixtures.ts";

Deno.test("the fake hub sequences MSGs and rejects a repeated client_seq with E.SEQ", async () => {
  const hub = await startFakeHub({ dataDir: await Deno.makeTempDir() });
  try {
    const m1 = encodeMsg(await makeMsg(1));
    assert.equal(decodeReceipt(hub.submitBytes(m1)).streamSeq, 1);
    const res = await fetch(`${hub.url}/submit`, { method: "POST", body: m1 as BodyInit });
    assert.equal(res.status, 409);
    assert.equal(decodeErrorBody(new Uint8Array(await res.arrayBuffer()))?.code, "E.SEQ");
    const garbage = await fetch(`${hub.url}/submit`, {
      method: "POST",
      body: new Uint8Array([1, 2]) as BodyInit,
    });
    assert.equal(garbage.status, 413);
    await garbage.body?.cancel();
  } finally {
    await hub.close();
  }
});
