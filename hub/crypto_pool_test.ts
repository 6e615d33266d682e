import assert from "node:assert/strict";
import { ed25519Sign, ed25519Verify, Ht, signingKeyFromSeed, utf8 } from "../core/mod.ts";
import { CryptoPool } from "./crypto_pool.ts";
import type { Slots } from "./slots.ts";

const hub = signingKeyFromSeed(new Uint8Array(32).fill(8));
const client = signingKeyFromSeed(new Uint8Array(32).fill(9));

for (const workers of [0, 1, 2]) {
  Deno.test(`crypto pool (${workers} workers) verifies and signs exactly like inline Ed25519`, async () => {
    const pool = await CryptoPool.start(hub.secret, workers);
    try {
      const digests = Array.from({ length: 50 }, (_, i) => Ht("test", utf8(String(i))));
      const sigs = await Promise.all(digests.map((d) => pool.signOne(d)));
      digests.forEach((d, i) => assert.ok(ed25519Verify(hub.public, d, sigs[i]!)));
      const results = await Promise.all(digests.map((d, i) => pool.verify(hub.public, d, sigs[i]!)));
      assert.ok(results.every((r) => r));
      const bad = sigs[0]!.slice();
      bad[10]! ^= 1;
      assert.equal(await pool.verify(hub.public, digests[0]!, bad), false);
      assert.equal(await pool.verify(client.public, digests[0]!, sigs[0]!), false);
      assert.deepEqual(
        sigs.slice(0, 5),
        digests.slice(0, 5).map((d) => ed25519Sign(hub.secret, d)),
        "Ed25519 is deterministic: signOne gives inline signing's bytes",
      );
      await assert.rejects(
        pool.signOne(new Uint8Array(31)),
        (e: unknown) => (e as { code?: string }).code === "E.SIZE",
      );
      assert.equal(pool.inline, workers === 0);
    } finally {
      pool.close();
    }
  });
}

Deno.test("crypto pool: more jobs than ring slots queue and all finish in order", async () => {
  const pool = await CryptoPool.start(hub.secret, 1);
  try {
    assert.equal(pool.inline, false);
    const digests = Array.from({ length: 5000 }, (_, i) => Ht("test", utf8(`d${i}`)));
    const sigs = await Promise.all(digests.map((d) => pool.signOne(d)));
    assert.equal(sigs.length, 5000);
    const swapped = await Promise.all(
      digests.map((d, i) => pool.verify(hub.public, d, sigs[(i + 1) % 5000]!)),
    );
    assert.ok(swapped.every((ok) => ok === false));
    const right = await Promise.all(digests.map((d, i) => pool.verify(hub.public, d, sigs[i]!)));
    assert.ok(right.every((ok) => ok === true));
    const spot = [0, 1, 4095, 4096, 4999];
    for (const i of spot) assert.ok(ed25519Verify(hub.public, digests[i]!, sigs[i]!), `signature ${i}`);
  } finally {
    pool.close();
  }
});

Deno.test("crypto pool: a lone job completes while the event loop has nothing else to do", async () => {
  const pool = await CryptoPool.start(hub.secret, 1);
  try {
    for (let i = 0; i < 200; i++) {
      const d = Ht("lone", utf8(String(i)));
      const sig = await pool.signOne(d);
      assert.equal(await pool.verify(hub.public, d, sig), true);
    }
  } finally {
    pool.close();
  }
});

Deno.test("crypto pool: close refuses pending work with E.UNAVAILABLE and later work runs inline", async () => {
  const pool = await CryptoPool.start(hub.secret, 1);
  const digests = Array.from({ length: 3000 }, (_, i) => Ht("close", utf8(String(i))));
  const pending = Promise.all(digests.map((d) => pool.signOne(d)));
  pool.close();
  await assert.rejects(pending, (e: unknown) => (e as { code?: string }).code === "E.UNAVAILABLE");
  assert.equal(pool.inline, true);
  const sig = await pool.signOne(digests[0]!);
  assert.ok(ed25519Verify(hub.public, digests[0]!, sig));
  await assert.rejects(
    pool.signOne(new Uint8Array(31)),
    (e: unknown) => (e as { code?: string }).code === "E.SIZE",
  );
});

Deno.test("crypto pool: a process exits by itself once its pool is closed (the idle worker leaves Atomics.wait)", async () => {
  const script = `
    import { CryptoPool } from ${JSON.stringify(new URL("./crypto_pool.ts", import.meta.url).href)};
    import { SLEEPING } from ${JSON.stringify(new URL("./crypto_ring.ts", import.meta.url).href)};
    const pool = await CryptoPool.start(new Uint8Array(32).fill(1), 1);
    await pool.signOne(new Uint8Array(32));
    // Close only once the idle worker has gone to sleep in Atomics.wait (it sets SLEEPING just before).
    const control = pool.ring.control;
    while (Atomics.load(control, SLEEPING) !== 1);
    pool.close();
    console.log("closed");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const out = await child.output();
  clearTimeout(timer);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "closed");
  assert.equal(
    out.code,
    0,
    `exited with ${out.code} (signal ${out.signal}): ${new TextDecoder().decode(out.stderr)}`,
  );
});

Deno.test("crypto pool: a RECEIPT signature queued behind thousands of verifications is served before them", async () => {
  const pool = await CryptoPool.start(hub.secret, 1);
  try {
    const d = Ht("verify", utf8("x"));
    const sig = ed25519Sign(client.secret, d);
    let verified = 0;
    const count: Slots<boolean> = { put: () => void verified++, fail: () => {} };
    for (let i = 0; i < 2000; i++) pool.verifyInto(client.public, d, sig, count, i);
    const signed = await pool.signOne(Ht("receipt", utf8("y")));
    assert.ok(ed25519Verify(hub.public, Ht("receipt", utf8("y")), signed));
    // First in, first out would finish all 2000 before it; the worker takes a signature between any two.
    assert.ok(verified < 1000, `${verified} verifications finished before the signature`);
    while (verified < 2000) await pool.verify(client.public, d, sig);
  } finally {
    pool.close();
  }
});
