import assert from "node:assert/strict";
import { rejectsCode } from "../tests/util.ts";
import { bytesEqual, DEFAULT_PROFILE_ID, MmrAccumulator } from "../core/mod.ts";
import { HubHttp } from "./http_client.ts";
import { startFakeHub } from "./testing/fake_hub.ts";
import { encodeMsg, HUB, LABEL, makeMsg } from "./testing/fixtures.ts";
import { extendView, fetchItems, jumpView, rebuildFromCheckpoint } from "./view_sync.ts";

async function hubWith(n: number, opts: Parameters<typeof startFakeHub>[0] = {}) {
  const hub = await startFakeHub({ hubSeed: new Uint8Array(32).fill(11), ...opts });
  for (let i = 1; i <= n; i++) hub.submitBytes(encodeMsg(await makeMsg(i)));
  return hub;
}
const ctx = { label: LABEL, hubPk: HUB.public, profileId: DEFAULT_PROFILE_ID };

Deno.test("fetchItems() pages until an empty page and respects --to", async () => {
  const hub = await hubWith(10, { pageLimit: 3 });
  try {
    const http = new HubHttp(hub.url);
    const all = [];
    for await (const it of fetchItems(http, LABEL, 1, { withProof: true })) all.push(it.receipt.streamSeq);
    assert.deepEqual(all, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const some = [];
    for await (const it of fetchItems(http, LABEL, 4, { to: 8 })) some.push(it.receipt.streamSeq);
    assert.deepEqual(some, [4, 5, 6, 7, 8]);
  } finally {
    await hub.close();
  }
});

Deno.test("fetchItems() rejects a gap in the hub's answer (E.SEQ)", async () => {
  const hub = await hubWith(5, { tamper: { skipSeq: 3 } });
  try {
    await rejectsCode(async () => {
      for await (const _ of fetchItems(new HubHttp(hub.url), LABEL, 1)) { /* drain */ }
    }, "E.SEQ");
  } finally {
    await hub.close();
  }
});

Deno.test("extendView() closes small gaps item by item and large gaps by a verified jump", async () => {
  const hub = await hubWith(40);
  try {
    const http = new HubHttp(hub.url);
    const seen: number[] = [];
    const v = await extendView(http, ctx, new MmrAccumulator(), 5, {
      onItem: (i) => seen.push(i.receipt.streamSeq),
    });
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    const j = await extendView(http, ctx, v, 37, { maxItems: 4 });
    assert.equal(j.size, 37);
    const ref = await extendView(http, ctx, new MmrAccumulator(), 37);
    assert.ok(bytesEqual(j.root()!, ref.root()!));
    assert.deepEqual(j.peaks(), ref.peaks());
    // A view that is not a prefix of the hub's log cannot jump.
    const fake = new MmrAccumulator();
    for (let i = 0; i < 5; i++) fake.append(new Uint8Array(32).fill(i + 1));
    await rejectsCode(() => jumpView(http, ctx, fake, 37), "E.SEQ");
  } finally {
    await hub.close();
  }
});

Deno.test("rebuildFromCheckpoint() starts a verified view at the CHECKPOINT", async () => {
  const hub = await hubWith(13);
  try {
    const cp = hub.checkpoint(LABEL);
    const v = await rebuildFromCheckpoint(new HubHttp(hub.url), ctx, cp);
    assert.equal(v.size, 13);
    assert.ok(bytesEqual(v.root()!, cp.mmrRoot));
    await rejectsCode(
      () => rebuildFromCheckpoint(new HubHttp(hub.url), { ...ctx, hubPk: new Uint8Array(32) }, cp),
      "E.SIG",
    );
  } finally {
    await hub.close();
  }
});
