/**
 * What the overlay commands (rpc, crdt) share with `veen send`: a hub session whose key is pinned in state.json,
 * the recipient of a sealed payload (`--to CARD` or the client itself), and one sealed, signed, verified send of
 * a pre-encoded overlay body, with client_seq/prev_ack/view saved atomically under the state lock.
 */
import { type MmrAccumulator, type PayloadHdr, toHex, VeenError } from "../core/mod.ts";
import { checkedViewOf, labelStateFor, readState, setView, withStateLock, writeState } from "./client_state.ts";
import { type CommandContext, nowSec } from "./context.ts";
import { connectHub, type HubSession, type StreamTarget, streamTarget } from "./hub_session.ts";
import { checkPrekey, readIdentityCard } from "./identity_card.ts";
import type { ClientKeys } from "./keystore.ts";
import { sendMessage, type SendResult } from "./sender.ts";

/** `--to` flag of overlay writers. */
export const TO_FLAG = {
  name: "to",
  metavar: "CARD",
  help: "seal to this identity card (file or client dir) instead of yourself",
};

/** Connects to `--hub`, checking (and on first contact recording) the hub-key pin in `dir`'s state.json. */
export async function pinnedSession(ctx: CommandContext, dir: string): Promise<HubSession> {
  return await withStateLock(dir, async () => {
    const state = await readState(dir);
    const session = await connectHub({
      hub: ctx.flags.str("hub"),
      env: ctx.io.env,
      timeoutMs: ctx.timeoutMs,
      hubKey: ctx.flags.str("hub-key"),
      state,
    });
    await writeState(dir, state);
    return session;
  });
}

/** The HPKE key a payload is sealed to and the client_id expected to hold it: `--to CARD`, else the client. */
export async function recipientOf(
  ctx: CommandContext,
  keys: ClientKeys,
): Promise<{ hpkePk: Uint8Array; clientId: Uint8Array }> {
  const to = ctx.flags.str("to");
  if (to === undefined) return { hpkePk: keys.prekey.public, clientId: keys.client.public };
  const card = await readIdentityCard(to);
  checkPrekey(card, nowSec(ctx));
  return { hpkePk: card.hpkePk, clientId: card.clientId };
}

/** Seals `bodyBytes` under `hdr` to `recipientPk`, submits it on `stream`, verifies the RECEIPT, saves state. */
export async function sendOverlay(
  ctx: CommandContext,
  dir: string,
  keys: ClientKeys,
  stream: string,
  p: { hdr: PayloadHdr; bodyBytes: Uint8Array; recipientPk: Uint8Array },
): Promise<{ res: SendResult; session: HubSession; target: StreamTarget }> {
  return await withStateLock(dir, async () => {
    const state = await readState(dir);
    const session = await connectHub({
      hub: ctx.flags.str("hub"),
      env: ctx.io.env,
      timeoutMs: ctx.timeoutMs,
      hubKey: ctx.flags.str("hub-key"),
      state,
    });
    const target = streamTarget(session, stream);
    const ls = labelStateFor(state, session.hubId, target, keys.client.public, nowSec(ctx));
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

/**
 * Merges a view verified by an overlay reader into state.json (under the lock) when it is ahead of the stored one,
 * so later sends need not fetch those items again. Skipped when the hub entry is gone (state was deleted).
 */
export async function saveView(
  ctx: CommandContext,
  dir: string,
  session: HubSession,
  target: StreamTarget,
  clientId: Uint8Array,
  view: MmrAccumulator,
): Promise<void> {
  await withStateLock(dir, async () => {
    const s = await readState(dir);
    if (s.hubs[toHex(session.hubId)] === undefined) return;
    const ls = labelStateFor(s, session.hubId, target, clientId, nowSec(ctx));
    if (view.size <= ls.last_stream_seq) return;
    setView(ls, view);
    await writeState(dir, s);
  });
}
