/**
 * AGB0 bundles without a hub: a synthetic source history (signed MSGs and RECEIPTs, an MMR, an export checkpoint)
 * makes a bundle that verifies; an untrusted source key, a checkpoint that does not reach the range, an event
 * whose proof is for another size, and a header whose bundle_id was recomputed after a change are each refused
 * with their code (and the event's position when an event failed).
 */
import assert from "node:assert/strict";
import {
  decodeCbor,
  DEFAULT_PROFILE_ID,
  encodeCbor,
  encodeExportCheckpoint,
  encodeMmrProof,
  encodeMsg,
  encodeReceipt,
  hubIdFor,
  inclusionProof,
  labelFor,
  signExportCheckpoint,
  signingKeyFromSeed,
  streamIdFor,
} from "../core/mod.ts";
import { signedHistory } from "../core/testing/history.ts";
import { BUNDLE_HEADER, type BundleEvent, encodeBundle, verifyBundle } from "./airgap_bundle.ts";

const hub = signingKeyFromSeed(new Uint8Array(32).fill(3));
const client = signingKeyFromSeed(new Uint8Array(32).fill(5));
const streamId = streamIdFor("export/z1");
const label = labelFor(streamId);

async function bundle(o: { n?: number; cpSeq?: number; ownSize?: boolean } = {}) {
  const n = o.n ?? 3;
  const { items, store } = signedHistory(n, { hub, client, label, hubTs: (i) => 100 + i });
  const cpSeq = o.cpSeq ?? n;
  const cp = signExportCheckpoint({
    ver: 1,
    hubPk: hub.public,
    profileId: DEFAULT_PROFILE_ID,
    time: 200,
    streams: [{ label, lastSeq: cpSeq, mmrRoot: items[cpSeq - 1]!.receipt.mmrRoot }],
  }, hub.secret);
  const events: BundleEvent[] = [];
  for (const it of items.slice(1)) {
    events.push({
      msgBytes: encodeMsg(it.msg),
      receiptBytes: encodeReceipt(it.receipt),
      proofBytes: encodeMmrProof(
        await inclusionProof(store, it.receipt.streamSeq, o.ownSize ? it.receipt.streamSeq : n),
      ),
    });
  }
  return encodeBundle({
    header: {
      source_hub_id: hubIdFor(hub.public),
      source_profile_id: DEFAULT_PROFILE_ID,
      export_stream: "export/z1",
      export_stream_id: streamId,
      export_label: label,
      export_seq_from: 2,
      export_seq_to: n,
      export_time_from: 102,
      export_time_to: 100 + n,
      created_at: 300,
    },
    exportCheckpoint: encodeExportCheckpoint(cp),
    events,
  });
}

Deno.test("a bundle of seqs 2..3 verifies; the source key must be trusted when a list is given", async () => {
  const { bytes, bundleId } = await bundle();
  const v = verifyBundle(bytes);
  assert.ok(v.ok);
  assert.deepEqual(v.bundle.bundleId, bundleId);
  assert.deepEqual(v.bundle.events.map((e) => e.receipt.streamSeq), [2, 3]);
  const untrusted = verifyBundle(bytes, { trustedHubKeys: [client.public] });
  assert.deepEqual(untrusted.ok ? undefined : untrusted.code, "E.AUTH");
  assert.ok(verifyBundle(bytes, { trustedHubKeys: [hub.public] }).ok);
});

Deno.test("refused: a checkpoint short of the range, a proof for another size, a re-hashed header", async () => {
  const short = verifyBundle((await bundle({ n: 4, cpSeq: 3 })).bytes);
  assert.deepEqual(short.ok ? undefined : [short.code, /short of 4/.test(short.reason)], ["E.SEQ", true]);
  const otherSize = verifyBundle((await bundle({ ownSize: true })).bytes);
  assert.deepEqual(otherSize.ok ? undefined : [otherSize.code, otherSize.position], ["E.SIG", 0]);
  // Change the header and recompute bundle_id: the events digest and checkpoint id still bind the rest.
  const { bytes } = await bundle();
  const v = verifyBundle(bytes);
  assert.ok(v.ok);
  const forged = BUNDLE_HEADER.encode({ ...v.bundle.header, export_seq_from: 1 });
  const parts = decodeCbor(bytes) as unknown[];
  const f = verifyBundle(encodeCbor([forged, parts[1], parts[2]] as never));
  assert.equal(f.ok, false);
});
