import assert from "node:assert/strict";
import { labelFor, streamIdFor, toHex, type VeenError } from "../core/mod.ts";
import { HubHttp } from "../cli/mod.ts";
import { submit, withHub, Writer } from "../tests/fixture.ts";
import { mirrorLabel } from "./mirror.ts";
import { bridgeMain } from "./mod.ts";

Deno.test("the bridge copies a label byte for byte, resumes from B's size and refuses a diverged B", async () => {
  await withHub({}, async (hubA) => {
    await withHub({}, async (hubB) => {
      const w = new Writer("bridge/m", 4);
      for (let i = 0; i < 40; i++) assert.equal((await submit(hubA.url, w.msg())).status, 200);
      const a = new HubHttp(hubA.url);
      const b = new HubHttp(hubB.url);
      const label = labelFor(streamIdFor("bridge/m"));
      const o = {
        from: a,
        to: b,
        fromHubPk: hubA.hubKey.public,
        toHubPk: hubB.hubKey.public,
        label,
        maxItems: 25,
      };
      let r = await mirrorLabel(o);
      assert.deepEqual([r.copied, r.size], [25, 25]);
      r = await mirrorLabel({ ...o, maxItems: 1000 });
      assert.deepEqual([r.copied, r.size], [15, 40]);
      const [ra, rb] = [await a.receipt(label, 40), await b.receipt(label, 40)];
      assert.equal(toHex(ra.receipt.mmrRoot), toHex(rb.receipt.mmrRoot), "same history, same root");
      r = await mirrorLabel({ ...o, maxItems: 1000 });
      assert.equal(r.copied, 0, "nothing left to copy");
      // B gets an entry A does not have: B is no longer a mirror
      const stranger = new Writer("bridge/m", 5);
      assert.equal((await submit(hubB.url, stranger.msg())).status, 200);
      for (let i = 0; i < 2; i++) assert.equal((await submit(hubA.url, w.msg())).status, 200);
      await assert.rejects(() => mirrorLabel({ ...o, maxItems: 1000 }), /not a mirror/);
    });
  });
});

Deno.test("veen bridge refuses a pinned key that does not match and needs --from and --to", async () => {
  await withHub({}, async (hubA) => {
    const err = console.error;
    const log = console.log;
    console.error = () => {};
    console.log = () => {};
    try {
      assert.equal(await bridgeMain(["--from", hubA.url, "--stream", "x"]), 1);
      assert.equal(
        await bridgeMain([
          "--from",
          hubA.url,
          "--to",
          hubA.url,
          "--stream",
          "x",
          "--from-hub-key",
          "00".repeat(32),
        ]),
        4,
      );
    } finally {
      console.error = err;
      console.log = log;
    }
  });
});

Deno.test("mirroring in batches: B refusing one client's item stops the pass there, no other item moves up", async () => {
  await withHub({}, async (hubA) => {
    const x = new Writer("bridge/batch", 7);
    const y = new Writer("bridge/batch", 8);
    await withHub({ clientIdDeny: [toHex(y.key.public)] }, async (hubB) => {
      for (const m of [x.msg(), x.msg(), y.msg(), x.msg(), x.msg()]) {
        assert.equal((await submit(hubA.url, m)).status, 200);
      }
      const label = labelFor(streamIdFor("bridge/batch"));
      const b = new HubHttp(hubB.url);
      const o = {
        from: new HubHttp(hubA.url),
        to: b,
        fromHubPk: hubA.hubKey.public,
        toHubPk: hubB.hubKey.public,
        label,
        maxItems: 1000,
      };
      // B refuses y's MSG (E.AUTH); x's later MSGs must not take its seq 3 on B
      await assert.rejects(() => mirrorLabel(o), (e: VeenError) => e.code === "E.AUTH");
      assert.equal(await b.labelSize(label), 2, "B holds A's first two items and nothing else");
      const [ra, rb] = [await o.from.receipt(label, 2), await b.receipt(label, 2)];
      assert.equal(toHex(ra.receipt.mmrRoot), toHex(rb.receipt.mmrRoot));
    });
  });
});
