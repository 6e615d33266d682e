/** `veen report-equivocation` against a real hub: a proven pair is reported and stored; anything else is not sent. */
import assert from "node:assert/strict";
import { decodeCbor, decodeReceipt, encodeReceipt, signReceipt, toHex } from "../../core/mod.ts";
import { startRealHub } from "../testing/real_hub.ts";
import { runCli, tempDir } from "../testing/run.ts";

Deno.test("report-equivocation: two receipts for one position under the hub's key are reported once; a non-proof is E.SIG", async () => {
  const t = await tempDir();
  try {
    const hub = await startRealHub(`${t.path}/hub`);
    try {
      const c = `${t.path}/c`;
      assert.equal((await runCli(["keygen", "--out", c])).code, 0);
      const a = `${t.path}/a.cbor`;
      const sent = await runCli([
        "send",
        "--hub",
        hub.url,
        "--client",
        c,
        "--stream",
        "s",
        "--body",
        "{}",
        "--dump-raw",
        `${t.path}/m.cbor`,
        a,
      ]);
      assert.equal(sent.code, 0, sent.stderr);
      // The hub's key signs a second root for the same (label, seq): what a forking hub would show another client.
      const keyFile = decodeCbor(await Deno.readFile(`${hub.dataDir}/hub_key`)) as Map<number, Uint8Array>;
      const secret = keyFile.get(2)!; // DIR/hub_key is {1: ver, 2: seed, 3: public key} (hub/hub_key.ts)
      const r = decodeReceipt(await Deno.readFile(a));
      const b = `${t.path}/b.cbor`;
      await Deno.writeFile(
        b,
        encodeReceipt(signReceipt({ ...r, mmrRoot: new Uint8Array(32).fill(3) }, secret)),
      );
      const args = ["report-equivocation", "--hub", hub.url, "--statement", a, "--statement"];
      const nothing = await runCli([...args, a, "--json"]);
      assert.equal(nothing.code, 4, nothing.stdout);
      assert.equal(nothing.json().code, "E.SIG");
      const before = JSON.parse(
        new TextDecoder().decode(await (await fetch(`${hub.url}/equivocations`)).bytes()),
      );
      const rep = await runCli([...args, b, "--json"]);
      assert.equal(rep.code, 0, rep.stdout + rep.stderr);
      assert.equal(rep.json().label, toHex(r.label));
      assert.equal(rep.json().stream_seq, 1);
      assert.equal((rep.json().hub_answer as Record<string, unknown>).stored, true);
      const again = await runCli([...args, b, "--json"]);
      assert.equal((again.json().hub_answer as Record<string, unknown>).stored, false);
      const after = JSON.parse(
        new TextDecoder().decode(await (await fetch(`${hub.url}/equivocations`)).bytes()),
      );
      assert.equal(JSON.stringify(after).length > JSON.stringify(before).length, true);
    } finally {
      await hub.close();
    }
  } finally {
    await t.cleanup();
  }
});
