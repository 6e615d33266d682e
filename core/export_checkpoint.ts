/**
 * The export checkpoint (SDR0 §3.2.4, AGB0 §4.4; overlay decisions "Products"): a hub-signed list of
 * (label, last_seq, mmr_root) with the hub key, the profile and the time, so one object states how far several
 * streams are provably consistent. CBOR
 * `[ver=1, hub_pk, profile_id, time, [[label, last_seq, mmr_root], ...], hub_sig]`,
 * `hub_sig = Ed25519(Ht("veen/export-checkpoint", CBOR(the first five fields)))`. Labels are distinct, at most
 * {@link EXPORT_CHECKPOINT_MAX_STREAMS}, each with last_seq >= 1.
 */
import { bytesEqual, toHex } from "./bytes.ts";
import { type CborValue, decodeCbor, encodeCbor, expectArray, expectBytes, expectUint } from "./cbor.ts";
import { ed25519Sign, ed25519Verify } from "./ed25519.ts";
import { VeenError } from "./errors.ts";
import { H, Ht } from "./hash.ts";

/** Streams one export checkpoint (and one checkpoint request) may name. */
export const EXPORT_CHECKPOINT_MAX_STREAMS = 64;

export interface ExportCheckpointStream {
  label: Uint8Array;
  lastSeq: number;
  mmrRoot: Uint8Array;
}

export interface ExportCheckpoint {
  ver: 1;
  hubPk: Uint8Array;
  profileId: Uint8Array;
  /** Unix seconds at signing (the hub's clock). */
  time: number;
  streams: ExportCheckpointStream[];
  hubSig: Uint8Array;
}

export type UnsignedExportCheckpoint = Omit<ExportCheckpoint, "hubSig">;

function unsignedArray(c: UnsignedExportCheckpoint): CborValue[] {
  return [c.ver, c.hubPk, c.profileId, c.time, c.streams.map((s) => [s.label, s.lastSeq, s.mmrRoot])];
}

function digest(c: UnsignedExportCheckpoint): Uint8Array {
  return Ht("veen/export-checkpoint", encodeCbor(unsignedArray(c)));
}

export function signExportCheckpoint(c: UnsignedExportCheckpoint, hubSecret: Uint8Array): ExportCheckpoint {
  return { ...c, hubSig: ed25519Sign(hubSecret, digest(c)) };
}

/** True when hub_sig verifies under the export checkpoint's own hub_pk (the caller checks hub_pk is trusted). */
export function verifyExportCheckpointSig(c: ExportCheckpoint): boolean {
  return ed25519Verify(c.hubPk, digest(c), c.hubSig);
}

export function encodeExportCheckpoint(c: ExportCheckpoint): Uint8Array {
  return encodeCbor([...unsignedArray(c), c.hubSig]);
}

/** `H(CBOR(export checkpoint))`: how audit records name it. */
export function exportCheckpointId(c: ExportCheckpoint): Uint8Array {
  return H(encodeExportCheckpoint(c));
}

/** The entry of `label`, if the export checkpoint covers it. */
export function exportCheckpointStream(
  c: ExportCheckpoint,
  label: Uint8Array,
): ExportCheckpointStream | undefined {
  return c.streams.find((s) => bytesEqual(s.label, label));
}

export function exportCheckpointFromCbor(v: CborValue): ExportCheckpoint {
  const a = expectArray(v, 6, "export checkpoint");
  if (a[0] !== 1) throw new VeenError("E.SIZE", "Export checkpoint ver must be 1");
  const list = a[4];
  if (!Array.isArray(list) || list.length === 0 || list.length > EXPORT_CHECKPOINT_MAX_STREAMS) {
    throw new VeenError(
      "E.SIZE",
      `Export checkpoint streams must be an array of 1 to ${EXPORT_CHECKPOINT_MAX_STREAMS}`,
    );
  }
  const seen = new Set<string>();
  const streams = list.map((x, i) => {
    const e = expectArray(x, 3, `export checkpoint streams[${i}]`);
    const s = {
      label: expectBytes(e[0], 32, `export checkpoint streams[${i}].label`),
      lastSeq: expectUint(e[1], `export checkpoint streams[${i}].last_seq`),
      mmrRoot: expectBytes(e[2], 32, `export checkpoint streams[${i}].mmr_root`),
    };
    if (s.lastSeq < 1) {
      throw new VeenError("E.SIZE", `Export checkpoint streams[${i}].last_seq must be at least 1`);
    }
    if (seen.has(toHex(s.label))) {
      throw new VeenError("E.SIZE", `Export checkpoint names label ${toHex(s.label)} twice`);
    }
    seen.add(toHex(s.label));
    return s;
  });
  return {
    ver: 1,
    hubPk: expectBytes(a[1], 32, "export checkpoint hub_pk"),
    profileId: expectBytes(a[2], 32, "export checkpoint profile_id"),
    time: expectUint(a[3], "export checkpoint time"),
    streams,
    hubSig: expectBytes(a[5], 64, "export checkpoint hub_sig"),
  };
}

export function decodeExportCheckpoint(bytes: Uint8Array): ExportCheckpoint {
  return exportCheckpointFromCbor(decodeCbor(bytes, "export checkpoint"));
}
