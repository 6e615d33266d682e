/**
 * The operation log fold (spec-3 §11, CLI goals 3 §6, §8): every entry of a stream whose schema is one of the
 * operation profiles (overlays/operation_profiles.ts), decoded by its codec, with its position and sender. The
 * commands that read the records themselves (`snapshot verify`, `audit queries`, `audit enforce-check`, `audit
 * publication`, `audit delegated`, `federate mirror-check`, `wallet ledger` over a narrower range) read them from
 * the client's record index (cli/record_index.ts): OPERATION_LOG declares its records `indexed`, each found under
 * the keys of `operationKeys` (its schema, and per profile the account, checkpoint, publication, resource_class or
 * operation a command looks up), so a command reads only the records it needs, O(log n + k), and the summary holds
 * two counts. Where the answer has a bounded summary the command folds that instead (`wallet ledger`:
 * overlays/ledger_fold.ts, `agreement status`: AGREEMENT_FOLD, `audit summary`: overlays/operation_counts.ts),
 * each decoding entries with `decodeOperation`; `recovery timeline` folds RECOVERY_LOG, a list of the recovery
 * records only.
 *
 * A profile entry whose payload_hdr.cap_ref is not its MSG.auth_ref (spec-3 §1.3) is rejected, as is one whose body
 * does not decode.
 *
 * State: the records of the range in stream order (and the stream_seqs of profile bodies that did not decode), plus
 * the counts of those already taken into an index. merge is concatenation (a free monoid: associative, identity the
 * empty log), which `rangeMonoid` applies to adjacent ranges only, so no item is ever counted twice (P1: each
 * (label, stream_seq) is processed once). `recordJson` / `parseRecord` are the one JSON form of a record (summary
 * and index alike).
 */
import { bytesEqual, fromHex, H, toHex, utf8 } from "../core/mod.ts";
import type { BodyCodec, BodyRecord } from "./body_codec.ts";
import {
  type ApplyResult,
  damaged,
  type Fold,
  type IndexKey,
  type IndexRow,
  jsonArray,
  jsonHex,
  jsonObject,
  jsonUint,
  type OverlayEntry,
} from "./fold.ts";
import { operationId, profileByName, profileBySchema } from "./operation_profiles.ts";

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
  /**
   * The records in stream order: all of them in a pure fold; those folded since the summary was loaded when a
   * reader keeps them in a record index (`OPERATION_LOG.indexed`).
   */
  records: OperationRecord[];
  /** Profile entries whose body did not decode: (stream_seq, reason). */
  rejected: { seq: number; reason: string }[];
  /** How many records and rejections came before `records` and `rejected` (taken into an index). */
  taken: { records: number; rejected: number };
}

/** The JSON form of a record (the one serialization, in summaries and in the record index). */
export function recordJson(r: OperationRecord): Record<string, unknown> {
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

/** Inverse of `recordJson`; throws an Error naming `what` on any damage. */
export function parseRecord(v: unknown, what = "record"): OperationRecord {
  const o = jsonObject(v, what);
  const codec = typeof o.schema === "string" ? profileByName(o.schema) : undefined;
  if (codec === undefined) damaged(`${what}.schema is not a profile`);
  let body: BodyRecord;
  try {
    body = codec.fromJson(o.body);
  } catch (e) {
    damaged(`${what}.body: ${e instanceof Error ? e.message : e}`);
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
    empty: () => ({ records: [], rejected: [], taken: { records: 0, rejected: 0 } }),
    merge: (l, r) => ({
      records: [...l.records, ...r.records],
      rejected: [...l.rejected, ...r.rejected],
      taken: { records: l.taken.records + r.taken.records, rejected: l.taken.rejected + r.taken.rejected },
    }),
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
    records: jsonArray(o.records, "records").map((x, i) => parseRecord(x, `records[${i}]`)),
    rejected: jsonArray(o.rejected, "rejected").map((x) => {
      const r = jsonObject(x, "rejected[]");
      if (typeof r.reason !== "string") damaged("rejected[].reason is not text");
      return { seq: jsonUint(r.seq, "rejected[].seq"), reason: r.reason };
    }),
    taken: { records: 0, rejected: 0 },
  };
}

/** A text key part: itself, or its hash when long (an index key has a bounded size whatever a sender writes). */
function textPart(s: string): string | Uint8Array {
  return s.length <= 128 ? s : H(utf8(s));
}

/** The keys of the record index a command looks records up by (each lists its records in stream order). */
export const OPERATION_KEYS = {
  /** Every record of a profile schema. */
  schema: (name: string): IndexKey => ["schema", name],
  /** paid.operation.v1 naming `account` (hex) as payer or payee. */
  account: (account: string): IndexKey => ["account", account],
  /** state.checkpoint.v1 of (state_id hex, upto_stream_seq). */
  checkpoint: (stateId: string, upto: number): IndexKey => ["checkpoint", stateId, upto],
  /** data.publication.v1 of a publication_id (hex). */
  publication: (id: string): IndexKey => ["publication", id],
  /** data.publication.v1 of a (publication_id hex, version). */
  publicationVersion: (
    id: string,
    version: string,
  ): IndexKey => ["publication-version", id, textPart(version)],
  /** query.audit.v1 of a resource_class. */
  auditClass: (cls: string): IndexKey => ["audit-class", textPart(cls)],
  /** delegated.execution.v1 of an operation_id (hex). */
  delegated: (operation: string): IndexKey => ["delegated", operation],
};

/** The keys `r` is found under: its schema, and the one lookup of its profile a command makes. */
export function operationKeys(r: OperationRecord): IndexKey[] {
  const k = OPERATION_KEYS;
  const b = r.body;
  const keys = [k.schema(r.codec.name)];
  switch (r.codec.name) {
    case "paid.operation.v1": {
      const [payer, payee] = [toHex(b.payer_account as Uint8Array), toHex(b.payee_account as Uint8Array)];
      keys.push(k.account(payer));
      if (payee !== payer) keys.push(k.account(payee));
      break;
    }
    case "state.checkpoint.v1":
      keys.push(k.checkpoint(toHex(b.state_id as Uint8Array), b.upto_stream_seq as number));
      break;
    case "data.publication.v1": {
      const id = toHex(b.publication_id as Uint8Array);
      keys.push(k.publication(id), k.publicationVersion(id, b.version as string));
      break;
    }
    case "query.audit.v1":
      keys.push(k.auditClass(b.resource_class as string));
      break;
    case "delegated.execution.v1":
      keys.push(k.delegated(toHex(operationId(r.msgId))));
      break;
  }
  return keys;
}

/** Moves the records of `s` out as index rows (stream order), counting them and the rejections in `s.taken`. */
function takeRows(s: OperationLog): IndexRow[] {
  const rows = s.records.map((r) => ({ seq: r.seq, keys: operationKeys(r), value: recordJson(r) }));
  s.taken = { records: s.taken.records + s.records.length, rejected: s.taken.rejected + s.rejected.length };
  s.records = [];
  s.rejected = [];
  return rows;
}

/**
 * Every profile record of a stream, its records kept in a record index (`indexed`): the summary is
 * `{records, rejected}`, the two counts. A summary whose `records` is a list was written before the index; it
 * does not parse, so it is discarded and the stream folded again.
 */
export const OPERATION_LOG: Fold<OperationLog> = {
  ...operationLogFold("veen.operations", () => true),
  indexed: { take: takeRows },
  toJson: (s) => ({
    records: s.taken.records + s.records.length,
    rejected: s.taken.rejected + s.rejected.length,
  }),
  fromJson(v: unknown): OperationLog {
    const o = jsonObject(v, "operation log");
    if (Array.isArray(o.records)) damaged("records is a list (a summary from before the record index)");
    return {
      records: [],
      rejected: [],
      taken: { records: jsonUint(o.records, "records"), rejected: jsonUint(o.rejected, "rejected") },
    };
  },
};

/**
 * The recovery records only (request, approval, execution): what the identity remap of `wallet ledger` needs,
 * without the paid operations and the other profiles.
 */
export const RECOVERY_LOG: Fold<OperationLog> = operationLogFold(
  "veen.operations.recovery",
  (name) => name.startsWith("recovery."),
);
