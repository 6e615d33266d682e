/**
 * What the operation-profile commands share (CLI goals 3 §6, §8): the operation log of a stream, folded by the
 * resumable cursor (overlays/operation_log.ts: only items after the stored summary are fetched), and the state of a
 * snapshot (spec-3 §7.4): the class's state_hash over the log up to upto_stream_seq and the hub's signed RECEIPT
 * root there (the map classes "counter.map" and "configuration.map": cli/state_classes.ts).
 */
import { H, VeenError } from "../core/mod.ts";
import { usageError } from "../cmd/mod.ts";
import {
  contentRoot,
  ledgerStateBytes,
  MAP_STATE_CLASSES,
  mapStateClass,
  OPERATION_LOG,
  type OperationLog,
  STATE_CLASSES,
  stateHash,
} from "../overlays/mod.ts";
import { checkReceipt } from "./client_view.ts";
import type { CommandContext } from "./context.ts";
import { readInputFile } from "./files.ts";
import type { OverlayCursor } from "./overlay_cursor.ts";
import { readFold } from "./commands/crdt.ts";
import { mapStateHash } from "./state_classes.ts";

/** The operation log of `stream` (default `--stream`), brought up to the hub's last item. */
export async function readOperations(
  ctx: CommandContext,
  stream?: string,
): Promise<{ cursor: OverlayCursor<OperationLog>; log: OperationLog }> {
  const { cursor } = await readFold(ctx, OPERATION_LOG, stream);
  return { cursor, log: cursor.state };
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
  const map = mapStateClass(cls);
  if (map === undefined && !(STATE_CLASSES as readonly string[]).includes(cls)) {
    const known = [...STATE_CLASSES, ...Object.keys(MAP_STATE_CLASSES)];
    throw usageError(`Unknown state class "${cls}"; one of ${known.join(", ")}`, "E.PROFILE");
  }
  const { cursor, log } = await readOperations(ctx);
  if (upto < 1 || upto > cursor.view.size) {
    throw new VeenError("E.NOT_FOUND", `Stream has no stream_seq ${upto} (last is ${cursor.view.size})`);
  }
  const session = cursor.session;
  const { receipt } = await session.http.receipt(cursor.label, upto);
  checkReceipt(receipt, session.hubPk, cursor.label);
  return {
    stateHash: map !== undefined
      ? await mapStateHash(ctx, cls, map, upto)
      : stateHash(cls, ledgerStateBytes(log.records, stateId, upto)),
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
