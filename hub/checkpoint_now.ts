/**
 * `POST /checkpoint/now` (SDR0 §3.2.4, 001 L893-928; docs/recorder.md): an admin-signed checkpoint request
 * (core/checkpoint_request.ts) makes the hub emit a CHECKPOINT for each named label at once and sign an export
 * checkpoint over them. Checks, in order: decode (E.SIZE), hub_id is this hub's (E.AUTH), ts within the skew
 * (E.TIME), signature (E.SIG), author as for admin records (E.AUTH: an admin key, a cap rooted in one or in the hub
 * key, or anyone on an open hub), revocations (E.AUTH), each label has entries (E.NOT_FOUND). Answer CBOR
 * `[[CBOR(CHECKPOINT) as bstr, ...], CBOR(export checkpoint) as bstr]`, CHECKPOINTs in request order.
 */
import {
  bytesEqual,
  CHECKPOINT_REQUEST_SKEW_SEC,
  decodeCheckpoint,
  decodeCheckpointRequest,
  encodeCbor,
  encodeExportCheckpoint,
  signExportCheckpoint,
  type SigningKey,
  toHex,
  VeenError,
  verifyCheckpointRequestSig,
} from "../core/mod.ts";
import type { AdminPlane } from "./admin_plane.ts";
import type { Checkpointer } from "./checkpointer.ts";
import type { Logger } from "./logger.ts";

export interface CheckpointNowContext {
  hubKey: SigningKey;
  hubId: Uint8Array;
  profileId: Uint8Array;
  admin: AdminPlane;
  checkpointer: Checkpointer;
  now: () => number;
  log: Logger;
}

export async function checkpointNow(c: CheckpointNowContext, body: Uint8Array): Promise<Uint8Array> {
  const r = decodeCheckpointRequest(body);
  if (!bytesEqual(r.hubId, c.hubId)) {
    throw new VeenError("E.AUTH", `Checkpoint request names hub ${toHex(r.hubId)}, not this hub`);
  }
  const nowMs = c.now();
  const nowSec = Math.floor(nowMs / 1000);
  if (Math.abs(nowSec - r.ts) > CHECKPOINT_REQUEST_SKEW_SEC) {
    throw new VeenError(
      "E.TIME",
      `Checkpoint request ts ${r.ts} is more than ${CHECKPOINT_REQUEST_SKEW_SEC} s from the hub's time ${nowSec}`,
    );
  }
  if (!verifyCheckpointRequestSig(r)) {
    throw new VeenError("E.SIG", "Checkpoint request signature does not verify");
  }
  const author = await c.admin.authorOf(r.clientId, r.authRef);
  if (author === undefined) {
    throw new VeenError("E.AUTH", "Checkpoint requests need an admin key or a capability rooted in one");
  }
  const revoked = await c.admin.revocationFor(r.clientId, r.authRef, nowSec);
  if (revoked !== undefined) throw new VeenError("E.AUTH", `Revoked (${revoked.kind})`);
  const checkpoints: Uint8Array[] = [];
  for (const label of r.labels) {
    const bytes = await c.checkpointer.checkpointNow(label);
    if (bytes === undefined) {
      throw new VeenError("E.NOT_FOUND", `Label ${toHex(label)} has no entries to checkpoint`);
    }
    checkpoints.push(bytes);
  }
  const streams = checkpoints.map((b) => {
    const cp = decodeCheckpoint(b);
    return { label: cp.labelCurr, lastSeq: cp.uptoSeq, mmrRoot: cp.mmrRoot };
  });
  const exp = signExportCheckpoint(
    { ver: 1, hubPk: c.hubKey.public, profileId: c.profileId, time: nowSec, streams },
    c.hubKey.secret,
  );
  c.log.info("checkpoint on demand", {
    client_id: toHex(r.clientId),
    via: author.via,
    labels: streams.map((s) => `${toHex(s.label).slice(0, 8)}@${s.lastSeq}`).join(","),
  });
  return encodeCbor([checkpoints, encodeExportCheckpoint(exp)]);
}
