/** COMP0.3 read rate limit on a real hub: /stream and proofs get 429 E.RATE with Retry-After past the burst. */
import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { errorCode, http, submit, withHub, Writer } from "../tests/fixture.ts";

Deno.test("read_rate_per_sec limits /stream and /proof per peer with 429 and Retry-After; other routes are free", async () => {
  await withHub({ readRatePerSec: 1, readRateBurst: 3 }, async (hub) => {
    const w = new Writer("reads/limited", 3);
    assert.equal((await submit(hub.url, w.msg())).status, 200);
    const label = toHex(w.label);
    assert.equal((await http(`${hub.url}/stream?label=${label}`)).status, 200);
    assert.equal((await http(`${hub.url}/proof?label=${label}&seq=1`)).status, 200);
    assert.equal((await http(`${hub.url}/receipt?label=${label}&seq=1`)).status, 200);
    const limited = await http(`${hub.url}/stream?label=${label}&with_proof=1`);
    assert.deepEqual([limited.status, errorCode(limited)], [429, "E.RATE"]);
    assert.equal(limited.headers.get("retry-after"), "1");
    const proof = await http(`${hub.url}/proof?label=${label}&seq=1`);
    assert.equal(proof.status, 429);
    assert.equal((await http(`${hub.url}/healthz`)).status, 200);
    assert.equal((await submit(hub.url, w.msg())).status, 200, "submits are not read-limited");
    const text = new TextDecoder().decode((await http(`${hub.url}/metrics`)).body);
    assert.match(text, /^veen_read_rate_limited_total 2$/m);
  });
});

Deno.test("without read_rate_per_sec reads are not limited", async () => {
  await withHub({}, async (hub) => {
    const w = new Writer("reads/free", 4);
    assert.equal((await submit(hub.url, w.msg())).status, 200);
    for (let i = 0; i < 20; i++) {
      assert.equal((await http(`${hub.url}/stream?label=${toHex(w.label)}`)).status, 200);
    }
  });
});
