import assert from "node:assert/strict";
import { throwsCode } from "../tests/util.ts";
import {
  bytesEqual,
  DEFAULT_PROFILE_ID,
  inclusionProof,
  MmrAccumulator,
  signCheckpoint,
  signingKeyFromSeed,
  toHex,
} from "../core/mod.ts";
import {
  appendChecked,
  checkCheckpoint,
  checkItem,
  checkItemProof,
  firstDifferingPeak,
  peaksFromLastLeafProof,
  storedRootMatches,
} from "./client_view.ts";
import { HUB, LABEL, makeLog } from "./testing/fixtures.ts";

const ctx = { label: LABEL, hubPk: HUB.public, profileId: DEFAULT_PROFILE_ID };
const log = await makeLog(7);

Deno.test("checkItem() accepts a genuine (RECEIPT, MSG) pair and returns its leaf", () => {
  const leaf = checkItem(log.receipts[0]!, log.msgs[0]!, ctx);
  assert.ok(bytesEqual(leaf, log.receipts[0]!.leafHash));
});

Deno.test("checkItem() fails with E.SIG for hub_sig, MSG.sig, ct_hash, leaf and label faults, E.PROFILE for profile", () => {
  const r = log.receipts[0]!;
  const m = log.msgs[0]!;
  throwsCode(() => checkItem(r, m, { ...ctx, hubPk: log.msgs[0]!.clientId }), "E.SIG");
  const badSig = new Uint8Array(r.hubSig);
  badSig[0]! ^= 1;
  throwsCode(() => checkItem({ ...r, hubSig: badSig }, m, ctx), "E.SIG");
  const msgSig = new Uint8Array(m.sig);
  msgSig[5]! ^= 1;
  throwsCode(() => checkItem(r, { ...m, sig: msgSig }, ctx), "E.SIG");
  const ct = new Uint8Array(m.ciphertext);
  ct[0]! ^= 1;
  throwsCode(() => checkItem(r, { ...m, ciphertext: ct }, ctx), "E.SIG");
  throwsCode(() => checkItem(r, log.msgs[1]!, ctx), "E.SIG");
  throwsCode(() => checkItem(r, m, { ...ctx, label: new Uint8Array(32) }), "E.SIG");
  throwsCode(() => checkItem(r, m, { ...ctx, profileId: new Uint8Array(32) }), "E.PROFILE");
});

Deno.test("appendChecked() enforces contiguity and the RECEIPT root (E.SEQ)", () => {
  const v = new MmrAccumulator();
  appendChecked(v, 1, log.receipts[0]!.leafHash, log.receipts[0]!.mmrRoot);
  throwsCode(() => appendChecked(v, 3, log.receipts[2]!.leafHash, log.receipts[2]!.mmrRoot), "E.SEQ");
  throwsCode(() => appendChecked(v, 2, log.receipts[1]!.leafHash, log.receipts[0]!.mmrRoot), "E.SEQ");
});

Deno.test("checkItemProof() verifies a proof against the item's own RECEIPT root", async () => {
  const r = log.receipts[4]!;
  const p = await inclusionProof(log.store, 5, 5);
  checkItemProof(p, r.leafHash, r);
  throwsCode(() => checkItemProof(p, log.receipts[3]!.leafHash, r), "E.SIG");
  throwsCode(() => checkItemProof(p, r.leafHash, { ...r, mmrRoot: log.receipts[5]!.mmrRoot }), "E.SEQ");
});

Deno.test("peaksFromLastLeafProof() rebuilds the peaks of size n from the proof of leaf n", async () => {
  for (const n of [1, 2, 3, 6, 7]) {
    const r = log.receipts[n - 1]!;
    const peaks = peaksFromLastLeafProof(await inclusionProof(log.store, n, n), n, r.mmrRoot);
    const v = new MmrAccumulator(n, peaks);
    assert.ok(bytesEqual(v.root()!, r.mmrRoot));
    assert.ok(storedRootMatches(v, toHex(r.mmrRoot)));
  }
  const p6 = await inclusionProof(log.store, 6, 6);
  throwsCode(() => peaksFromLastLeafProof(p6, 6, log.receipts[4]!.mmrRoot), "E.SEQ");
});

Deno.test("firstDifferingPeak() names the leaf range of the oldest differing peak", () => {
  const a = new MmrAccumulator();
  const b = new MmrAccumulator();
  for (let i = 0; i < 7; i++) {
    a.append(log.receipts[i]!.leafHash);
    b.append(i === 5 ? log.receipts[0]!.leafHash : log.receipts[i]!.leafHash);
  }
  assert.equal(firstDifferingPeak(7, a.peaks(), a.peaks()), undefined);
  assert.deepEqual(firstDifferingPeak(7, a.peaks(), b.peaks()), { from: 5, to: 6 });
});

Deno.test("checkCheckpoint() verifies hub_sig and label", () => {
  const c = signCheckpoint({
    ver: 1,
    labelPrev: LABEL,
    labelCurr: LABEL,
    uptoSeq: 7,
    mmrRoot: log.acc.root()!,
    epoch: 0,
  }, HUB.secret);
  checkCheckpoint(c, HUB.public, LABEL);
  throwsCode(() => checkCheckpoint(c, log.msgs[0]!.clientId, LABEL), "E.SIG");
  throwsCode(() => checkCheckpoint(c, HUB.public, new Uint8Array(32)), "E.SIG");
});

Deno.test("checkItem() accepts a RECEIPT signed by a trusted peer hub (a label after a flip), no other key", () => {
  const r = log.receipts[0]!;
  const m = log.msgs[0]!;
  const newPrimary = signingKeyFromSeed(new Uint8Array(32).fill(77)).public;
  // The session's hub is the new primary; the item is the old primary's (HUB), which the client has pinned.
  const leaf = checkItem(r, m, { ...ctx, hubPk: newPrimary, peerKeys: [HUB.public] });
  assert.ok(bytesEqual(leaf, r.leafHash));
  throwsCode(() => checkItem(r, m, { ...ctx, hubPk: newPrimary }), "E.SIG");
  throwsCode(() => checkItem(r, m, { ...ctx, hubPk: newPrimary, peerKeys: [m.clientId] }), "E.SIG");
});
