/**
 * A wallet's fold as the CLI reads it (001 §6, §8; overlay decisions "Identity, wallet and operations"): the
 * wallet's stream verified item by item (OverlayCursor: proofs, RECEIPT roots, the summary resumed so only new
 * items are read) and, for every privileged event, the cap its MSG.auth_ref names fetched from the same hub
 * (`GET /cap`, once per auth_ref) so that the fold can check who authorized it.
 */
import type { OverlayEntry } from "../overlays/mod.ts";
import {
  PRIVILEGED_KINDS,
  walletFold,
  walletKindOf,
  type WalletState,
  walletStateOf,
  walletStreamId,
  type WalletSummary,
} from "../overlays/mod.ts";
import { toHex } from "../core/mod.ts";
import { CapCache } from "./cap_fetch.ts";
import { clientDir, type CommandContext, loadKeys } from "./context.ts";
import { type HubSession, streamTarget } from "./hub_session.ts";
import { type ClientKeys, decryptionSecrets } from "./keystore.ts";
import { OverlayCursor } from "./overlay_cursor.ts";
import { pinnedSession } from "./overlay_io.ts";

/** The stream name of a wallet: the hex of stream_id_wallet (core streamIdFor takes 64 hex as the bytes). */
export function walletStreamName(walletId: Uint8Array): string {
  return toHex(walletStreamId(walletId));
}

export interface WalletRead {
  state: WalletState;
  keys: ClientKeys;
  session: HubSession;
  caps: CapCache;
  cursor: OverlayCursor<WalletSummary>;
}

export interface ReadOptions {
  /** Stream to read (default the wallet's own stream). */
  stream?: string;
  /** Fold from stream_seq 1 (default `--refold`). */
  refold?: boolean;
  /** Keep the summary file as it was (a read for checking only). */
  noSave?: boolean;
  /** Called with every entry read and whether the fold accepted it (a wallet event applied without violation). */
  observe?: (e: OverlayEntry, accepted: boolean) => void;
  /** Session to read through (default: `--hub`, pinned in the client directory). */
  session?: HubSession;
}

/** Brings the fold of wallet `walletId` up to the hub's last item (see the module comment). */
export async function readWallet(
  ctx: CommandContext,
  walletId: Uint8Array,
  o: ReadOptions = {},
): Promise<WalletRead> {
  const dir = clientDir(ctx);
  const keys = await loadKeys(ctx, dir);
  const session = o.session ?? await pinnedSession(ctx, dir);
  const caps = new CapCache(session.http);
  const fold = walletFold(walletId, (ref) => caps.get(ref));
  const cursor = await OverlayCursor.open({
    session,
    target: streamTarget(session, o.stream ?? walletStreamName(walletId)),
    dir,
    secrets: decryptionSecrets(keys),
    fold,
    refold: o.refold ?? ctx.flags.bool("refold"),
    warn: (m) => ctx.out.warn(m),
    // The caps a privileged event names, fetched before the fold reads them.
    async before(e) {
      const kind = walletKindOf(e.hdr.schema);
      if (kind !== undefined && PRIVILEGED_KINDS.has(kind) && e.authRef != null) await caps.load(e.authRef);
    },
  });
  const state = () => walletStateOf(walletId, cursor.state);
  for await (const e of cursor.entries()) {
    const kind = walletKindOf(e.hdr.schema);
    const before = state().violations.length;
    const res = fold.apply(cursor.state, e);
    o.observe?.(e, kind !== undefined && res === "applied" && state().violations.length === before);
  }
  if (o.noSave !== true) await cursor.save();
  return { state: state(), keys, session, caps, cursor };
}
