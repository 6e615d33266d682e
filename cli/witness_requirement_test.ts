import assert from "node:assert/strict";
import { signingKeyFromSeed, toHex } from "../core/mod.ts";
import { dirWithHubKey } from "../tests/fixture.ts";
import { type RealHub, startRealHub } from "./testing/real_hub.ts";
import { newClient, runCli, tempDir } from "./testing/run.ts";

const A = signingKeyFromSeed(new Uint8Array(32).fill(51));
const STRANGER = toHex(signingKeyFromSeed(new Uint8Array(32).fill(52)).public);

Deno.test("clients can require k witnesses: a CHECKPOINT cosigned by exactly k trusted witnesses passes, k-1 fails", async () => {
  const t = await tempDir();
  const hubs: RealHub[] = [];
  try {
    const witnessFor = [toHex(A.public)];
    const w1 = await startRealHub(`${t.path}/w1`, { config: { witnessFor } });
    hubs.push(w1);
    const w2 = await startRealHub(`${t.path}/w2`, { config: { witnessFor } });
    hubs.push(w2);
    const a = await startRealHub(await dirWithHubKey(t.path, "a", A), {
      checkpointEvery: 2,
      config: { witnesses: [w1.url, w2.url] },
    });
    hubs.push(a);
    const c = await newClient(t.path, "c");
    const base = ["--hub", a.url, "--stream", "w/k"];
    assert.equal((await runCli(["bench", "send", ...base, "--client", c, "--count", "2"])).code, 0);
    await a.settled();
    const need = (k: number, keys: string[]) => [
      "--require-witnesses",
      String(k),
      ...keys.flatMap((x) => ["--witness-key", x]),
    ];
    const cp = (k: number, ...keys: string[]) =>
      runCli(["hub", "checkpoint", ...base, ...need(k, keys), "--json"]);
    const [k1, k2] = [toHex(w1.hubPk), toHex(w2.hubPk)];
    const two = await cp(2, k1, k2);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(two.json().trusted_witnesses, 2);
    // k = 2 with one trusted key that did not sign: k - 1 valid signatures.
    const short = await cp(2, k1, STRANGER);
    assert.equal(short.code, 4);
    assert.match(short.stdout + short.stderr, /"E\.SIG".*signatures of 1 trusted witnesses, 2 required/);
    assert.equal((await cp(3, k1, k2, STRANGER)).code, 4);
    assert.equal((await cp(1, STRANGER, k2)).code, 0);
    // Fewer distinct keys than k is a usage error.
    assert.equal((await cp(2, k1, k1)).code, 1);

    // verify-state and resync apply the same requirement.
    const state = ["--hub", a.url, "--client", c, "--stream", "w/k"];
    assert.equal(
      (await runCli(["resync", ...state, "--require-witnesses", "2", "--witness-key", k1])).code,
      1,
    );
    assert.equal((await runCli(["resync", ...state, ...need(2, [k1, STRANGER])])).code, 4);
    assert.equal((await runCli(["verify-state", ...state, ...need(2, [k1, k2])])).code, 0);
  } finally {
    for (const h of hubs) await h.close();
    await t.cleanup();
  }
});
