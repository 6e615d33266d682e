/**
 * What the operation-profile commands share (CLI goals 3 §6, §8): the operation records of a stream, folded by the
 * resumable cursor (overlays/operation_log.ts: only items after the stored summary are fetched) into the record
 * index (cli/record_index.ts), and read from it by key (`OperationIndex`: O(log n + k) for the k records of a key);
 * and the state of a snapshot (spec-3 §7.4): the class's state_hash up to upto_stream_seq and the hub's signed
 * RECEIPT root there (the map classes "counter.map" and "configuration.map": cli/state_classes.ts).
 *
 * A paid operation sent under an access grant's auth_ref is bound by that grant's maximum_amount and currency_code
 * (overlays/access_grant.ts): the grants the paid operations name are fetched from the hub once per auth_ref
 * (`GET /admin/grant`, checked against auth_ref) before the ledger is folded, so the fold stays pure.
 */
import { bytesEqual, H, toHex, VeenError } from "../core/mod.ts";
import { usageError } from "../cmd/mod.ts";
import {
  contentRoot,
  type GrantLookup,
  type IndexKey,
  type Ledger,
  ledgerFold,
  ledgerStateBytes,
  MAP_STATE_CLASSES,
  mapStateClass,
  OPERATION_KEYS,
  OPERATION_LOG,
  type OperationLog,
  type OperationRecord,
  PAID_OPERATION,
  parseRecord,
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
import type { RecordIndex } from "./record_index.ts";
import { type FetchingFold, readFold } from "./commands/crdt.ts";
import { mapStateHash } from "./state_classes.ts";

/** The operation records of one stream's record index, looked up by the keys of overlays/operation_log.ts. */
export class OperationIndex {
  readonly #index: RecordIndex;
  constructor(index: RecordIndex) {
    this.#index = index;
  }

  /** The records under `key` with stream_seq in [from, upto], in stream order. */
  async records(key: IndexKey, from = 1, upto = Infinity): Promise<OperationRecord[]> {
    return (await this.#index.list(key, { from, upto })).map((r) => parseRecord(r.value));
  }

  /** The last record under `key` with stream_seq at most `upto`, if any. */
  async latest(key: IndexKey, upto = Infinity): Promise<OperationRecord | undefined> {
    const [r] = await this.#index.list(key, { upto, reverse: true, limit: 1 });
    return r === undefined ? undefined : parseRecord(r.value);
  }
}

/** The operation records of `stream` (default `--stream`), brought up to the hub's last item. */
export async function readOperations(
  ctx: CommandContext,
  stream?: string,
): Promise<{ cursor: OverlayCursor<OperationLog>; ops: OperationIndex }> {
  const { cursor } = await readFold(ctx, OPERATION_LOG, stream);
  return { cursor, ops: new OperationIndex(cursor.records!) };
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
  /** The operation records the state was folded from, and their cursor. */
  ops: OperationIndex;
  cursor: OverlayCursor<OperationLog>;
}

/** The state_hash of `cls` for `stateId` up to `upto` on `--stream`, and the hub's RECEIPT root at `upto`. */
export async function computeSnapshot(
  ctx: CommandContext,
  stateId: Uint8Array,
  upto: number,
  cls: string,
): Promise<SnapshotState> {
  const map = mapStateClass(cls);
  if (map === undefined && !(STATE_CLASSES as readonly string[]).includes(cls)) {
    const known = [...STATE_CLASSES, ...Object.keys(MAP_STATE_CLASSES)];
    throw usageError(`Unknown state class "${cls}"; one of ${known.join(", ")}`, "E.PROFILE");
  }
  const { cursor, ops } = await readOperations(ctx);
  if (upto < 1 || upto > cursor.view.size) {
    throw new VeenError("E.NOT_FOUND", `Stream has no stream_seq ${upto} (last is ${cursor.view.size})`);
  }
  const session = cursor.session;
  const { receipt } = await session.http.receipt(cursor.label, upto);
  checkReceipt(receipt, session.hubPk, cursor.label);
  return {
    stateHash: map !== undefined
      ? await mapStateHash(ctx, cls, map, upto)
      : await walletLedgerStateHash(ops, session.http, stateId, upto),
    mmrRoot: receipt.mmrRoot,
    ops,
    cursor,
  };
}

/**
 * state_hash of class `wallet.ledger` for `stateId` up to `upto` (overlays/paid_ledger.ts): folded from the paid
 * operations naming stateId as payer or payee only (the index key `account`), each within its grant's bounds.
 */
export async function walletLedgerStateHash(
  ops: OperationIndex,
  http: HubHttp,
  stateId: Uint8Array,
  upto: number,
): Promise<Uint8Array> {
  const records = await ops.records(OPERATION_KEYS.account(toHex(stateId)), 1, upto);
  return stateHash(
    "wallet.ledger",
    ledgerStateBytes(records, stateId, upto, await paidGrants(http, records)),
  );
}

/** content_root over the files' hashes `H(bytes)`, in the order given (overlays/content_root.ts). */
export async function contentRootOfFiles(paths: readonly string[]): Promise<Uint8Array> {
  const leaves: Uint8Array[] = [];
  for (const p of paths) leaves.push(H(await readInputFile(p, "content file")));
  return contentRoot(leaves);
}
