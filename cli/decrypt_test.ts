import assert from "node:assert/strict";
import { DEFAULT_PROFILE } from "../core/mod.ts";
import { decodeBody } from "./body.ts";
import { openForClient } from "./decrypt.ts";
import { HPKE_SK, makeMsg } from "./testing/fixtures.ts";

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
