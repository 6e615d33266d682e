import assert from "node:assert/strict";
import { signingKeyFromSeed } from "./ed25519.ts";
import { labelFor, streamIdFor } from "./ids.ts";
import { inclusionProof } from "./mmr.ts";
import { DEFAULT_PROFILE_ID } from "./profile.ts";
import type { Receipt } from "./receipt.ts";
import { signedHistory } from "./testing/history.ts";
import { ClientMmrView, verifyItemProof, verifyReceiptForMsg } from "./verify.ts";
import { throwsCode } from "../tests/util.ts";

const hub = signingKeyFromSeed(new Uint8Array(32).fill(3));
const other = signingKeyFromSeed(new Uint8Array(32).fill(4));
const client = signingKeyFromSeed(new Uint8Array(32).fill(5));
const label = labelFor(streamIdFor("verify"));

const history = (n: number) => signedHistory(n, { hub, client, label });

Deno.test("a faithful history verifies receipt by receipt and proof by proof", async () => {
  const { items, store } = history(20);
  const view = new ClientMmrView();
  for (const { msg, receipt } of items) {
    verifyReceiptForMsg(receipt, msg, hub.public, [DEFAULT_PROFILE_ID]);
    view.advance(receipt);
    verifyItemProof(receipt, await inclusionProof(store, receipt.streamSeq, receipt.streamSeq));
  }
  assert.equal(view.size, 20);
});

Deno.test("a receipt signed by another key, for another msg, or with a foreign profile is refused", () => {
  const { items } = history(2);
  const { msg, receipt } = items[0]!;
  throwsCode(() => verifyReceiptForMsg(receipt, msg, other.public, [DEFAULT_PROFILE_ID]), "E.SIG");
  throwsCode(() => verifyReceiptForMsg(receipt, items[1]!.msg, hub.public, [DEFAULT_PROFILE_ID]), "E.SIG");
  throwsCode(() => verifyReceiptForMsg(receipt, msg, hub.public, [new Uint8Array(32)]), "E.PROFILE");
});

Deno.test("the client view refuses a gap, a replayed receipt and a forked root", () => {
  const { items } = history(3);
  const view = new ClientMmrView();
  view.advance(items[0]!.receipt);
  throwsCode(() => view.advance(items[2]!.receipt), "E.SEQ");
  throwsCode(() => view.advance(items[0]!.receipt), "E.SEQ");
  const forked: Receipt = { ...items[1]!.receipt, mmrRoot: new Uint8Array(32) };
  throwsCode(() => view.advance(forked), "E.SEQ");
  view.advance(items[1]!.receipt);
  assert.equal(view.size, 2);
});

Deno.test("a proof for another leaf is refused", async () => {
  const { items, store } = history(5);
  const proof = await inclusionProof(store, 2, 2);
  throwsCode(() => verifyItemProof(items[3]!.receipt, proof), "E.SIG");
});
