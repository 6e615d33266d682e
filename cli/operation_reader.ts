/**
 * What the operation-profile commands share (CLI goals 3 §6, §8): the operation log of a stream, folded by the
 * resumable cursor (overlays/operation_log.ts: only items after the stored summary are fetched), and the state of a
 * snapshot (spec-3 §7.4): the class's state_hash over the log up to upto_stream_seq and the hub's signed RECEIPT
 * root there.
 *
 * A paid operation sent under an access grant's auth_ref is bound by that grant's maximum_amount and currency_code
 * (overlays/access_grant.ts): the grants the paid operations name are fetched from the hub once per auth_ref
 * (`GET /admin/grant`, checked against auth_ref) before the ledger is folded, so the fold stays pure.
 */
import { bytesEqual, H, VeenError } from "../core/mod.ts";
import { usageError } from "../cmd/mod.ts";
import {
  contentRoot,
  type GrantLookup,
  type Ledger,
  ledgerFold,
  ledgerStateBytes,
  OPERATION_LOG,
  type OperationLog,
  type OperationRecord,
  PAID_OPERATION,
  STATE_CLASSES,
  stateHash,
} from "../overlays/mod.ts";
import { grantCache } from "./cap_fetch.ts";
import { checkReceipt } from "./client_view.ts";
import type { CommandContext } from "./context.ts";
import { readInputFile } from "./files.ts";
import type { HubHttp } from "./http_client.ts";
import type { HubSession } from "./hub_session.ts";
import type { OverlayCursor } from "./overlay_cursor.ts";
import { type FetchingFold, readFold } from "./commands/crdt.ts";

/** The operation log of `stream` (default `--stream`), brought up to the hub's last item. */
export async function readOperations(
  ctx: CommandContext,
  stream?: string,
): Promise<{ cursor: OverlayCursor<OperationLog>; log: OperationLog }> {
  const { cursor } = await readFold(ctx, OPERATION_LOG, stream);
  return { cursor, log: cursor.state };
}

/** The ledger fold (overlays/ledger_fold.ts) with the bounds of the grants its paid operations name, from `session`. */
export function grantBoundLedger(session: HubSession): FetchingFold<Ledger> {
  const grants = grantCache(session.http);
  return {
    fold: ledgerFold((ref) => grants.get(ref)),
    async before(e) {
      if (e.authRef != null && bytesEqual(e.hdr.schema, PAID_OPERATION.schemaId)) {
        await grants.load(e.authRef);
      }
    },
  };
}

/** The bounds of the grants the paid operations of `records` name, each fetched once from `http`. */
export async function paidGrants(http: HubHttp, records: readonly OperationRecord[]): Promise<GrantLookup> {
  const grants = grantCache(http);
  for (const r of records) {
    if (r.authRef !== undefined && r.codec === PAID_OPERATION) await grants.load(r.authRef);
  }
  return (ref) => grants.get(ref);
}

export interface SnapshotState {
  stateHash: Uint8Array;
  /** The mmr_root of the hub's RECEIPT at upto (signature checked). */
  mmrRoot: Uint8Array;
  /** The operation log the state was folded from. */
  log: OperationLog;
}

/** The state_hash of `cls` for `stateId` up to `upto` on `--stream`, and the hub's RECEIPT root at `upto`. */
export async function computeSnapshot(
  ctx: CommandContext,
  stateId: Uint8Array,
  upto: number,
  cls: string,
): Promise<SnapshotState> {
  if (!(STATE_CLASSES as readonly string[]).includes(cls)) {
    throw usageError(`Unknown state class "${cls}"; one of ${STATE_CLASSES.join(", ")}`, "E.PROFILE");
  }
  const { cursor, log } = await readOperations(ctx);
  if (upto < 1 || upto > cursor.view.size) {
    throw new VeenError("E.NOT_FOUND", `Stream has no stream_seq ${upto} (last is ${cursor.view.size})`);
  }
  const session = cursor.session;
  const { receipt } = await session.http.receipt(cursor.label, upto);
  checkReceipt(receipt, session.hubPk, cursor.label);
  const grants = await paidGrants(session.http, log.records.filter((r) => r.seq <= upto));
  return {
    stateHash: stateHash(cls, ledgerStateBytes(log.records, stateId, upto, grants)),
    mmrRoot: receipt.mmrRoot,
    log,
  };
}

/** content_root over the files' hashes `H(bytes)`, in the order given (overlays/content_root.ts). */
export async function contentRootOfFiles(paths: readonly string[]): Promise<Uint8Array> {
  const leaves: Uint8Array[] = [];
  for (const p of paths) leaves.push(H(await readInputFile(p, "content file")));
  return contentRoot(leaves);
}
