import assert from "node:assert/strict";
import { labelFor, streamIdFor, toHex } from "../core/mod.ts";
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
