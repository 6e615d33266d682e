/**
 * The hub's storage contract. The sequencer (hub/sequencer.ts) decides order and signs; a HubStore makes a batch of
 * entries durable (log append + fdatasync) before it returns, then indexes them. Everything but the log is
 * derivable from it. Implemented on disk by hub/disk_store.ts (docs/durability.md).
 */
import { type HashReader, toHex } from "../core/mod.ts";
import type { AttachmentLedgerStatus, AttachmentsCollected } from "./attachment_ledger.ts";
import type { ClientUsage } from "./client_key_bounds.ts";
import type { ReceiptRecord } from "./receipt_record.ts";
import type { LogPosition } from "./segment_index.ts";

/**
 * The key of a (label, client_id) pair in memory: label hex || client_id hex. One definition for the sequencer's
 * cursors and the store's caches, so that `CommitEntry.clientKey` is the store's key.
 */
export const clientKey = (label: Uint8Array, clientId: Uint8Array): string => toHex(label) + toHex(clientId);

/** One accepted message, ready to persist: its receipts record plus the MSG (`receipt` and `msg` exact wire bytes). */
export interface CommitEntry extends ReceiptRecord {
  msg: Uint8Array;
  /** MMR node hashes this append adds, in postorder position order (MmrAccumulator.append().newNodes). */
  newNodes: Uint8Array[];
  /** Peaks after this append (ascending height), for the label head. */
  peaks: Uint8Array[];
  /**
   * KEX1+ first_seen of (label, client_id) after this entry (hub/client_key_bounds.ts nextFirstSeen), from the
   * sequencer's cursor; not logged. When absent the index derives it from the prior row, as the log replay does.
   */
  firstSeen?: number;
  /** {@link clientKey} of (label, client_id), when the caller has it already (made once per client run). */
  clientKey?: string;
}

/** An accepted entry found by (label, client_id, client_seq). */
export interface AcceptedEntry {
  streamSeq: number;
  leafHash: Uint8Array;
}

/** The O(1) head record per label. */
export interface LabelHead {
  label: Uint8Array;
  seq: number;
  peaks: Uint8Array[];
  root: Uint8Array;
  lastHubTs: number;
}

/** A stored (RECEIPT, MSG) pair as wire bytes. */
export interface StoredItem {
  streamSeq: number;
  receipt: Uint8Array;
  msg: Uint8Array;
}

/** An admission record installed by /authorize (OP0.2), keyed by auth_ref. */
export interface AdmissionRecord {
  authRef: Uint8Array;
  capToken: Uint8Array;
  subjectPk: Uint8Array;
  streamIds: Uint8Array[];
  ttl: number;
  perSec: number | null;
  burst: number | null;
  /**
   * hub_ts when the hub first authorized a token of this record's cap root (KEX1+ §4.2 issued_at; kept in the log
   * so it is replayable).
   */
  issuedAt: number;
  expiresAt: number;
  /** The token's cap root (core capRoot): shared by a chain, its prefixes and its extensions. */
  capRoot: Uint8Array;
}

/** Who uploads an attachment: the auth_ref of the `veen-auth-ref` header, or null; and the hub time in seconds. */
export interface AttachmentUpload {
  owner: Uint8Array | null;
  nowSec: number;
}

/** Per-family retention in days (COMP0.1, DIR/retention.json); null keeps forever. */
export interface RetentionPolicy {
  receiptsDays: number | null;
  payloadsDays: number | null;
  checkpointsDays: number | null;
}

/**
 * A retention minimum beyond the policy (LCLASS0 retention_hint, hub/label_policy.ts): true when a segment holding
 * entries of `labels`, the newest at `lastHubTs`, must stay at `nowSec` although the policy would drop it.
 */
export type RetentionHold = (labels: readonly Uint8Array[], lastHubTs: number, nowSec: number) => boolean;

/** What one retention pass dropped. */
export interface RetentionDropped {
  receipts: number[];
  payloads: number[];
  checkpoints: number;
}

/** Retention boundaries (the `retention` object of GET /info and `veen retention show --json`). */
export interface RetentionStatus {
  receipts: { days: number | null; dropped_segments: number; first_segment: number };
  payloads: { days: number | null; dropped_segments: number; first_segment: number };
  checkpoints: { days: number | null; dropped: number };
  /**
   * Per label (at most the first `maxLabels`), the first stream_seq whose RECEIPT (and MSG) is still stored;
   * `last_seq + 1` when none is. Proofs (/proof, /consistency) cover every seq regardless.
   */
  labels: { label: string; last_seq: number; first_receipt_seq: number; first_payload_seq: number }[];
  labels_truncated: boolean;
}

/** What HubStore.snapshot (hub/disk_store.ts) hands to the copy: the cut and the index rows as of it. */
export interface StoreCut {
  /** The end of the last durable batch: segment `log.seg` is copied up to these offsets, later ones not at all. */
  log: LogPosition;
  heads: LabelHead[];
  /** Every index.kv row as of the cut (hub/kv_rows.ts lines). */
  index: string[];
  checkpointsSize: number;
  admissionsSize: number;
  firstSegment: { receipts: number; payloads: number };
}

export interface StoreStats {
  labels: number;
  entries: number;
  logBytes: number;
  segments: number;
}

export interface HubStore {
  /** All label heads, loaded at open in O(labels) from the index (never from the log). */
  heads(): Iterable<LabelHead>;
  head(label: Uint8Array): LabelHead | undefined;
  /**
   * The last accepted client_seq of (label, client_id) (0 when none; also its MSG count there) and its KEX1+
   * first_seen (null when none or unknown).
   */
  clientUsage(label: Uint8Array, clientId: Uint8Array): Promise<ClientUsage>;
  /**
   * The entry accepted for (label, client_id, client_seq) when it is the client's last one or among recent entries
   * (RESYNC0.1's duplicate window). A leaf binds client_id and client_seq (I2), so this answers the duplicate check:
   * same leaf → E.DUP; otherwise the authoritative client_seq check (I8, I9) refuses it as E.SEQ.
   */
  accepted(label: Uint8Array, clientId: Uint8Array, clientSeq: number): Promise<AcceptedEntry | undefined>;
  /**
   * Appends a batch durably: framed log records written and fdatasync'ed, then node store and indices updated.
   * Resolves only when the batch would survive kill -9 and power loss. Entries are in commit order; per label
   * their stream_seq values are contiguous and continue the head.
   */
  commit(batch: CommitEntry[]): Promise<void>;
  /**
   * Items with from <= seq <= to (bounded by `limit`), in seq order, each O(1) to locate. With `maxBytes`, the items
   * stop before the one that would take their stored size beyond it (always at least one), judged before reading
   * them, so a reader's memory follows its byte budget and not `limit` times the largest item.
   */
  readRange(
    label: Uint8Array,
    from: number,
    to: number,
    limit: number,
    maxBytes?: number,
  ): Promise<StoredItem[]>;
  /** Node hashes of a label's MMR by postorder position, O(1) per node. */
  nodeReader(label: Uint8Array): HashReader;
  /** Signed CHECKPOINT bytes, durably appended and indexed by (label, upto_seq) and (label, epoch). */
  putCheckpoint(label: Uint8Array, uptoSeq: number, epoch: number, checkpoint: Uint8Array): Promise<void>;
  latestCheckpoint(label: Uint8Array): Promise<Uint8Array | undefined>;
  checkpointsByEpoch(
    label: Uint8Array,
    epochMin: number,
    epochMax: number,
    limit: number,
  ): Promise<Uint8Array[]>;
  /** Admission records, durably logged so issued_at is replayable. */
  putAdmission(rec: AdmissionRecord): Promise<void>;
  getAdmission(authRef: Uint8Array): Promise<AdmissionRecord | undefined>;
  /** The least issued_at of the admission records of a cap root, if any. */
  capRootIssuedAt(root: Uint8Array): Promise<number | undefined>;
  /**
   * Content-addressed attachment ciphertexts: stores `bytes` for `upload.owner` and resolves with their coid =
   * H(bytes). Accounting, quotas and collection: hub/attachment_ledger.ts (E.SIZE, E.RATE, E.UNAVAILABLE).
   */
  putAttachment(bytes: Uint8Array, upload?: AttachmentUpload): Promise<Uint8Array>;
  getAttachment(coid: Uint8Array): Promise<Uint8Array | undefined>;
  /** Lapses expired attachment waits and deletes unclaimed attachments and those of dropped payload segments. */
  collectAttachments?(nowMs: number): Promise<AttachmentsCollected>;
  /** Pending attachment counters (for /info). */
  attachmentStatus?(): AttachmentLedgerStatus;
  stats(): StoreStats;
  /**
   * Only the RECEIPT of an entry (it stays readable when the entry's payload segment was dropped by retention);
   * E.NOT_FOUND when not retained. Stores without retention may omit it (callers fall back to readRange).
   */
  readReceipt?(label: Uint8Array, seq: number): Promise<Uint8Array>;
  /**
   * Retention (COMP0.1): drops whole expired rotated log segments (never the active one, node files, position files
   * or a label's latest checkpoint) and, when `checkpointsDays` is set, expired checkpoints. O(segments dropped).
   * A segment `hold` keeps is not dropped, nor any after it (drops are a prefix).
   */
  enforceRetention?(policy: RetentionPolicy, nowMs: number, hold?: RetentionHold): Promise<RetentionDropped>;
  /** Retention boundaries, O(labels · log n) (a binary search over each label's positions). */
  retentionStatus?(maxLabels?: number): RetentionStatus;
  /**
   * Resolves when the store's background work (the disk store's index writer) has nothing left to do, at its own
   * pace (it is not hurried). Stores without background work may omit it.
   */
  settled?(): Promise<void>;
  /**
   * An online backup's consistent cut (hub/backup.ts): runs `copy` with the cut, retention and attachment collection
   * held off until it settles. Stores that cannot be backed up omit it.
   */
  snapshot?<T>(copy: (cut: StoreCut) => Promise<T>): Promise<T>;
  /** Flushes, fsyncs and closes files and the KV database. */
  close(): Promise<void>;
}
