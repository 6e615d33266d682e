import assert from "node:assert/strict";
import { signingKeyFromSeed } from "./ed25519.ts";
import { signCheckpoint } from "./checkpoint.ts";
import { signReceipt } from "./receipt.ts";
import { equivocation, type Statement } from "./equivocation.ts";

const hub = signingKeyFromSeed(new Uint8Array(32).fill(7));
const other = signingKeyFromSeed(new Uint8Array(32).fill(8));
const label = new Uint8Array(32).fill(1);
const b32 = (v: number) => new Uint8Array(32).fill(v);

const receipt = (o: { seq?: number; leaf?: number; root?: number; key?: Uint8Array } = {}): Statement => ({
  kind: "receipt",
  r: signReceipt(
    {
      ver: 1,
      label,
      streamSeq: o.seq ?? 21,
      leafHash: b32(o.leaf ?? 2),
      mmrRoot: b32(o.root ?? 3),
      hubTs: 5,
    },
    o.key ?? hub.secret,
  ),
});
const checkpoint = (o: { seq?: number; root?: number } = {}): Statement => ({
  kind: "checkpoint",
  c: signCheckpoint(
    { ver: 1, labelPrev: label, labelCurr: label, uptoSeq: o.seq ?? 21, mmrRoot: b32(o.root ?? 3), epoch: 9 },
    hub.secret,
  ),
});

Deno.test("equivocation: two signed views of one position prove it, in every pairing of RECEIPT and CHECKPOINT", () => {
  const at = { label, seq: 21 };
  assert.deepEqual(equivocation(receipt(), receipt({ leaf: 9, root: 9 }), hub.public), at);
  assert.deepEqual(equivocation(receipt(), receipt({ leaf: 9 }), hub.public), at);
  assert.deepEqual(equivocation(checkpoint(), checkpoint({ root: 9 }), hub.public), at);
  assert.deepEqual(equivocation(receipt(), checkpoint({ root: 9 }), hub.public), at);
  assert.deepEqual(equivocation(checkpoint({ root: 9 }), receipt(), hub.public), at);
});

Deno.test("equivocation: agreeing, unrelated or foreign-signed statements prove nothing", () => {
  assert.equal(equivocation(receipt(), receipt(), hub.public), undefined);
  assert.equal(equivocation(receipt(), checkpoint(), hub.public), undefined);
  assert.equal(equivocation(receipt(), receipt({ seq: 22, root: 9 }), hub.public), undefined);
  assert.equal(equivocation(receipt(), receipt({ root: 9, key: other.secret }), hub.public), undefined);
  assert.equal(equivocation(checkpoint(), checkpoint({ seq: 20, root: 9 }), hub.public), undefined);
});
