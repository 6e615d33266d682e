/**
 * On-demand checkpoints from the client (SDR0 §3.2.4; hub/checkpoint_now.ts): signs a checkpoint request for some
 * labels of one hub with an admin client's key (its cap's auth_ref when given), sends it to `POST /checkpoint/now`
 * and checks the answer: one CHECKPOINT per label, each signed by the pinned hub key for that label, and an export
 * checkpoint signed by the same key that lists exactly those (label, upto_seq, mmr_root). Any mismatch is E.SIG.
 */
import {
  bytesEqual,
  type Checkpoint,
  decodeCheckpoint,
  decodeExportCheckpoint,
  encodeCheckpointRequest,
  type ExportCheckpoint,
  exportCheckpointStream,
  signCheckpointRequest,
  toHex,
  VeenError,
  verifyExportCheckpointSig,
} from "../core/mod.ts";
import { checkCheckpoint } from "./client_view.ts";
import type { HubSession } from "./hub_session.ts";
import type { ClientKeys } from "./keystore.ts";

export interface CheckpointsNow {
  checkpoints: { checkpoint: Checkpoint; bytes: Uint8Array }[];
  exportCheckpoint: ExportCheckpoint;
  exportBytes: Uint8Array;
}

/** Asks `session`'s hub for a CHECKPOINT of each of `labels` now, signed as `keys` (see the module comment). */
export async function checkpointsNow(
  session: HubSession,
  keys: ClientKeys,
  labels: Uint8Array[],
  nowSec: number,
  authRef?: Uint8Array,
): Promise<CheckpointsNow> {
  const req = signCheckpointRequest(
    { ver: 1, hubId: session.hubId, labels, ts: nowSec, authRef: authRef ?? null },
    keys.client.public,
    keys.client.secret,
  );
  const got = await session.http.checkpointNow(encodeCheckpointRequest(req));
  if (got.checkpoints.length !== labels.length) {
    throw new VeenError(
      "E.SIG",
      `Hub answered ${got.checkpoints.length} CHECKPOINTs for ${labels.length} labels`,
    );
  }
  const exp = decodeExportCheckpoint(got.exportCheckpoint);
  if (!bytesEqual(exp.hubPk, session.hubPk) || !verifyExportCheckpointSig(exp)) {
    throw new VeenError("E.SIG", "Export checkpoint is not signed by the pinned hub key");
  }
  if (exp.streams.length !== labels.length) {
    throw new VeenError("E.SIG", "Export checkpoint does not list exactly the requested labels");
  }
  const checkpoints = got.checkpoints.map((bytes, i) => {
    const checkpoint = decodeCheckpoint(bytes);
    checkCheckpoint(checkpoint, session.hubPk, labels[i]!);
    const e = exportCheckpointStream(exp, labels[i]!);
    if (e === undefined || e.lastSeq !== checkpoint.uptoSeq || !bytesEqual(e.mmrRoot, checkpoint.mmrRoot)) {
      throw new VeenError(
        "E.SIG",
        `Export checkpoint entry of label ${toHex(labels[i]!)} differs from its CHECKPOINT`,
      );
    }
    return { checkpoint, bytes };
  });
  return { checkpoints, exportCheckpoint: exp, exportBytes: got.exportCheckpoint };
}
