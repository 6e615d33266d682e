import assert from "node:assert/strict";
import {
  decodeCbor,
  decodeCheckpoint,
  encodeCheckpoint,
  expectBytes,
  fromHex,
  signCheckpoint,
  toHex,
} from "../core/mod.ts";
import { startRealHub } from "./testing/real_hub.ts";
import { newClient, runCli, tempDir } from "./testing/run.ts";

/** The hub's signing seed, read from its data dir (the test plays a hub that signed two roots). */
async function hubSecret(dataDir: string): Promise<Uint8Array> {
  const m = decodeCbor(await Deno.readFile(`${dataDir}/hub_key`)) as Map<number, unknown>;
  return expectBytes(m.get(2) as Uint8Array, 32, "seed");
}

Deno.test("a client holding a signed CHECKPOINT that the hub's RECEIPT contradicts reports it and fails", async () => {
  const t = await tempDir();
  const hub = await startRealHub(`${t.path}/hub`, { checkpointEvery: 2 });
  try {
    const c = await newClient(t.path, "c");
    const base = ["--hub", hub.url, "--client", c, "--stream", "eq/x"];
    assert.equal((await runCli(["bench", "send", ...base, "--count", "2"])).code, 0);
    await hub.settled();
    assert.equal((await runCli(["resync", ...base])).code, 0);
    // A consistent stored CHECKPOINT passes again.
    assert.equal((await runCli(["verify-state", ...base])).code, 0);
    const info = async () => JSON.parse(await (await fetch(`${hub.url}/equivocations`)).text());
    assert.equal((await info()).count, 0);

    // The client's stored CHECKPOINT now says another root at the same upto_seq, signed by the hub key.
    const statePath = `${c}/state.json`;
    const state = JSON.parse(await Deno.readTextFile(statePath));
    const ls = Object.values(
      state.hubs as Record<
        string,
        { labels: Record<string, { checkpoint: { cbor: string; mmr_root: string } }> }
      >,
    )[0]!;
    const rec = Object.values(ls.labels)[0]!.checkpoint;
    const cp = decodeCheckpoint(fromHex(rec.cbor));
    const forged = signCheckpoint(
      { ...cp, mmrRoot: new Uint8Array(32).fill(9) },
      await hubSecret(hub.dataDir),
    );
    rec.cbor = toHex(encodeCheckpoint(forged));
    rec.mmr_root = toHex(forged.mmrRoot);
    await Deno.writeTextFile(statePath, JSON.stringify(state));

    const vs = await runCli(["verify-state", ...base]);
    assert.equal(vs.code, 4, vs.stderr);
    assert.match(
      vs.stderr,
      /E\.SEQ: State is inconsistent: the hub equivocated: .* at stream_seq 2 \(reported to the hub\)/,
    );
    const rs = await runCli(["resync", ...base]);
    assert.equal(rs.code, 4, rs.stderr);
    assert.match(
      rs.stderr,
      /E\.SEQ: .*verified earlier.*; the hub equivocated: .* at stream_seq 2 \(reported to the hub\)/,
    );
    const got = await info();
    assert.equal(got.count, 1);
    assert.equal(got.equivocations[0].a, rec.cbor);
    const hs = await runCli(["hub", "status", "--hub", hub.url, "--json"]);
    assert.equal(hs.json().equivocations_proven, 1);
  } finally {
    await hub.close();
    await t.cleanup();
  }
});
