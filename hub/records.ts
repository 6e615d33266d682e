/**
 * The record codecs of the single record files (docs/durability.md "Data directory"): admissions.cborseq records
 * (the map written by `putAdmission`) and checkpoints.cborseq records. The live store and the offline checks
 * (`veen hub fsck`) use these same codecs.
 */
import {
  bytesEqual,
  capRoot,
  type CborValue,
  decodeCapToken,
  decodeCbor,
  decodeMsg,
  encodeCbor,
  expectArray,
  expectBytes,
  expectIntMap,
  expectUint,
  VeenError,
} from "../core/mod.ts";
import { MAX_FRAME_BODY } from "./frame.ts";
import type { TailKind } from "./log_tail.ts";
import { decodeReceiptBody } from "./receipt_record.ts";
import type { AdmissionRecord } from "./store.ts";

const ADM_KEYS = [1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
/**
 * Offline readers (fsck, decoding old records) check integrity, not policy: a hub may have been configured with a
 * longer chain than the default.
 */
export const ANY_CAP_CHAIN = 1 << 16;

const ADM_KEYS_ALLOWED = [...ADM_KEYS, 10] as const;

function encodeAdmission(r: AdmissionRecord): Uint8Array {
  return encodeCbor(
    new Map<number, CborValue>([
      [1, r.authRef],
      [2, r.capToken],
      [3, r.subjectPk],
      [4, r.streamIds.slice()],
      [5, r.ttl],
      [6, r.perSec],
      [7, r.burst],
      [8, r.issuedAt],
      [9, r.expiresAt],
      [10, r.capRoot],
    ]),
  );
}

/**
 * Decodes an admissions.cborseq record body (the map written by `putAdmission`). Records written before cap roots
 * were recorded have no key 10: their root is derived from their cap_token.
 */
export function decodeAdmission(body: Uint8Array): AdmissionRecord {
  const m = expectIntMap(
    decodeCbor(body, "admission record"),
    ADM_KEYS_ALLOWED,
    ADM_KEYS,
    "admission record",
  );
  const opt = (k: number, what: string) => (m.get(k) === null ? null : expectUint(m.get(k), what));
  const ids = m.get(4);
  if (!Array.isArray(ids)) throw new VeenError("E.SIZE", "admission record stream_ids must be an array");
  const capToken = expectBytes(m.get(2), undefined, "cap_token");
  return {
    authRef: expectBytes(m.get(1), undefined, "auth_ref"),
    capToken,
    subjectPk: expectBytes(m.get(3), undefined, "subject_pk"),
    streamIds: ids.map((x, i) => expectBytes(x, undefined, `stream_ids[${i}]`)),
    ttl: expectUint(m.get(5), "ttl"),
    perSec: opt(6, "per_sec"),
    burst: opt(7, "burst"),
    issuedAt: expectUint(m.get(8), "issued_at"),
    expiresAt: expectUint(m.get(9), "expires_at"),
    capRoot: m.has(10)
      ? expectBytes(m.get(10), 32, "cap_root")
      : capRoot(decodeCapToken(capToken, ANY_CAP_CHAIN)),
  };
}

/**
 * The bytes `putAdmission` writes, checked by decoding them with the same codec that start-up, the index rebuild
 * and fsck use: a record that would not read back (E.SIZE) is refused before anything is written.
 */
export function admissionBody(rec: AdmissionRecord): Uint8Array {
  const body = encodeAdmission(rec);
  if (!bytesEqual(encodeAdmission(decodeAdmission(body)), body)) {
    throw new VeenError("E.SIZE", "Admission record does not read back as written");
  }
  return body;
}

/** A checkpoints.cborseq record body `[label, upto_seq, epoch, CHECKPOINT bytes]`. */
export function encodeCheckpointRecord(
  label: Uint8Array,
  upto: number,
  epoch: number,
  checkpoint: Uint8Array,
): Uint8Array {
  return encodeCbor([label, upto, epoch, checkpoint]);
}

/** Decodes a checkpoints.cborseq record body `[label, upto_seq, epoch, CHECKPOINT bytes]`. */
export function decodeCheckpointRecord(
  body: Uint8Array,
): { label: Uint8Array; upto: number; epoch: number; cp: Uint8Array } {
  const a = expectArray(decodeCbor(body, "checkpoint record"), 4, "checkpoint record");
  return {
    label: expectBytes(a[0], undefined, "label"),
    upto: expectUint(a[1], "upto_seq"),
    epoch: expectUint(a[2], "epoch"),
    cp: expectBytes(a[3], undefined, "checkpoint"),
  };
}

/** Whether `body` decodes as a record of its kind, or throws. */
function decodes(decode: (body: Uint8Array) => unknown): (body: Uint8Array) => boolean {
  return (body) => {
    try {
      decode(body);
      return true;
    } catch {
      return false;
    }
  };
}

/**
 * What the recovery rule (hub/log_tail.ts) knows of a framed file's records, by its path relative to the data dir:
 * receipts, checkpoint and admission records can be recognised anywhere; a MSG only as a whole frame body.
 */
export function tailKindOf(file: string): TailKind {
  const record = (decode: (body: Uint8Array) => unknown) => {
    const is = decodes(decode);
    return { isBody: is, isRecord: is };
  };
  if (file.startsWith("receipts/")) return record(decodeReceiptBody);
  if (file.endsWith("checkpoints.cborseq")) return record(decodeCheckpointRecord);
  if (file.endsWith("admissions.cborseq")) return record(decodeAdmission);
  if (file.startsWith("payloads/")) return { isBody: decodes((b) => decodeMsg(b, MAX_FRAME_BODY)) };
  return {};
}
