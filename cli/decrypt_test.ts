import assert from "node:assert/strict";
import { DEFAULT_PROFILE } from "../core/mod.ts";
import { decodeBody } from "./body.ts";
import { openEntry, openForClient } from "./decrypt.ts";
import { HPKE_SK, makeLog, makeMsg } from "./testing/fixtures.ts";

Deno.test("openForClient() opens with any held secret and reports foreign payloads as not decryptable", async () => {
  const m = await makeMsg(1, { body: { hello: "world" } });
  const other = new Uint8Array(32).fill(99);
  const ok = await openForClient(m, DEFAULT_PROFILE, [other, HPKE_SK]);
  assert.ok(ok.ok);
  if (ok.ok) assert.deepEqual(decodeBody(ok.payload.body, false).json, { hello: "world" });
  assert.deepEqual(await openForClient(m, DEFAULT_PROFILE, [other]), {
    ok: false,
    reason: "not decryptable by this client",
  });
  const bad = await openForClient({ ...m, ciphertext: m.ciphertext.subarray(0, 10) }, DEFAULT_PROFILE, [
    HPKE_SK,
  ]);
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.reason, /malformed payload/);
});

Deno.test("openEntry() is the item's position, sender and opened payload, or undefined when it cannot be opened", async () => {
  const { msgs, receipts } = await makeLog(2);
  const item = {
    receipt: receipts[1]!,
    receiptBytes: new Uint8Array(0),
    msg: msgs[1]!,
    msgBytes: new Uint8Array(0),
  };
  const e = await openEntry(item, DEFAULT_PROFILE, [HPKE_SK]);
  assert.ok(e !== undefined);
  assert.deepEqual(
    { seq: e.seq, msgId: e.msgId, clientId: e.clientId, hubTs: e.hubTs, authRef: e.authRef },
    { seq: 2, msgId: receipts[1]!.leafHash, clientId: msgs[1]!.clientId, hubTs: 1002, authRef: null },
  );
  assert.deepEqual(decodeBody(e.body, false).json, { n: 2 });
  assert.equal(await openEntry(item, DEFAULT_PROFILE, [new Uint8Array(32).fill(99)]), undefined);
});
