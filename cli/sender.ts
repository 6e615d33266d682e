/**
 * Client send algorithm (spec 004 §9 Send, CLI-GOALS-1 §5.1 and §6.1): seal, sign, upload attachments, submit,
 * then verify the RECEIPT against the MSG and the client's own MMR view before advancing prev_ack.
 *
 * After the hub accepts (a RECEIPT arrives), `ls.client_seq` is advanced at once even if a later check fails, so
 * the caller can persist it and never reuse a client_seq (I9, I11). The view fields of `ls` change only when every
 * check passed. `sendAndSave` wraps one send in the state.json transaction every sending command uses.
 */
import {
  attachmentMsgIdForNonce,
  attKeyContext,
  attRoot,
  bytesEqual,
  coidOf,
  defaultRandom,
  encodeMsg,
  encryptAttachment,
  hpkeSetupSender,
  leafHash,
  type MmrAccumulator,
  type Msg,
  type PayloadHdr,
  type RandomFn,
  type Receipt,
  sealPayload,
  signMsg,
  VeenError,
} from "../core/mod.ts";
import { type AttachmentEntry, encodeBody } from "./body.ts";
import { checkedViewOf, type LabelState, setView, withStateLock, writeState } from "./client_state.ts";
import { appendChecked, checkReceipt, type ItemContext } from "./client_view.ts";
import { type CommandContext, openLabel } from "./context.ts";
import { malformedError } from "../cmd/mod.ts";
import { type HubSession, itemContext, type StreamTarget } from "./hub_session.ts";
import type { ClientKeys } from "./keystore.ts";
import { extendView } from "./view_sync.ts";

export interface OutgoingAttachment {
  name: string;
  bytes: Uint8Array;
}

export interface SendParams {
  /** HPKE recipient public key (the client's own prekey, or an identity card's). */
  recipientPk: Uint8Array;
  /** payload_hdr without att_root (set here when there are attachments). */
  hdr: PayloadHdr;
  /** The JSON body value (ignored when `bodyBytes` is given). */
  body?: unknown;
  /** Pre-encoded body bytes (overlay bodies with byte strings); not combinable with attachments. */
  bodyBytes?: Uint8Array;
  /** Body bytes that depend on the client_seq the message gets (wallet transfer_id); wins over `bodyBytes`. */
  bodyFor?: (clientSeq: number, label: Uint8Array) => Uint8Array;
  attachments?: readonly OutgoingAttachment[];
  /** auth_ref of the capability used (MSG.auth_ref and payload_hdr.cap_ref). */
  authRef?: Uint8Array;
  random?: RandomFn;
}

export interface SendResult {
  msg: Msg;
  msgBytes: Uint8Array;
  receipt: Receipt;
  receiptBytes: Uint8Array;
  msgId: Uint8Array;
  attachments: AttachmentEntry[];
  view: MmrAccumulator;
}

/** Encrypts the attachments under the HPKE context of `seed` (the one sealPayload will use) and lists their coids. */
async function sealAttachments(
  recipientPk: Uint8Array,
  seed: Uint8Array,
  atts: readonly OutgoingAttachment[],
) {
  const sender = await hpkeSetupSender(recipientPk, seed);
  const ciphertexts: Uint8Array[] = [];
  const entries: AttachmentEntry[] = [];
  for (let i = 0; i < atts.length; i++) {
    const a = atts[i]!;
    const k = new Uint8Array(await sender.export(attKeyContext(i).slice().buffer as ArrayBuffer, 32));
    const c = encryptAttachment(k, attachmentMsgIdForNonce(), i, a.bytes);
    ciphertexts.push(c);
    entries.push({ coid: coidOf(c), len: a.bytes.length, name: a.name });
  }
  return { ciphertexts, entries };
}

/**
 * Seals `body` (the encoded body bytes) under `hdr` to `recipientPk` and signs the MSG with client_seq and prev_ack
 * as given (spec 004 §9 Send, steps 1-3). `seed` is the HPKE ephemeral seed (random by default).
 */
export async function sealAndSign(
  session: Pick<HubSession, "profileId" | "profile">,
  target: Pick<StreamTarget, "label">,
  keys: ClientKeys,
  clientSeq: number,
  prevAck: number,
  p: { recipientPk: Uint8Array; hdr: PayloadHdr; body: Uint8Array; authRef?: Uint8Array },
  seed: Uint8Array,
): Promise<Msg> {
  const fields = {
    profileId: session.profileId,
    label: target.label,
    clientId: keys.client.public,
    clientSeq,
    prevAck,
    authRef: p.authRef ?? null,
  };
  const sealed = await sealPayload({
    ctx: { ...fields, padBlock: session.profile.padBlock },
    recipientPk: p.recipientPk,
    hdr: p.hdr,
    body: p.body,
    ephemeralSeed: seed,
  });
  return signMsg({
    ver: 1,
    ...fields,
    ctHash: sealed.ctHash,
    ciphertext: sealed.ciphertext,
  }, keys.client.secret);
}

/** Builds, signs and submits one MSG, then verifies its RECEIPT and advances `ls` (see the module comment). */
export async function sendMessage(
  session: HubSession,
  target: StreamTarget,
  keys: ClientKeys,
  ls: LabelState,
  view: MmrAccumulator,
  p: SendParams,
): Promise<SendResult> {
  const random = p.random ?? defaultRandom;
  const clientSeq = ls.client_seq + 1;
  const prevAck = Math.max(ls.prev_ack, view.size);
  const hdr: PayloadHdr = { ...p.hdr };
  if (p.authRef !== undefined) hdr.capRef = p.authRef;
  const seed = random(32);
  const atts = p.attachments ?? [];
  if ((p.bodyBytes !== undefined || p.bodyFor !== undefined) && atts.length > 0) {
    throw new RangeError("sendMessage: bodyBytes cannot be combined with attachments");
  }
  let ciphertexts: Uint8Array[] = [];
  let entries: AttachmentEntry[] = [];
  if (atts.length > 0) {
    ({ ciphertexts, entries } = await sealAttachments(p.recipientPk, seed, atts));
    hdr.attRoot = attRoot(entries.map((e) => e.coid));
  }
  const msg = await sealAndSign(session, target, keys, clientSeq, prevAck, {
    ...p,
    hdr,
    body: p.bodyFor?.(clientSeq, target.label) ?? p.bodyBytes ?? encodeBody(p.body, entries),
  }, seed);
  const msgBytes = encodeMsg(msg);

  for (let i = 0; i < ciphertexts.length; i++) {
    const coid = await session.http.putAttachment(ciphertexts[i]!, p.authRef);
    if (!bytesEqual(coid, entries[i]!.coid)) {
      throw malformedError(`Hub returned a wrong coid for attachment ${i}`);
    }
  }
  const { receipt, bytes: receiptBytes } = await session.http.submit(msgBytes);
  ls.client_seq = clientSeq;

  const ctx: ItemContext = itemContext(session, target.label);
  checkReceipt(receipt, session.hubPk, target.label);
  const msgId = leafHash(msg);
  if (!bytesEqual(receipt.leafHash, msgId)) {
    throw new VeenError("E.SIG", "RECEIPT leaf_hash is not the leaf hash of the MSG sent (I2)");
  }
  if (receipt.streamSeq <= view.size) {
    throw new VeenError(
      "E.SEQ",
      `Hub assigned stream_seq ${receipt.streamSeq}, but the client's view already holds ${view.size} items`,
    );
  }
  const v = await extendView(session.http, ctx, view, receipt.streamSeq - 1);
  appendChecked(v, receipt.streamSeq, msgId, receipt.mmrRoot);
  ls.prev_ack = receipt.streamSeq;
  setView(ls, v);
  return { msg, msgBytes, receipt, receiptBytes, msgId, attachments: entries, view: v };
}

/**
 * One send as a state transaction of client directory `dir`: under the state lock, read state.json, connect to
 * `--hub` (pin checked and recorded), send with `sendMessage` and save state.json. An accepted client_seq is saved
 * even when a later check fails, so it is never reused.
 */
export async function sendAndSave(
  ctx: CommandContext,
  dir: string,
  keys: ClientKeys,
  stream: string,
  p: SendParams,
): Promise<{ res: SendResult; session: HubSession; target: StreamTarget }> {
  return await withStateLock(dir, async () => {
    const { state, session, target, ls } = await openLabel(ctx, dir, stream, keys.client.public);
    const view = checkedViewOf(ls);
    const seqBefore = ls.client_seq;
    let res: SendResult;
    try {
      res = await sendMessage(session, target, keys, ls, view, p);
    } catch (e) {
      if (ls.client_seq !== seqBefore) await writeState(dir, state); // accepted by the hub: never reuse client_seq
      if (e instanceof VeenError && e.code === "E.SEQ" && ls.client_seq === seqBefore) {
        throw new VeenError("E.SEQ", `${e.detail} (if local state was lost, run "veen resync")`);
      }
      throw e;
    }
    await writeState(dir, state);
    return { res, session, target };
  });
}
