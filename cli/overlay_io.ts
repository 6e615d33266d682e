/**
 * What the overlay commands (rpc, crdt) share around state.json: a hub session whose key is pinned there, and
 * merging a view they verified back into it. Sending is `sendAndSave` in sender.ts, as for `veen send`.
 */
import { type MmrAccumulator, toHex } from "../core/mod.ts";
import { labelStateFor, readState, setView, withStateLock, writeState } from "./client_state.ts";
import { type CommandContext, connectFromFlags, nowSec } from "./context.ts";
import type { HubSession, StreamTarget } from "./hub_session.ts";

/** Connects to `--hub`, checking (and on first contact recording) the hub-key pin in `dir`'s state.json. */
export async function pinnedSession(ctx: CommandContext, dir: string): Promise<HubSession> {
  return await withStateLock(dir, async () => {
    const state = await readState(dir);
    const session = await connectFromFlags(ctx, state);
    await writeState(dir, state);
    return session;
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
