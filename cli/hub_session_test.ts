import assert from "node:assert/strict";
import { rejectsCode } from "../tests/util.ts";
import { labelFor, streamIdFor, toHex } from "../core/mod.ts";
import { emptyState } from "./client_state.ts";
import { connectHub, streamTarget } from "./hub_session.ts";
import { startFakeHub } from "./testing/fake_hub.ts";
import { tempDir } from "./testing/run.ts";

const noEnv = () => undefined;

Deno.test("connectHub() pins the hub key on first contact and refuses a changed key (E.SIG)", async () => {
  const t = await tempDir();
  const dataDir = `${t.path}/hub`;
  let hub = await startFakeHub({ dataDir, hubSeed: new Uint8Array(32).fill(1) });
  try {
    const state = emptyState();
    const s1 = await connectHub({ hub: dataDir, env: noEnv, timeoutMs: 5000, state });
    assert.equal(Object.values(state.pins)[0]!.hub_pk, toHex(s1.hubPk));
    assert.ok(state.hubs[toHex(s1.hubId)]);
    await hub.close();
    hub = await startFakeHub({ dataDir, hubSeed: new Uint8Array(32).fill(2) });
    await rejectsCode(() => connectHub({ hub: dataDir, env: noEnv, timeoutMs: 5000, state }), "E.SIG");
    // An explicit --hub-key re-pins; a wrong one is refused.
    await rejectsCode(
      () => connectHub({ hub: dataDir, env: noEnv, timeoutMs: 5000, state, hubKey: toHex(s1.hubPk) }),
      "E.SIG",
    );
    const s2 = await connectHub({
      hub: dataDir,
      env: noEnv,
      timeoutMs: 5000,
      state,
      hubKey: toHex(hub.hubPk),
    });
    assert.equal(Object.values(state.pins)[0]!.hub_pk, toHex(s2.hubPk));
  } finally {
    await hub.close();
    await t.cleanup();
  }
});

Deno.test("streamTarget() uses the hub's routing key and epoch 0", async () => {
  const hub = await startFakeHub({ routingKeyHex: "abcd" });
  try {
    const s = await connectHub({ hub: hub.url, env: noEnv, timeoutMs: 5000 });
    const t = streamTarget(s, "core/main");
    assert.deepEqual(t.label, labelFor(streamIdFor("core/main"), new Uint8Array([0xab, 0xcd]), 0));
    const plain = await startFakeHub();
    try {
      const t2 = streamTarget(await connectHub({ hub: plain.url, env: noEnv, timeoutMs: 5000 }), "core/main");
      assert.equal(toHex(t2.label), "969080810ec928ccd830a6cde893ac5a0e62147d512a11879468d8fd8ba515a5");
    } finally {
      await plain.close();
    }
  } finally {
    await hub.close();
  }
});
