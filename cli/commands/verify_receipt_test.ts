import assert from "node:assert/strict";
import { toHex } from "../../core/mod.ts";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("send --dump-raw, then verify-receipt passes, and fails after one flipped byte", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    const msg = `${s.root}/msg.cbor`;
    const rcpt = `${s.root}/receipt.cbor`;
    const sent = await runCli([
      "send",
      "--hub",
      s.hub.url,
      "--client",
      c,
      "--stream",
      "core/main",
      "--body",
      '{"text":"hello-veens"}',
      "--dump-raw",
      msg,
      rcpt,
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    const key = toHex(s.hub.hubPk);
    const ok = await runCli([
      "verify-receipt",
      "--receipt",
      rcpt,
      "--msg",
      msg,
      "--hub-key",
      key,
      "--stream",
      "core/main",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^receipt: ok\nstream_seq: 1\n/);
    assert.match(ok.stdout, /hub_sig: ok[^]*label: ok[^]*msg: ok[^]*leaf_hash: ok \(I2\)/);
    // With the pinned key from the client state (no --hub-key), and the I3 check against the stored view.
    const pinned = await runCli(["verify-receipt", "--receipt", rcpt, "--msg", msg, "--client", c]);
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.match(pinned.stdout, /hub_sig: ok \(pinned key[^]*mmr_root: ok \(I3/);
    // Same inputs, same bytes.
    assert.equal(
      (await runCli(["verify-receipt", "--receipt", rcpt, "--msg", msg, "--client", c])).stdout,
      pinned.stdout,
    );

    const r = await Deno.readFile(rcpt);
    for (const i of [r.length - 1, 40]) {
      const bad = r.slice();
      bad[i]! ^= 0x01;
      await Deno.writeFile(`${s.root}/bad.cbor`, bad);
      const f = await runCli([
        "verify-receipt",
        "--receipt",
        `${s.root}/bad.cbor`,
        "--msg",
        msg,
        "--hub-key",
        key,
      ]);
      assert.equal(f.code, 4, f.stdout);
      assert.match(f.stdout, /^receipt: FAILED/);
    }
    const m = await Deno.readFile(msg);
    const badMsg = m.slice();
    badMsg[200]! ^= 0x01;
    await Deno.writeFile(`${s.root}/badmsg.cbor`, badMsg);
    const fm = await runCli([
      "verify-receipt",
      "--receipt",
      rcpt,
      "--msg",
      `${s.root}/badmsg.cbor`,
      "--hub-key",
      key,
      "--json",
    ]);
    assert.equal(fm.code, 4);
    assert.equal(fm.json().ok, false);
    assert.equal(fm.json().valid, false);
    const wrongStream = await runCli([
      "verify-receipt",
      "--receipt",
      rcpt,
      "--hub-key",
      key,
      "--stream",
      "other",
    ]);
    assert.equal(wrongStream.code, 4);
    const noKey = await runCli(["verify-receipt", "--receipt", rcpt]);
    assert.equal(noKey.code, 1);
  });
});
