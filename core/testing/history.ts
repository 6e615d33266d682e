/** Test helper: a signed history of one label (MSGs by one client, RECEIPTs by the hub) and its MMR node store. */
import type { SigningKey } from "../ed25519.ts";
import { H } from "../hash.ts";
import { MemoryHashStore, MmrAccumulator } from "../mmr.ts";
import { leafHash, type Msg, signMsg } from "../msg.ts";
import { DEFAULT_PROFILE_ID } from "../profile.ts";
import { type Receipt, signReceipt } from "../receipt.ts";

/** Items 1..n on `label`: MSG i has ciphertext `fill(i)`, RECEIPT i has hub_ts `hubTs(i)` (default 1). */
export function signedHistory(
  n: number,
  o: { hub: SigningKey; client: SigningKey; label: Uint8Array; hubTs?: (i: number) => number },
): { items: { msg: Msg; receipt: Receipt }[]; store: MemoryHashStore } {
  const acc = new MmrAccumulator();
  const store = new MemoryHashStore();
  const items = [];
  for (let i = 1; i <= n; i++) {
    const ciphertext = new Uint8Array(64).fill(i);
    const msg = signMsg({
      ver: 1,
      profileId: DEFAULT_PROFILE_ID,
      label: o.label,
      clientId: o.client.public,
      clientSeq: i,
      prevAck: i - 1,
      authRef: null,
      ctHash: H(ciphertext),
      ciphertext,
    }, o.client.secret);
    const a = acc.append(leafHash(msg));
    store.append(a.newNodes);
    const receipt = signReceipt({
      ver: 1,
      label: o.label,
      streamSeq: a.seq,
      leafHash: leafHash(msg),
      mmrRoot: a.root,
      hubTs: o.hubTs?.(i) ?? 1,
    }, o.hub.secret);
    items.push({ msg, receipt });
  }
  return { items, store };
}
