/**
 * CHECKPOINT (spec 004 §5, 003 §4.4): CBOR array of 7, or 8 when `witness_sigs` is present
 * `[ver=1, label_prev, label_curr, upto_seq, mmr_root, epoch, hub_sig, witness_sigs?]`. hub_sig and every witness
 * signature sign `Ht("veen/sig", CBOR(the first 6 fields))`. witness_sigs is never null.
 */
import { type CborValue, decodeCbor, encodeCbor, expectArray, expectBytes, expectUint } from "./cbor.ts";
import { ed25519Sign, ed25519Verify } from "./ed25519.ts";
import { VeenError } from "./errors.ts";
import { Ht } from "./hash.ts";

export interface Checkpoint {
  ver: 1;
  labelPrev: Uint8Array;
  labelCurr: Uint8Array;
  uptoSeq: number;
  mmrRoot: Uint8Array;
  epoch: number;
  hubSig: Uint8Array;
  witnessSigs?: Uint8Array[];
}

export type UnsignedCheckpoint = Omit<Checkpoint, "hubSig" | "witnessSigs">;

const MAX_WITNESSES = 16;

function unsignedArray(c: UnsignedCheckpoint): CborValue[] {
  return [c.ver, c.labelPrev, c.labelCurr, c.uptoSeq, c.mmrRoot, c.epoch];
}

export function checkpointSigningDigest(c: UnsignedCheckpoint): Uint8Array {
  return Ht("veen/sig", encodeCbor(unsignedArray(c)));
}

export function checkpointToCbor(c: Checkpoint): CborValue {
  const a: CborValue[] = [...unsignedArray(c), c.hubSig];
  if (c.witnessSigs !== undefined) a.push(c.witnessSigs);
  return a;
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  return encodeCbor(checkpointToCbor(c));
}

export function signCheckpoint(c: UnsignedCheckpoint, hubSecret: Uint8Array): Checkpoint {
  return { ...c, hubSig: ed25519Sign(hubSecret, checkpointSigningDigest(c)) };
}

/** Signature of a witness (for example the old or new hub key during KEX0.1 rotation) over the same digest. */
export function witnessSign(c: UnsignedCheckpoint, witnessSecret: Uint8Array): Uint8Array {
  return ed25519Sign(witnessSecret, checkpointSigningDigest(c));
}

export function verifyCheckpointSig(c: Checkpoint, hubPk: Uint8Array): boolean {
  return ed25519Verify(hubPk, checkpointSigningDigest(c), c.hubSig);
}

/** True when some witness signature verifies under `witnessPk`. */
export function hasWitness(c: Checkpoint, witnessPk: Uint8Array): boolean {
  const d = checkpointSigningDigest(c);
  return (c.witnessSigs ?? []).some((s) => ed25519Verify(witnessPk, d, s));
}

export function checkpointFromCbor(v: CborValue): Checkpoint {
  const a = expectArray(v, [7, 8], "CHECKPOINT");
  if (a[0] !== 1) throw new VeenError("E.SIZE", "CHECKPOINT.ver must be 1");
  const c: Checkpoint = {
    ver: 1,
    labelPrev: expectBytes(a[1], 32, "CHECKPOINT.label_prev"),
    labelCurr: expectBytes(a[2], 32, "CHECKPOINT.label_curr"),
    uptoSeq: expectUint(a[3], "CHECKPOINT.upto_seq"),
    mmrRoot: expectBytes(a[4], 32, "CHECKPOINT.mmr_root"),
    epoch: expectUint(a[5], "CHECKPOINT.epoch"),
    hubSig: expectBytes(a[6], 64, "CHECKPOINT.hub_sig"),
  };
  if (a.length === 8) {
    const w = a[7];
    if (!Array.isArray(w) || w.length > MAX_WITNESSES) {
      throw new VeenError("E.SIZE", `CHECKPOINT.witness_sigs must be an array of at most ${MAX_WITNESSES}`);
    }
    c.witnessSigs = w.map((s, i) => expectBytes(s, 64, `CHECKPOINT.witness_sigs[${i}]`));
  }
  return c;
}

export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  return checkpointFromCbor(decodeCbor(bytes, "CHECKPOINT"));
}
