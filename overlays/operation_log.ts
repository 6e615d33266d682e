/**
 * The operation log fold (spec-3 §11, CLI goals 3 §6, §8): every entry of a stream whose schema is one of the
 * operation profiles (overlays/operation_profiles.ts), decoded by its codec, with its position and sender. The
 * commands that read the profiles (`wallet ledger`, `agreement status`, `snapshot verify`, `recovery timeline`,
 * `audit ...`, `audit publication`, `audit delegated`, `federate mirror-check`) derive their answers from this
 * summary with the pure functions of the sibling files, so a warm read fetches only the items after the summary —
 * but loads every record. Where the answer has a bounded summary the command folds that instead (`wallet ledger`:
 * overlays/ledger_fold.ts, `agreement status`: AGREEMENT_FOLD, `audit summary`: overlays/operation_counts.ts),
 * each decoding entries with `decodeOperation`.
 *
 * A profile entry whose payload_hdr.cap_ref is not its MSG.auth_ref (spec-3 §1.3) is rejected, as is one whose body
 * does not decode.
 *
 * Summary: the records of the range in stream order (and the stream_seqs of profile bodies that did not decode).
 * merge is concatenation (a free monoid: associative, identity the empty log), which `rangeMonoid` applies to
 * adjacent ranges only, so no item is ever counted twice (P1: each (label, stream_seq) is processed once).
 */
import { bytesEqual, fromHex, toHex } from "../core/mod.ts";
import type { BodyCodec, BodyRecord } from "./body_codec.ts";
import {
  type ApplyResult,
  damaged,
  type Fold,
  jsonArray,
  jsonHex,
  jsonObject,
  jsonUint,
  type OverlayEntry,
} from "./fold.ts";
import { profileByName, profileBySchema } from "./operation_profiles.ts";

/** One decoded operation of a profile schema. */
export interface OperationRecord {
  seq: number;
  msgId: Uint8Array;
  /** MSG.client_id: the signer. */
  clientId: Uint8Array;
  /** RECEIPT.hub_ts. */
  hubTs: number;
  /** payload_hdr.expires_at, when set. */
  expiresAt?: number;
  /** payload_hdr.parent_id, when set. */
  parentId?: Uint8Array;
  /** MSG.auth_ref, when set (e.g. an access grant's derived auth_ref, whose bounds a paid operation must keep). */
  authRef?: Uint8Array;
  codec: BodyCodec;
  body: BodyRecord;
}

export interface OperationLog {
  records: OperationRecord[];
  /** Profile entries whose body did not decode: (stream_seq, reason). */
  rejected: { seq: number; reason: string }[];
}

/** The records of schema `name`, in stream order. */
export function recordsOf(log: OperationLog, name: string, upto = Infinity): OperationRecord[] {
  return log.records.filter((r) => r.codec.name === name && r.seq <= upto);
}

function recordJson(r: OperationRecord): Record<string, unknown> {
  return {
    seq: r.seq,
    msg_id: toHex(r.msgId),
    client_id: toHex(r.clientId),
    hub_ts: r.hubTs,
    ...(r.expiresAt === undefined ? {} : { expires_at: r.expiresAt }),
    ...(r.parentId === undefined ? {} : { parent_id: toHex(r.parentId) }),
    ...(r.authRef === undefined ? {} : { auth_ref: toHex(r.authRef) }),
    schema: r.codec.name,
    body: r.codec.toJson(r.body),
  };
}

function recordFromJson(v: unknown, i: number): OperationRecord {
  const o = jsonObject(v, `records[${i}]`);
  const codec = typeof o.schema === "string" ? profileByName(o.schema) : undefined;
  if (codec === undefined) damaged(`records[${i}].schema is not a profile`);
  let body: BodyRecord;
  try {
    body = codec.fromJson(o.body);
  } catch (e) {
    damaged(`records[${i}].body: ${e instanceof Error ? e.message : e}`);
  }
  return {
    seq: jsonUint(o.seq, "seq"),
    msgId: fromHex(jsonHex(o.msg_id, "msg_id", 32), 32),
    clientId: fromHex(jsonHex(o.client_id, "client_id", 32), 32),
    hubTs: jsonUint(o.hub_ts, "hub_ts"),
    ...(o.expires_at === undefined ? {} : { expiresAt: jsonUint(o.expires_at, "expires_at") }),
    ...(o.parent_id === undefined ? {} : { parentId: fromHex(jsonHex(o.parent_id, "parent_id", 32), 32) }),
    ...(o.auth_ref === undefined ? {} : { authRef: fromHex(jsonHex(o.auth_ref, "auth_ref", 32), 32) }),
    codec,
    body,
  };
}

/**
 * Decodes one entry of a profile schema accepted by `accept` (by codec name): undefined for other schemas, a reason
 * when it is rejected (cap_ref is not MSG.auth_ref, or the body does not decode), else its record.
 */
export function decodeOperation(
  e: OverlayEntry,
  accept: (name: string) => boolean = () => true,
): OperationRecord | { rejected: string } | undefined {
  const codec = profileBySchema(e.hdr.schema);
  if (codec === undefined || !accept(codec.name)) return undefined;
  const cap = e.hdr.capRef;
  if (cap !== undefined && e.authRef !== undefined && (e.authRef === null || !bytesEqual(cap, e.authRef))) {
    return { rejected: "payload_hdr.cap_ref is not MSG.auth_ref (spec-3 §1.3)" };
  }
  let body: BodyRecord;
  try {
    body = codec.decode(e.body);
  } catch (err) {
    return { rejected: err instanceof Error ? err.message : String(err) };
  }
  return {
    seq: e.seq,
    msgId: e.msgId,
    clientId: e.clientId,
    hubTs: e.hubTs,
    ...(e.hdr.expiresAt === undefined ? {} : { expiresAt: e.hdr.expiresAt }),
    ...(e.hdr.parentId === undefined ? {} : { parentId: e.hdr.parentId }),
    ...(e.authRef == null ? {} : { authRef: e.authRef }),
    codec,
    body,
  };
}

/**
 * `Fold.apply` for a fold of the profile records `accept` admits: other entries are "ignored", rejected ones (as by
 * `decodeOperation`) "rejected", and `add` folds each record.
 */
export function applyOperation<S>(
  accept: (name: string) => boolean,
  add: (s: S, r: OperationRecord) => void,
): (s: S, e: OverlayEntry) => ApplyResult {
  return (s, e) => {
    const r = decodeOperation(e, accept);
    if (r === undefined) return "ignored";
    if ("rejected" in r) return "rejected";
    add(s, r);
    return "applied";
  };
}

/** The operation log of the profiles whose name `accept` admits, persisted under `kind`. */
export function operationLogFold(kind: string, accept: (name: string) => boolean): Fold<OperationLog> {
  return {
    kind,
    /** Many schemas: every profile of OPERATION_PROFILES (this field is not used to filter). */
    schema: new Uint8Array(32),
    empty: () => ({ records: [], rejected: [] }),
    merge: (l, r) => ({ records: [...l.records, ...r.records], rejected: [...l.rejected, ...r.rejected] }),
    apply(s: OperationLog, e: OverlayEntry): ApplyResult {
      const r = decodeOperation(e, accept);
      if (r === undefined) return "ignored";
      if ("rejected" in r) {
        s.rejected.push({ seq: e.seq, reason: r.rejected });
        return "rejected";
      }
      s.records.push(r);
      return "applied";
    },
    toJson: (s) => ({ records: s.records.map(recordJson), rejected: s.rejected }),
    fromJson: logFromJson,
  };
}

function logFromJson(v: unknown): OperationLog {
  const o = jsonObject(v, "operation log");
  return {
    records: jsonArray(o.records, "records").map(recordFromJson),
    rejected: jsonArray(o.rejected, "rejected").map((x) => {
      const r = jsonObject(x, "rejected[]");
      if (typeof r.reason !== "string") damaged("rejected[].reason is not text");
      return { seq: jsonUint(r.seq, "rejected[].seq"), reason: r.reason };
    }),
  };
}

/** Every profile record of a stream. */
export const OPERATION_LOG: Fold<OperationLog> = operationLogFold("veen.operations", () => true);

/**
 * The recovery records only (request, approval, execution): what the identity remap of `wallet ledger` needs,
 * without the paid operations and the other profiles.
 */
export const RECOVERY_LOG: Fold<OperationLog> = operationLogFold(
  "veen.operations.recovery",
  (name) => name.startsWith("recovery."),
);
