/**
 * An on-demand checkpoint request (SDR0 §3.2.4 "checkpoint triggers" are a recorder_admin right, 001 L883-892):
 * signed by an admin client, it asks one hub to emit a CHECKPOINT for each named label at once and to sign an
 * export checkpoint over them (`POST /checkpoint/now`, docs/recorder.md). CBOR
 * `[ver=1, hub_id, [label, ...], ts, client_id, auth_ref / null, sig]`,
 * `sig = Ed25519(client_id, Ht("veen/checkpoint-request", CBOR(the first six fields)))`. hub_id binds it to one
 * hub; the hub accepts it within {@link CHECKPOINT_REQUEST_SKEW_SEC} of its clock.
 */
import { toHex } from "./bytes.ts";
import { type CborValue, decodeCbor, encodeCbor, expectArray, expectBytes, expectUint } from "./cbor.ts";
import { ed25519Sign, ed25519Verify } from "./ed25519.ts";
import { VeenError } from "./errors.ts";
import { Ht } from "./hash.ts";
import { EXPORT_CHECKPOINT_MAX_STREAMS } from "./export_checkpoint.ts";

/** How far a request's ts may be from the hub's clock, in seconds. */
export const CHECKPOINT_REQUEST_SKEW_SEC = 300;

export interface CheckpointRequest {
  ver: 1;
  hubId: Uint8Array;
  labels: Uint8Array[];
  ts: number;
  clientId: Uint8Array;
  authRef: Uint8Array | null;
  sig: Uint8Array;
}

export type UnsignedCheckpointRequest = Omit<CheckpointRequest, "sig" | "clientId">;

function unsignedArray(r: Omit<CheckpointRequest, "sig">): CborValue[] {
  return [r.ver, r.hubId, r.labels, r.ts, r.clientId, r.authRef];
}

function digest(r: Omit<CheckpointRequest, "sig">): Uint8Array {
  return Ht("veen/checkpoint-request", encodeCbor(unsignedArray(r)));
}

/** Signs `r` as the client whose Ed25519 key pair is (`clientId`, `secret`). */
export function signCheckpointRequest(
  r: UnsignedCheckpointRequest,
  clientId: Uint8Array,
  secret: Uint8Array,
): CheckpointRequest {
  const u = { ...r, clientId };
  return { ...u, sig: ed25519Sign(secret, digest(u)) };
}

export function verifyCheckpointRequestSig(r: CheckpointRequest): boolean {
  return ed25519Verify(r.clientId, digest(r), r.sig);
}

export function encodeCheckpointRequest(r: CheckpointRequest): Uint8Array {
  return encodeCbor([...unsignedArray(r), r.sig]);
}

export function decodeCheckpointRequest(bytes: Uint8Array): CheckpointRequest {
  const a = expectArray(decodeCbor(bytes, "checkpoint request"), 7, "checkpoint request");
  if (a[0] !== 1) throw new VeenError("E.SIZE", "Checkpoint request ver must be 1");
  const list = a[2];
  if (!Array.isArray(list) || list.length === 0 || list.length > EXPORT_CHECKPOINT_MAX_STREAMS) {
    throw new VeenError(
      "E.SIZE",
      `Checkpoint request labels must be an array of 1 to ${EXPORT_CHECKPOINT_MAX_STREAMS}`,
    );
  }
  const labels = list.map((l, i) => expectBytes(l, 32, `checkpoint request labels[${i}]`));
  if (new Set(labels.map(toHex)).size !== labels.length) {
    throw new VeenError("E.SIZE", "Checkpoint request names a label twice");
  }
  return {
    ver: 1,
    hubId: expectBytes(a[1], 32, "checkpoint request hub_id"),
    labels,
    ts: expectUint(a[3], "checkpoint request ts"),
    clientId: expectBytes(a[4], 32, "checkpoint request client_id"),
    authRef: a[5] === null ? null : expectBytes(a[5], 32, "checkpoint request auth_ref"),
    sig: expectBytes(a[6], 64, "checkpoint request sig"),
  };
}
