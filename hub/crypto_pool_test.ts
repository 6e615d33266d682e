import assert from "node:assert/strict";
import { ed25519Verify, Ht, signingKeyFromSeed, utf8 } from "../core/mod.ts";
import { CryptoPool } from "./crypto_pool.ts";

const hub = signingKeyFromSeed(new Uint8Array(32).fill(8));
const client = signingKeyFromSeed(new Uint8Array(32).fill(9));

for (const workers of [0, 1]) {
  Deno.test(`crypto pool (${workers} workers) verifies and signs exactly like inline Ed25519`, async () => {
    const pool = await CryptoPool.start(hub.secret, workers);
    try {
      const digests = Array.from({ length: 50 }, (_, i) => Ht("test", utf8(String(i))));
      const sigs = await pool.sign(digests);
      digests.forEach((d, i) => assert.ok(ed25519Verify(hub.public, d, sigs[i]!)));
      const results = await Promise.all(digests.map((d, i) => pool.verify(hub.public, d, sigs[i]!)));
      assert.ok(results.every((r) => r));
      const bad = sigs[0]!.slice();
      bad[10]! ^= 1;
      assert.equal(await pool.verify(hub.public, digests[0]!, bad), false);
      assert.equal(await pool.verify(client.public, digests[0]!, sigs[0]!), false);
      assert.equal(pool.inline, workers === 0);
    } finally {
      pool.close();
    }
  });
}
