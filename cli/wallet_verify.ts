/**
 * `wallet show --verify` (overlay decisions "Identity, wallet and operations"; 001 §5.5): every incoming credit the
 * wallet's fold applied (a wallet.transfer.v1 whose to_wallet_id is this wallet) is checked against its source:
 * the copy's parent_id must be the msg_id of an item on the source wallet's stream on the same hub, read with
 * proofs (OverlayCursor: RECEIPT signature, inclusion proof, MMR roots), whose body is byte for byte the copy's
 * and which the source wallet's fold accepted (applied, not skipped with a WAL.* code). A credit that fails any of
 * these is reported with the reason; the verification folds the streams from stream_seq 1 and saves nothing.
 */
import { bytesEqual, toHex } from "../core/mod.ts";
import { decodeWalletBody, type OverlayEntry, WALLET_BODIES } from "../overlays/mod.ts";
import type { CommandContext } from "./context.ts";
import { readWallet } from "./wallet_view.ts";

export interface UnverifiedCredit {
  stream_seq: number;
  transfer_id: string;
  source_wallet_id: string;
  reason: string;
}

export interface CreditReport {
  /** Incoming credits the wallet's fold applied. */
  credits: number;
  verified: number;
  unverified: UnverifiedCredit[];
}

interface SourceItem {
  seq: number;
  accepted: boolean;
  body: Uint8Array;
}

interface SourceRead {
  items: Map<string, SourceItem>;
  opaque: number;
  violations: Map<number, string>;
}

/** Checks every applied incoming credit of `walletId` (see the module comment). */
export async function verifyCredits(ctx: CommandContext, walletId: Uint8Array): Promise<CreditReport> {
  const credits: OverlayEntry[] = [];
  const schema = WALLET_BODIES.transfer.schemaId;
  await readWallet(ctx, walletId, {
    refold: true,
    noSave: true,
    observe: (e, accepted) => {
      if (!accepted || !bytesEqual(e.hdr.schema, schema)) return;
      if (!bytesEqual(decodeWalletBody("transfer", e.body).wallet_id as Uint8Array, walletId)) {
        credits.push(e);
      }
    },
  });
  const sources = new Map<string, SourceRead>();
  const sourceOf = async (id: Uint8Array): Promise<SourceRead> => {
    const k = toHex(id);
    let got = sources.get(k);
    if (got === undefined) {
      const items = new Map<string, SourceItem>();
      const r = await readWallet(ctx, id, {
        refold: true,
        noSave: true,
        observe: (e, accepted) => items.set(toHex(e.msgId), { seq: e.seq, accepted, body: e.body }),
      });
      got = {
        items,
        opaque: r.cursor.opaque,
        violations: new Map(r.state.violations.map((v) => [v.seq, v.code])),
      };
      sources.set(k, got);
    }
    return got;
  };
  const unverified: UnverifiedCredit[] = [];
  for (const e of credits) {
    const rec = decodeWalletBody("transfer", e.body);
    const src = rec.wallet_id as Uint8Array;
    const fail = (reason: string) =>
      unverified.push({
        stream_seq: e.seq,
        transfer_id: toHex(rec.transfer_id as Uint8Array),
        source_wallet_id: toHex(src),
        reason,
      });
    const parent = e.hdr.parentId;
    if (parent === undefined) {
      fail("no parent_id: not a copy of a source event");
      continue;
    }
    const s = await sourceOf(src);
    const item = s.items.get(toHex(parent));
    if (item === undefined) {
      fail(
        s.opaque > 0
          ? `parent_id not found among the source stream's readable items (${s.opaque} sealed to other clients)`
          : "parent_id is not an item of the source wallet's stream",
      );
    } else if (!bytesEqual(item.body, e.body)) {
      fail(`the source event at stream_seq ${item.seq} is not this transfer`);
    } else if (!item.accepted) {
      fail(
        `the source wallet's fold skipped it (stream_seq ${item.seq}: ${
          s.violations.get(item.seq) ?? "not a wallet event"
        })`,
      );
    }
  }
  return { credits: credits.length, verified: credits.length - unverified.length, unverified };
}
