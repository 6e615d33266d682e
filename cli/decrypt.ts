/**
 * Opening a MSG's payload as this client (spec 004 §9 Receive step 4): every HPKE secret the client holds (current
 * prekey, retired prekeys, id_dh) is tried. A payload sealed to someone else is reported as not decryptable, which
 * is not an error; a framing fault (bad lengths or padding) is reported with its reason.
 */
import {
  type Msg,
  type OpenedPayload,
  openPayload,
  type Profile,
  type SealContext,
  VeenError,
} from "../core/mod.ts";
import type { OverlayEntry } from "../overlays/mod.ts";
import type { StreamItem } from "./http_client.ts";

export type OpenResult = { ok: true; payload: OpenedPayload } | { ok: false; reason: string };

/** The seal context a MSG's payload is bound to. */
export function sealContextOf(m: Msg, profile: Profile): SealContext {
  return {
    profileId: m.profileId,
    label: m.label,
    clientId: m.clientId,
    clientSeq: m.clientSeq,
    prevAck: m.prevAck,
    authRef: m.authRef,
    padBlock: profile.padBlock,
  };
}

/** Tries each secret in turn; the first that opens the payload wins. */
export async function openForClient(
  m: Msg,
  profile: Profile,
  secrets: readonly Uint8Array[],
): Promise<OpenResult> {
  const ctx = sealContextOf(m, profile);
  for (const recipientSk of secrets) {
    try {
      return { ok: true, payload: await openPayload({ ctx, recipientSk, ciphertext: m.ciphertext }) };
    } catch (e) {
      if (!(e instanceof VeenError)) throw e;
      if (e.code !== "E.AUTH") return { ok: false, reason: `malformed payload: ${e.detail}` };
    }
  }
  return { ok: false, reason: "not decryptable by this client" };
}

/** The overlay entry of a verified stream item, or undefined when this client cannot open its payload. */
export async function openEntry(
  item: StreamItem,
  profile: Profile,
  secrets: readonly Uint8Array[],
): Promise<OverlayEntry | undefined> {
  const opened = await openForClient(item.msg, profile, secrets);
  if (!opened.ok) return undefined;
  return {
    seq: item.receipt.streamSeq,
    msgId: item.receipt.leafHash,
    clientId: item.msg.clientId,
    hubTs: item.receipt.hubTs,
    authRef: item.msg.authRef,
    hdr: opened.payload.hdr,
    body: opened.payload.body,
  };
}
