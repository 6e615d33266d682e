import assert from "node:assert/strict";
import { rejectsCode } from "../tests/util.ts";
import { MmrAccumulator } from "../core/mod.ts";
import { emptyState, labelStateFor } from "./client_state.ts";
import { connectHub, streamTarget } from "./hub_session.ts";
import { generateClientKeys } from "./keystore.ts";
import { sendMessage } from "./sender.ts";
import { startFakeHub } from "./testing/fake_hub.ts";

async function setup(opts: Parameters<typeof startFakeHub>[0] = {}) {
  const hub = await startFakeHub(opts);
  const state = emptyState();
  const session = await connectHub({ hub: hub.url, env: () => undefined, timeoutMs: 5000, state });
  const target = streamTarget(session, "unit");
  const keys = generateClientKeys(1);
  const ls = labelStateFor(state, session.hubId, target, keys.client.public, 1);
  return { hub, session, target, keys, ls };
}

Deno.test("sendMessage() advances client_seq, prev_ack and the view together", async () => {
  const { hub, session, target, keys, ls } = await setup();
  try {
    let view = new MmrAccumulator();
    for (let i = 1; i <= 3; i++) {
      const r = await sendMessage(session, target, keys, ls, view, {
        recipientPk: keys.prekey.public,
        hdr: { schema: new Uint8Array(32) },
        body: { i },
      });
      view = r.view;
      assert.equal(r.receipt.streamSeq, i);
      assert.equal(r.msg.prevAck, i - 1);
    }
    assert.deepEqual([ls.client_seq, ls.prev_ack, ls.last_stream_seq], [3, 3, 3]);
  } finally {
    await hub.close();
  }
});

Deno.test("sendMessage() keeps the accepted client_seq but not the view when the RECEIPT is forged", async () => {
  const { hub, session, target, keys, ls } = await setup({ tamper: { submitSig: true } });
  try {
    await rejectsCode(
      () =>
        sendMessage(session, target, keys, ls, new MmrAccumulator(), {
          recipientPk: keys.prekey.public,
          hdr: { schema: new Uint8Array(32) },
          body: {},
        }),
      "E.SIG",
    );
    assert.equal(ls.client_seq, 1);
    assert.equal(ls.last_stream_seq, 0);
    assert.equal(ls.prev_ack, 0);
  } finally {
    await hub.close();
  }
});
