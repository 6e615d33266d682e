/** Real wire objects for unit tests: signed MSGs with sealed payloads and a signed receipt log. */
import {
  DEFAULT_PROFILE,
  DEFAULT_PROFILE_ID,
  encodeMsg,
  hpkePublicFromSecret,
  leafHash,
  MemoryHashStore,
  MmrAccumulator,
  type Msg,
  type Receipt,
  sealPayload,
  type SigningKey,
  signingKeyFromSeed,
  signMsg,
  signReceipt,
} from "../../core/mod.ts";
import { encodeBody } from "../body.ts";

export const HUB = signingKeyFromSeed(new Uint8Array(32).fill(11));
export const CLIENT = signingKeyFromSeed(new Uint8Array(32).fill(22));
export const HPKE_SK = new Uint8Array(32).fill(33);
export const HPKE_PK = hpkePublicFromSecret(HPKE_SK);
export const LABEL = new Uint8Array(32).fill(44);

/** A signed MSG sealed to HPKE_PK. */
export async function makeMsg(
  clientSeq: number,
  opts: { client?: SigningKey; label?: Uint8Array; prevAck?: number; body?: unknown } = {},
): Promise<Msg> {
  const client = opts.client ?? CLIENT;
  const label = opts.label ?? LABEL;
  const prevAck = opts.prevAck ?? 0;
  const sealed = await sealPayload({
    ctx: {
      profileId: DEFAULT_PROFILE_ID,
      label,
      clientId: client.public,
      clientSeq,
      prevAck,
      authRef: null,
      padBlock: DEFAULT_PROFILE.padBlock,
    },
    recipientPk: HPKE_PK,
    hdr: { schema: new Uint8Array(32) },
    body: encodeBody(opts.body ?? { n: clientSeq }),
    ephemeralSeed: new Uint8Array(32).fill(clientSeq & 0xff),
  });
  return signMsg({
    ver: 1,
    profileId: DEFAULT_PROFILE_ID,
    label,
    clientId: client.public,
    clientSeq,
    prevAck,
    authRef: null,
    ctHash: sealed.ctHash,
    ciphertext: sealed.ciphertext,
  }, client.secret);
}

/** A log of `n` MSGs with their signed RECEIPTs and the hub's node store. */
export async function makeLog(
  n: number,
): Promise<{ msgs: Msg[]; receipts: Receipt[]; store: MemoryHashStore; acc: MmrAccumulator }> {
  const acc = new MmrAccumulator();
  const store = new MemoryHashStore();
  const msgs: Msg[] = [];
  const receipts: Receipt[] = [];
  for (let i = 1; i <= n; i++) {
    const m = await makeMsg(i);
    const leaf = leafHash(m);
    const a = acc.append(leaf);
    store.append(a.newNodes);
    msgs.push(m);
    receipts.push(
      signReceipt({
        ver: 1,
        label: m.label,
        streamSeq: a.seq,
        leafHash: leaf,
        mmrRoot: a.root,
        hubTs: 1000 + i,
      }, HUB.secret),
    );
  }
  return { msgs, receipts, store, acc };
}

export { encodeMsg };
