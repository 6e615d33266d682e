import assert from "node:assert/strict";
import { encodeCheckpoint, signCheckpoint, signingKeyFromSeed, toHex, witnessSign } from "../../core/mod.ts";
import { runCli, tempDir, withScenario } from "../testing/run.ts";

Deno.test("hub checkpoint fetches and verifies the latest CHECKPOINT and can write it out", async () => {
  await withScenario({ checkpointEvery: 2 }, async (s) => {
    const c = await s.client("c");
    const base = ["--hub", s.hub.url, "--stream", "cp"];
    assert.equal((await runCli(["hub", "checkpoint", ...base])).code, 4);
    assert.equal((await runCli(["bench", "send", ...base, "--client", c, "--count", "5"])).code, 0);
    const r = await runCli([
      "hub",
      "checkpoint",
      ...base,
      "--out",
      `${s.root}/cp.cbor`,
      "--client",
      c,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().upto_seq, 4);
    assert.equal(r.json().hub_sig, "ok");
    assert.ok((await Deno.readFile(`${s.root}/cp.cbor`)).length > 100);
  });
});

Deno.test("hub verify-rotation needs valid witness signatures of both keys", async () => {
  const t = await tempDir();
  try {
    const oldK = signingKeyFromSeed(new Uint8Array(32).fill(1));
    const newK = signingKeyFromSeed(new Uint8Array(32).fill(2));
    const body = {
      ver: 1 as const,
      labelPrev: new Uint8Array(32),
      labelCurr: new Uint8Array(32),
      uptoSeq: 9,
      mmrRoot: new Uint8Array(32).fill(3),
      epoch: 4,
    };
    const good = {
      ...signCheckpoint(body, newK.secret),
      witnessSigs: [witnessSign(body, oldK.secret), witnessSign(body, newK.secret)],
    };
    const half = { ...signCheckpoint(body, newK.secret), witnessSigs: [witnessSign(body, newK.secret)] };
    await Deno.writeFile(`${t.path}/good.cbor`, encodeCheckpoint(good));
    await Deno.writeFile(`${t.path}/half.cbor`, encodeCheckpoint(half));
    await Deno.writeTextFile(`${t.path}/old.hex`, toHex(oldK.public) + "\n");
    const args = (
      f: string,
    ) => [
      "hub",
      "verify-rotation",
      "--checkpoint",
      `${t.path}/${f}`,
      "--old-key",
      `${t.path}/old.hex`,
      "--new-key",
      toHex(newK.public),
    ];
    const ok = await runCli(args("good.cbor"));
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /old_key_witness: ok\nnew_key_witness: ok\nrotation: ok\n$/);
    const bad = await runCli(args("half.cbor"));
    assert.equal(bad.code, 4);
    assert.match(bad.stdout, /old_key_witness: FAILED/);
  } finally {
    await t.cleanup();
  }
});
