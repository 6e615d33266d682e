/**
 * The durable HubStore: framed append-only logs are the truth; MMR node files, position files and a Deno KV index
 * are derived from them and repaired from the log tail at start-up. The data directory (every file and its format),
 * the commit protocol, recovery and retention are described once, in docs/durability.md; this module implements
 * them over hub/segment_log.ts (the log), hub/record_file.ts with hub/records.ts (checkpoints and admissions),
 * hub/node_store.ts (`mmr/`, `pos/`), hub/kv_index.ts (`index.kv`, its keys), hub/index_seed.ts (index rebuild after
 * retention) and hub/retention.ts (what expired).
 *
 * `commit(batch)` resolves once the batch's log records are durable; node and position records are buffered per
 * label and written and synced behind the log by one index writer, and batches not yet indexed wait in an in-memory
 * overlay (heads, last client_seq, accepted entries) that every lookup consults first, bounded by `maxIndexLag`.
 * After any failure past validation the store refuses writes (E.UNAVAILABLE) until reopened; the reopen repairs from
 * the log. Per-entry `["pos", label, seq]` KV rows were measured against the fixed-width `pos/` files: on this 2-core
 * VM a 64-entry atomic costs ~6.6 ms with leaf + client rows and ~7.9-8.6 ms with pos rows as well, while the pos
 * file write rides along with the node file write; reads become one 24·n-byte positional read instead of a KV range.
 */
import {
  bytesEqual,
  type HashReader,
  Lru,
  MmrAccumulator,
  mmrRoot,
  nodeCountForLeaves,
  popcount,
  toHex,
  VeenError,
} from "../core/mod.ts";
import {
  type AttachmentClaim,
  AttachmentLedger,
  type AttachmentLedgerStatus,
  type AttachmentPolicy,
  type AttachmentsCollected,
  KvLedgerBackend,
} from "./attachment_ledger.ts";
import { AttachmentStore } from "./attachment_store.ts";
import type { ClientUsage } from "./client_key_bounds.ts";
import { type AdmissionRow, type IndexItem, KvIndex, type KvLimits } from "./kv_index.ts";
import { fileSize, Lock, mkdir700, type Syncer } from "./files.ts";
import { checkpointCutoffEpoch, checkpointsToKeep, expiredSegments } from "./retention.ts";
import { admissionBody, decodeAdmission, decodeCheckpointRecord, encodeCheckpointRecord } from "./records.ts";
import type { ReceiptRecord } from "./receipt_record.ts";
import { RecordFile } from "./record_file.ts";
import type { LogPosition, RecordLocation } from "./segment_index.ts";
import { type LogRecord, SegmentLog } from "./segment_log.ts";
import { planIndexSeed } from "./index_seed.ts";
import { dumpKv } from "./kv_rows.ts";
import { firstSeqAtOrAfter, NodeStore, PosStore } from "./node_store.ts";
import {
  type AcceptedEntry,
  type AdmissionRecord,
  type AttachmentUpload,
  clientKey,
  type CommitEntry,
  type HubStore,
  type LabelHead,
  type RetentionDropped,
  type RetentionHold,
  type RetentionPolicy,
  type RetentionStatus,
  type StoreCut,
  type StoredItem,
  type StoreStats,
} from "./store.ts";

export interface DiskStoreOptions {
  /** Rotate log segments at this size (default 64 MiB). */
  segmentBytes?: number;
  /** Largest attachment accepted (default 16 MiB). */
  maxAttachmentBytes?: number;
  /** Attachment quota, pending cap and grace period (attachment_ledger.ts; defaults there). */
  attachments?: Partial<AttachmentPolicy>;
  /** (label, client_id) → last client_seq cache entries (default 65536). */
  clientCacheSize?: number;
  /** Durable entries allowed to wait for the KV index before commit() waits for it (default 16384). */
  maxIndexLag?: number;
  /**
   * Least time between index flushes, so one flush (an fdatasync per touched node and position file, one KV
   * commit) serves many batches (default 250 ms; a crash replays at most that much log tail at start-up).
   */
  indexIntervalMs?: number;
  /** Recent (label, leaf_hash) → seq cache entries (default 16384). */
  entryCacheSize?: number;
  /** The durability barrier of the log, checkpoint and admission files (tests gate or count it). */
  sync?: Syncer;
  /** Receives a line for every repair made at open (torn tails, long node files). */
  onRepair?: (what: string) => void;
  /** Per-atomic KV limits (tests lower them to exercise chunking). */
  kvLimits?: Partial<KvLimits>;
  /** Receives per-commit phase timings in ms (encode, write + fdatasync, KV index), e.g. for metrics. */
  onCommitTiming?: (t: CommitTiming) => void;
  /**
   * Test hooks. `crashBeforeIndex`: commit writes and syncs the log, node and position files, then fails as if
   * killed before the KV commit. `failIndexStage`: the KV stage fails (as if the KV commit errored).
   */
  testHooks?: { crashBeforeIndex?: boolean; failIndexStage?: boolean };
}

/** Phase timings of one commit, in milliseconds. */
export interface CommitTiming {
  entries: number;
  encodeMs: number;
  durableMs: number;
  indexMs: number;
}

/** StoreStats plus I/O counters. */
export interface DiskStoreStats extends StoreStats {
  /** Log, checkpoint and admission bytes read since open (replay included). */
  logBytesRead: number;
  /** Log entries replayed from the unindexed tail at open. */
  replayedAtOpen: number;
  /** KV atomics committed since open. */
  kvAtomics: number;
}

const admissionRow = (r: AdmissionRecord, off: number, len: number): AdmissionRow => ({
  authRef: r.authRef,
  off,
  len,
  capRoot: r.capRoot,
  issuedAt: r.issuedAt,
});

const checkInt = (n: number, what: string, min = 0) => {
  if (!Number.isSafeInteger(n) || n < min) {
    throw new VeenError("E.SIZE", `${what} must be an integer >= ${min}`);
  }
};

/** Opens (creating) the store in `dir`, repairing and re-indexing the log tail. */
export async function openDiskStore(dir: string, opts: DiskStoreOptions = {}): Promise<DiskStore> {
  return await DiskStore.open(dir, opts);
}

interface CommitGroup {
  hex: string;
  label: Uint8Array;
  /** The label's seq before this batch. */
  fromSeq: number;
  next: number;
  nodes: Uint8Array[];
  /** Indexes of this label's entries in the batch. */
  idx: number[];
  last: CommitEntry;
}

/** The durable {@link HubStore}; see the module doc for layout, commit protocol and recovery. */
export class DiskStore implements HubStore {
  readonly dir: string;
  readonly #heads = new Map<string, LabelHead>();
  /** Stage 1 (log + node + position files, fdatasync) and stage 2 (KV atomic) run in commit order. */
  readonly #logLock = new Lock();
  readonly #indexLock = new Lock();
  /** Per label, the seq written by stage 1 (ahead of #heads while a batch is between the stages). */
  readonly #written = new Map<string, number>();
  readonly #hooks: NonNullable<DiskStoreOptions["testHooks"]>;
  readonly #onRepair: (what: string) => void;
  readonly #onTiming: ((t: CommitTiming) => void) | undefined;
  #kv!: KvIndex;
  #log!: SegmentLog;
  #nodes!: NodeStore;
  #pos!: PosStore;
  #ckpt!: RecordFile;
  #adm!: RecordFile;
  #att!: AttachmentStore;
  #ledger!: AttachmentLedger;
  #entries = 0;
  #bytesRead = 0;
  #replayed = 0;
  #failed: unknown = undefined;
  #closed = false;
  readonly #latestCkpt = new Lru<{ upto: number; bytes: Uint8Array }>(4096);
  #ckptGen = 0;
  readonly #admCache = new Lru<AdmissionRecord>(16384);
  #admGen = 0;
  #policy: RetentionPolicy = { receiptsDays: null, payloadsDays: null, checkpointsDays: null };
  #ckptDropped = 0;
  /** Lowest checkpoint epoch in checkpoints.cborseq when known (retention skips the rewrite while it is unexpired). */
  #ckptMinEpoch: number | undefined;
  #ckptCompactedAt = -Infinity;
  /** Durable but not yet indexed: batches in commit order, and lookups over them. */
  #unindexed: { items: IndexItem[]; heads: LabelHead[]; end: LogPosition }[] = [];
  #unindexedCount = 0;
  readonly #overlayClients = new Map<string, ClientUsage>();
  readonly #overlayEntries = new Map<string, AcceptedEntry>();
  #indexScheduled: Promise<void> | undefined;
  readonly #maxIndexLag: number;
  readonly #indexIntervalMs: number;
  #lastIndexAt = -Infinity;
  #flushing = false;
  /** Retention, attachment collection and online backups exclude each other (a backup copies what they delete). */
  readonly #maintenance = new Lock();
  /** Snapshots waiting for the index lock: the index writer stops after its current flush. */
  #snapshotsWaiting = 0;

  private constructor(dir: string, opts: DiskStoreOptions) {
    this.dir = dir;
    this.#hooks = opts.testHooks ?? {};
    this.#onRepair = opts.onRepair ?? (() => {});
    this.#onTiming = opts.onCommitTiming;
    this.#maxIndexLag = opts.maxIndexLag ?? 16384;
    this.#indexIntervalMs = opts.indexIntervalMs ?? 250;
  }

  static async open(dir: string, opts: DiskStoreOptions = {}): Promise<DiskStore> {
    const s = new DiskStore(dir, opts);
    await mkdir700(dir);
    const onRead = (n: number) => (s.#bytesRead += n);
    const cleanup: (() => Promise<void> | void)[] = [];
    try {
      // Planned before index.kv is created, so a rebuild that cannot work leaves the data dir as it was.
      let seed = (await fileSize(`${dir}/index.kv`)) < 0 ? await planIndexSeed(dir) : null;
      s.#kv = await KvIndex.open(`${dir}/index.kv`, {
        ...(opts.clientCacheSize === undefined ? {} : { clientCacheSize: opts.clientCacheSize }),
        ...(opts.entryCacheSize === undefined ? {} : { entryCacheSize: opts.entryCacheSize }),
        ...(opts.kvLimits === undefined ? {} : { limits: opts.kvLimits }),
      });
      cleanup.push(() => s.#kv.close());
      let meta = await s.#kv.loadMeta();
      if (meta.log === undefined) {
        seed ??= await planIndexSeed(dir);
        if (seed !== undefined) {
          await s.#kv.commitEntries(seed.items, seed.heads, seed.from);
          meta = { ...meta, log: seed.from };
          s.#onRepair(
            `index rebuilt after retention: ${seed.heads.length} label head(s) and ${seed.items.length} client ` +
              `row(s) from the tombstones of ${seed.segments} dropped segment(s) and the node files; replaying ` +
              `from segment ${seed.from.seg}`,
          );
        }
      }
      for (const h of await s.#kv.loadHeads()) {
        s.#heads.set(toHex(h.label), h);
        s.#written.set(toHex(h.label), h.seq);
        s.#entries += h.seq;
      }

      s.#log = await SegmentLog.open(dir, {
        onRead,
        onRepair: s.#onRepair,
        ...(opts.sync ? { sync: opts.sync } : {}),
        ...(opts.segmentBytes === undefined ? {} : { segmentBytes: opts.segmentBytes }),
      });
      cleanup.push(() => s.#log.close());
      // Before the replay: replayed MSGs redo claims a crash may have lost (claims are idempotent).
      s.#att = await AttachmentStore.open(`${dir}/attachments`, {
        ...(opts.maxAttachmentBytes === undefined ? {} : { maxBytes: opts.maxAttachmentBytes }),
      });
      s.#ledger = await AttachmentLedger.open(new KvLedgerBackend(s.#kv.kv), s.#att, opts.attachments);

      // Checkpoints are indexed before the log replay: a torn log tail may never be cut below one (#beforeCut).
      const ck = await RecordFile.open(`${dir}/checkpoints.cborseq`, meta.checkpoints, {
        onRead,
        onRepair: s.#onRepair,
        relPath: "checkpoints.cborseq",
        deferCut: true,
        ...(opts.sync ? { sync: opts.sync } : {}),
      });
      s.#ckpt = ck.file;
      cleanup.push(() => s.#ckpt.close());
      // Index the records past the indexed offset, or just the new end after a truncated tail.
      if (ck.tail.length > 0 || ck.file.size !== meta.checkpoints) {
        const recs = ck.tail.map((t) => {
          const r = decodeCheckpointRecord(t.body);
          return [r.label, r.upto, r.epoch, t.off, t.len] as [Uint8Array, number, number, number, number];
        });
        await s.#kv.putCheckpoints(recs, ck.file.size);
      }

      const from = meta.log ?? (await s.#log.start());
      const beforeCut = (dropped: ReceiptRecord[]) => s.#beforeCut(dropped);
      // A read-only pass first, so that damage refuses the open before any repair below (docs/durability.md).
      for await (const _ of s.#log.replay(from, { beforeCut, dryRun: true })) { /* judged, not indexed */ }
      await s.#ckpt.cutTornTail();
      s.#nodes = await NodeStore.open(`${dir}/mmr`);
      cleanup.push(() => s.#nodes.close());
      const { short } = await s.#nodes.reconcile(
        (hex) => nodeCountForLeaves(s.#heads.get(hex)?.seq ?? 0),
        s.#onRepair,
        s.#heads.keys(),
      );
      s.#pos = await PosStore.open(`${dir}/pos`);
      cleanup.push(() => s.#pos.close());
      const posShort = (await s.#pos.reconcile(
        (hex) => s.#heads.get(hex)?.seq ?? 0,
        s.#onRepair,
        s.#heads.keys(),
      )).short;
      if (short.length + posShort.length > 0) {
        throw new VeenError(
          "E.UNAVAILABLE",
          `${short.length + posShort.length} node or position file(s) are shorter than the index ` +
            `(first: ${
              short[0] ?? posShort[0]
            }); delete mmr/, pos/ and index.kv* to rebuild them from the log`,
        );
      }

      for await (const chunk of s.#log.replay(from, { beforeCut })) await s.#reindex(chunk);

      const adm = await RecordFile.open(`${dir}/admissions.cborseq`, meta.admissions, {
        onRead,
        onRepair: s.#onRepair,
        relPath: "admissions.cborseq",
        ...(opts.sync ? { sync: opts.sync } : {}),
      });
      s.#adm = adm.file;
      cleanup.push(() => s.#adm.close());
      // An index written before cap roots were indexed re-indexes the whole file once.
      const all = !meta.admissionRoots && meta.admissions > 0;
      if (all || adm.tail.length > 0 || adm.file.size !== meta.admissions) {
        const recs = all ? await adm.file.readAll() : adm.tail;
        await s.#kv.putAdmissions(
          recs.map((t) => admissionRow(decodeAdmission(t.body), t.off, t.len)),
          adm.file.size,
        );
      }
    } catch (e) {
      for (const c of cleanup.reverse()) {
        try {
          await c();
        } catch { /* keep the first error */ }
      }
      throw e;
    }
    return s;
  }

  /**
   * Refuses a torn-tail cut that would drop an entry the index or a CHECKPOINT already covers: such an entry was
   * durable, so its damage is corruption, not a crash leftover (docs/durability.md). O(labels in the tail).
   */
  async #beforeCut(dropped: readonly ReceiptRecord[]): Promise<void> {
    const first = new Map<string, ReceiptRecord>();
    for (const r of dropped) if (!first.has(toHex(r.label))) first.set(toHex(r.label), r);
    for (const [hex, r] of first) {
      const indexed = this.#heads.get(hex)?.seq ?? 0;
      const loc = await this.#kv.latestCheckpointLoc(r.label);
      const upto = loc === undefined ? 0 : decodeCheckpointRecord(this.#ckpt.read(loc[0], loc[1])).upto;
      if (r.streamSeq <= Math.max(indexed, upto)) {
        throw new VeenError(
          "E.UNAVAILABLE",
          `The torn log tail holds label ${hex} stream_seq ${r.streamSeq}, which ${
            r.streamSeq <= upto ? `CHECKPOINT upto_seq ${upto}` : `the index (seq ${indexed})`
          } already covers: refusing to cut it; nothing was changed; run "veen hub fsck"`,
        );
      }
    }
  }

  /** Indexes replayed log records: re-derives node hashes from the heads' peaks, writes nodes and positions, commits KV. */
  async #reindex(chunk: LogRecord[]): Promise<void> {
    interface Group {
      acc: MmrAccumulator;
      fromSeq: number;
      nodes: Uint8Array[];
      locs: RecordLocation[];
      last: LogRecord;
    }
    const groups = new Map<string, Group>();
    const items: IndexItem[] = [];
    for (const r of chunk) {
      const hex = toHex(r.label);
      let g = groups.get(hex);
      if (g === undefined) {
        const h = this.#heads.get(hex);
        const acc = new MmrAccumulator(h?.seq ?? 0, h?.peaks ?? []);
        g = { acc, fromSeq: acc.size, nodes: [], locs: [], last: r };
        groups.set(hex, g);
      }
      if (r.streamSeq <= g.acc.size) continue; // indexed by an earlier chunk of a split atomic
      if (r.streamSeq !== g.acc.size + 1) {
        throw new VeenError(
          "E.UNAVAILABLE",
          `Log record ${r.rec} has stream_seq ${r.streamSeq} for label ${hex}, expected ${g.acc.size + 1}`,
        );
      }
      for (const n of g.acc.append(r.leafHash).newNodes) g.nodes.push(n);
      g.locs.push(r.loc);
      g.last = r;
      items.push({
        label: r.label,
        streamSeq: r.streamSeq,
        leafHash: r.leafHash,
        clientId: r.clientId,
        clientSeq: r.clientSeq,
        clientKey: clientKey(r.label, r.clientId),
        hubTs: r.hubTs,
      });
    }
    const heads: LabelHead[] = [];
    const writes: Promise<void>[] = [];
    for (const g of groups.values()) {
      if (g.locs.length === 0) continue;
      writes.push(this.#nodes.writeAndSync(g.last.label, nodeCountForLeaves(g.fromSeq), g.nodes));
      writes.push(this.#pos.writeAndSync(g.last.label, g.fromSeq + 1, g.locs));
      heads.push({
        label: g.last.label,
        seq: g.acc.size,
        peaks: g.acc.peaks(),
        root: g.acc.root()!,
        lastHubTs: g.last.hubTs,
      });
    }
    await settleAll(writes);
    await this.#claim(chunk, (i) => chunk[i]!.loc.seg);
    const last = chunk[chunk.length - 1]!;
    await this.#kv.commitEntries(items, heads, {
      seg: last.loc.seg,
      rOff: last.loc.rOff + last.loc.rLen,
      pOff: last.loc.pOff + last.loc.pLen,
      rec: last.rec + 1,
    });
    for (const h of heads) {
      const hex = toHex(h.label);
      this.#entries += h.seq - (this.#heads.get(hex)?.seq ?? 0);
      this.#heads.set(hex, h);
      this.#written.set(hex, h.seq);
    }
    this.#replayed += items.length;
  }

  /** Durable MSGs claim their owners' waiting attachment uploads (attachment_ledger.ts); usually a no-op. */
  async #claim(
    entries: readonly { authRef: Uint8Array | null; hubTs: number }[],
    segOf: (i: number) => number,
  ): Promise<void> {
    let claims: AttachmentClaim[] | undefined;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (this.#ledger.waiting(e.authRef)) {
        (claims ??= []).push({ owner: e.authRef, seg: segOf(i), hubTs: e.hubTs });
      }
    }
    if (claims !== undefined) await this.#ledger.claim(claims);
  }

  #checkOpen(): void {
    if (this.#closed) throw new VeenError("E.UNAVAILABLE", "The store is closed");
  }

  #checkWritable(): void {
    this.#checkOpen();
    if (this.#failed !== undefined) {
      throw new VeenError("E.UNAVAILABLE", "A storage write failed earlier; reopen the store to recover", {
        cause: this.#failed,
      });
    }
  }

  #fail(e: unknown, what: string): never {
    this.#failed ??= e;
    throw e instanceof VeenError && e.code === "E.UNAVAILABLE"
      ? e
      : new VeenError("E.UNAVAILABLE", `${what}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
  }

  *heads(): Iterable<LabelHead> {
    yield* this.#heads.values();
  }

  head(label: Uint8Array): LabelHead | undefined {
    return this.#heads.get(toHex(label));
  }

  clientUsage(label: Uint8Array, clientId: Uint8Array): Promise<ClientUsage> {
    this.#checkOpen();
    const o = this.#overlayClients.get(clientKey(label, clientId));
    return o !== undefined ? Promise.resolve(o) : this.#kv.clientUsage(label, clientId);
  }

  async lastClientSeq(label: Uint8Array, clientId: Uint8Array): Promise<number> {
    return (await this.clientUsage(label, clientId)).seq;
  }

  async accepted(
    label: Uint8Array,
    clientId: Uint8Array,
    clientSeq: number,
  ): Promise<AcceptedEntry | undefined> {
    this.#checkOpen();
    const e = this.#overlayEntries.get(clientKey(label, clientId) + clientSeq) ??
      await this.#kv.accepted(label, clientId, clientSeq);
    return e !== undefined && e.streamSeq <= (this.head(label)?.seq ?? 0) ? e : undefined;
  }

  /**
   * Makes `batch` durable and indexed (see the module doc). Calls may overlap: batches are applied in call order,
   * and the log stage of one batch runs while the KV stage of the previous one commits, so a caller that keeps two
   * batches in flight gets about 1 / max(stage) instead of 1 / sum(stages) commits per second.
   */
  async commit(batch: CommitEntry[]): Promise<void> {
    this.#checkWritable();
    await this.#logLock.run(() => this.#writeStage(batch));
    if (this.#unindexedCount > this.#maxIndexLag) await this.flushIndex();
  }

  /** Resolves when every durable batch so far is in the KV index. */
  async flushIndex(): Promise<void> {
    this.#flushing = true;
    try {
      // After a failure nothing more is indexed (the reopen replays it), so stop instead of spinning.
      while (
        this.#failed === undefined && (this.#unindexed.length > 0 || this.#indexScheduled !== undefined)
      ) {
        this.#scheduleIndex();
        await this.#indexScheduled;
      }
    } finally {
      this.#flushing = false;
    }
    this.#checkWritable();
  }

  /** HubStore.settled: resolves when the index writer is idle (every durable batch indexed, or the store failed). */
  async settled(): Promise<void> {
    while (this.#failed === undefined && (this.#unindexed.length > 0 || this.#indexScheduled !== undefined)) {
      this.#scheduleIndex();
      await this.#indexScheduled;
    }
  }

  /** Starts the index writer unless it is running; it takes every waiting batch in one KV commit. */
  #scheduleIndex(): void {
    if (this.#indexScheduled !== undefined || this.#unindexed.length === 0 || this.#failed !== undefined) {
      return;
    }
    this.#indexScheduled = this.#indexLock.run(async () => {
      try {
        // A snapshot waiting for the lock gets it after this flush (the next commit schedules the writer again).
        while (this.#unindexed.length > 0 && this.#failed === undefined && this.#snapshotsWaiting === 0) {
          // Let batches gather: the fixed cost of a flush (node/pos fdatasyncs, one KV commit) is shared by all.
          const wait = this.#lastIndexAt + this.#indexIntervalMs - performance.now();
          if (wait > 0 && !this.#flushing) await new Promise((r) => setTimeout(r, wait));
          this.#lastIndexAt = performance.now();
          const work = this.#unindexed;
          this.#unindexed = [];
          const items = work.flatMap((w) => w.items);
          const heads = new Map<string, LabelHead>();
          for (const w of work) for (const h of w.heads) heads.set(toHex(h.label), h);
          const t0 = performance.now();
          try {
            if (this.#hooks.failIndexStage) throw new Error("Test hook: the index commit failed");
            await Promise.all([this.#nodes.syncDirty(), this.#pos.syncDirty()]);
            await this.#kv.commitEntries(items, [...heads.values()], work[work.length - 1]!.end);
          } catch (e) {
            this.#fail(e, "Index commit failed");
          }
          this.#unindexedCount -= items.length;
          for (const { clientKey, clientSeq } of items) {
            if (this.#overlayClients.get(clientKey)?.seq === clientSeq) {
              this.#overlayClients.delete(clientKey);
            }
            this.#overlayEntries.delete(clientKey + clientSeq);
          }
          this.#onTiming?.({
            entries: items.length,
            encodeMs: 0,
            durableMs: 0,
            indexMs: performance.now() - t0,
          });
        }
      } catch {
        // #fail recorded it; writers see it through #checkWritable
      } finally {
        this.#indexScheduled = undefined;
      }
    });
  }

  /** Validates against the written seqs; nothing is touched when this throws. */
  #plan(batch: CommitEntry[]): Map<string, CommitGroup> {
    const groups = new Map<string, CommitGroup>();
    let g: CommitGroup | undefined;
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      // Entries of one label mostly come in runs: its hex and group are looked up once per run.
      const same = g !== undefined && bytesEqual(g.last.label, e.label);
      const hex = same ? g!.hex : toHex(e.label);
      if (!same) g = groups.get(hex);
      if (g === undefined) {
        const seq = this.#written.get(hex) ?? 0;
        g = { hex, label: e.label, fromSeq: seq, next: seq + 1, nodes: [], idx: [], last: e };
        groups.set(hex, g);
      }
      if (e.streamSeq !== g.next) {
        throw new VeenError(
          "E.SEQ",
          `Commit of stream_seq ${e.streamSeq} for label ${hex}; expected ${g.next}`,
        );
      }
      const want = nodeCountForLeaves(e.streamSeq) - nodeCountForLeaves(e.streamSeq - 1);
      if (e.newNodes.length !== want || !bytesEqual(e.newNodes[0]!, e.leafHash)) {
        throw new VeenError(
          "E.SIZE",
          `Entry ${hex}/${e.streamSeq} must carry ${want} new nodes starting with its leaf`,
        );
      }
      if (e.peaks.length !== popcount(e.streamSeq)) {
        throw new VeenError(
          "E.SIZE",
          `Entry ${hex}/${e.streamSeq} must carry ${popcount(e.streamSeq)} peaks`,
        );
      }
      for (const n of e.newNodes) g.nodes.push(n);
      g.idx.push(i);
      g.next++;
      g.last = e;
    }
    return groups;
  }

  /** Stage 1: log records, node and position files, fdatasync; then queues stage 2 in order. */
  async #writeStage(batch: CommitEntry[]): Promise<void> {
    this.#checkWritable();
    if (batch.length === 0) return;
    const groups = this.#plan(batch);
    const heads: LabelHead[] = [];
    for (const g of groups.values()) {
      const e = g.last;
      heads.push({
        label: e.label,
        seq: e.streamSeq,
        peaks: e.peaks,
        root: mmrRoot(e.peaks),
        lastHubTs: e.hubTs,
      });
    }
    const t0 = performance.now();
    let t1 = t0;
    let end: LogPosition;
    try {
      const prep = await this.#log.append(batch);
      end = prep.end;
      t1 = performance.now();
      const writes = [...prep.durable];
      for (const g of groups.values()) {
        writes.push(this.#nodes.write(g.label, nodeCountForLeaves(g.fromSeq), g.nodes));
        writes.push(this.#pos.write(g.label, g.fromSeq + 1, g.idx.map((i) => prep.locs[i]!)));
      }
      await settleAll(writes);
      // Before the batch can be indexed, so a crash that loses a claim leaves its MSG in the replayed tail.
      await this.#claim(batch, (i) => prep.locs[i]!.seg);
    } catch (e) {
      this.#fail(e, "Storage commit failed");
    }
    for (const g of groups.values()) this.#written.set(g.hex, g.next - 1);
    const t2 = performance.now();
    if (this.#hooks.crashBeforeIndex) {
      this.#fail(new Error("Test hook: crash before the index commit"), "Crash");
    }
    for (const h of heads) this.#heads.set(toHex(h.label), h);
    // Only the index fields wait for the index writer; the entry objects (receipt, node and peak arrays) do not.
    const items: IndexItem[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const { label, clientId, clientSeq, streamSeq, leafHash, hubTs, firstSeen } = batch[i]!;
      const ck = batch[i]!.clientKey ?? clientKey(label, clientId);
      this.#overlayClients.set(ck, { seq: clientSeq, firstSeen: firstSeen ?? null });
      this.#overlayEntries.set(ck + clientSeq, { streamSeq, leafHash });
      items[i] = {
        label,
        clientId,
        clientSeq,
        streamSeq,
        leafHash,
        clientKey: ck,
        hubTs,
        ...(firstSeen === undefined ? {} : { firstSeen }),
      };
    }
    this.#entries += batch.length;
    this.#unindexed.push({ items, heads, end });
    this.#unindexedCount += batch.length;
    this.#onTiming?.({ entries: batch.length, encodeMs: t1 - t0, durableMs: t2 - t1, indexMs: 0 });
    this.#scheduleIndex();
  }

  /** Positions come from `pos/` (one read), records from the segments (coalesced synchronous reads). */
  readRange(
    label: Uint8Array,
    from: number,
    to: number,
    limit: number,
    maxBytes = Infinity,
  ): Promise<StoredItem[]> {
    try {
      return Promise.resolve(this.#readRange(label, from, to, limit, maxBytes));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** `maxBytes` is judged on the frame lengths in pos/ (a little above receipt + MSG), before any record is read. */
  #readRange(label: Uint8Array, from: number, to: number, limit: number, maxBytes: number): StoredItem[] {
    this.#checkOpen();
    checkInt(from, "from");
    checkInt(to, "to");
    checkInt(limit, "limit");
    const head = this.head(label);
    if (head === undefined) return [];
    const lo = Math.max(1, from);
    const hi = Math.min(to, head.seq);
    if (lo > hi || limit === 0) return [];
    const n = Math.min(hi - lo + 1, limit);
    const locs = this.#pos.read(label, lo, n);
    let bytes = 0;
    for (let i = 0; i < locs.length; i++) {
      bytes += locs[i]!.rLen + locs[i]!.pLen;
      if (i > 0 && bytes > maxBytes) {
        locs.length = i;
        break;
      }
    }
    for (let i = 0; i < locs.length; i++) this.#checkRetained(label, lo + i, locs[i]!.seg, PAYLOADS_TOO);
    const recs = this.#log.read(locs);
    return recs.map((r, i) => {
      const seq = lo + i;
      if (r.record.streamSeq !== seq || !bytesEqual(r.record.label, label)) {
        throw new VeenError(
          "E.UNAVAILABLE",
          `Log record for ${toHex(label)}/${seq} does not match the index`,
        );
      }
      return { streamSeq: seq, receipt: r.record.receipt, msg: r.msg };
    });
  }

  /** E.NOT_FOUND "not retained" when the segment of entry `seq` was dropped in one of `fams`. */
  #checkRetained(
    label: Uint8Array,
    seq: number,
    seg: number,
    fams: readonly ("receipts" | "payloads")[],
  ): void {
    for (const f of fams) {
      if (this.#log.isDropped(f, seg)) {
        const first = this.#firstRetainedSeq(label, f);
        throw new VeenError(
          "E.NOT_FOUND",
          `Entry ${toHex(label)}/${seq} is not retained (its ${f} segment ${seg} was dropped by retention; ` +
            `the first retained stream_seq of the label is ${first})`,
        );
      }
    }
  }

  /** First stream_seq of `label` whose `fam` segment is present (head + 1 when none): binary search over pos/. */
  #firstRetainedSeq(label: Uint8Array, fam: "receipts" | "payloads"): number {
    return firstSeqAtOrAfter(
      this.head(label)?.seq ?? 0,
      this.#log.firstSegment(fam),
      (seq) => this.#pos.read(label, seq, 1)[0]!.seg,
    );
  }

  readReceipt(label: Uint8Array, seq: number): Promise<Uint8Array> {
    try {
      this.#checkOpen();
      checkInt(seq, "seq");
      const h = this.head(label);
      if (h === undefined || seq < 1 || seq > h.seq) {
        throw new VeenError("E.NOT_FOUND", `No stream_seq ${seq} (label has ${h?.seq ?? 0})`);
      }
      const locs = this.#pos.read(label, seq, 1);
      this.#checkRetained(label, seq, locs[0]!.seg, ["receipts"]);
      const r = this.#log.readReceipts(locs)[0]!;
      if (r.streamSeq !== seq || !bytesEqual(r.label, label)) {
        throw new VeenError(
          "E.UNAVAILABLE",
          `Log record for ${toHex(label)}/${seq} does not match the index`,
        );
      }
      return Promise.resolve(r.receipt);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Drops what `policy` says has expired at `nowMs` (see the module doc): per family, the oldest rotated segments
   * while their newest hub_ts is older than the retention (a prefix, so boundaries stay simple), then expired
   * checkpoints. Reads one sidecar per examined segment; never reads entries.
   */
  enforceRetention(policy: RetentionPolicy, nowMs: number, hold?: RetentionHold): Promise<RetentionDropped> {
    return this.#maintenance.run(() => this.#enforceRetention(policy, nowMs, hold));
  }

  async #enforceRetention(
    policy: RetentionPolicy,
    nowMs: number,
    hold?: RetentionHold,
  ): Promise<RetentionDropped> {
    this.#checkWritable();
    this.#policy = { ...policy };
    const nowSec = Math.floor(nowMs / 1000);
    const out: RetentionDropped = { receipts: [], payloads: [], checkpoints: 0 };
    // Expired segments (one sidecar read each, no lock); usually none, and then the index is left alone.
    const expired = await expiredSegments(this.dir, policy, nowSec, this.#log, hold);
    if (expired.length > 0) {
      await this.#logLock.run(async () => {
        // Nothing can be written while the log lock is held; after the flush every record is indexed, so no
        // replay at the next start needs a dropped segment.
        await this.flushIndex();
        for (const [fam, seg] of expired) {
          if (seg !== this.#log.firstSegment(fam)) continue; // dropped by a concurrent pass
          await this.#log.dropSegment(fam, seg); // a failure leaves the segment present; the next pass retries
          out[fam].push(seg);
        }
      });
    }
    const cutoffEpoch = checkpointCutoffEpoch(policy, nowSec);
    if (cutoffEpoch !== undefined) out.checkpoints = await this.#compactCheckpoints(cutoffEpoch, nowMs);
    return out;
  }

  /**
   * Rewrites checkpoints.cborseq without the checkpoints older than `beforeEpoch`, keeping each label's latest.
   * Crash-safe order: the index forgets every checkpoint row first (`["meta","checkpoints"] = 0`), then the file is
   * replaced atomically, then re-indexed; a crash anywhere leaves the old or the new file, re-indexed whole at open.
   * O(checkpoints); skipped (O(1)) while the oldest checkpoint is unexpired, and run at most once an hour.
   */
  async #compactCheckpoints(beforeEpoch: number, nowMs: number): Promise<number> {
    if (this.#ckptMinEpoch === undefined) {
      const first = await this.#ckpt.first();
      this.#ckptMinEpoch = first === undefined ? Infinity : decodeCheckpointRecord(first).epoch;
    }
    if (this.#ckptMinEpoch >= beforeEpoch || nowMs - this.#ckptCompactedAt < 3600_000) return 0;
    return await this.#ckpt.writeLock.run(async () => {
      this.#checkWritable();
      this.#ckptCompactedAt = nowMs;
      const all = (await this.#ckpt.readAll()).map((r) => ({
        ...decodeCheckpointRecord(r.body),
        body: r.body,
      }));
      const keep = checkpointsToKeep(all, beforeEpoch);
      this.#ckptMinEpoch = keep.reduce((m, r) => Math.min(m, r.epoch), Infinity);
      if (keep.length === all.length) return 0;
      try {
        this.#ckptGen++;
        await this.#kv.resetCheckpoints();
        const locs = await this.#ckpt.replaceWith(keep.map((r) => r.body));
        await this.#kv.putCheckpoints(
          keep.map((r, i) => [r.label, r.upto, r.epoch, locs[i]![0], locs[i]![1]]),
          this.#ckpt.size,
        );
        this.#ckptGen++;
      } catch (e) {
        this.#fail(e, "Checkpoint retention failed");
      }
      this.#ckptDropped += all.length - keep.length;
      return all.length - keep.length;
    });
  }

  /** Retention boundaries: O(1) per family, a binary search over pos/ per label (at most `maxLabels`). */
  retentionStatus(maxLabels = 256): RetentionStatus {
    this.#checkOpen();
    const fam = (f: "receipts" | "payloads") => ({
      days: f === "receipts" ? this.#policy.receiptsDays : this.#policy.payloadsDays,
      dropped_segments: this.#log.firstSegment(f),
      first_segment: this.#log.firstSegment(f),
    });
    const labels: RetentionStatus["labels"] = [];
    let truncated = false;
    for (const h of this.#heads.values()) {
      if (labels.length >= maxLabels) {
        truncated = true;
        break;
      }
      labels.push({
        label: toHex(h.label),
        last_seq: h.seq,
        first_receipt_seq: this.#firstRetainedSeq(h.label, "receipts"),
        first_payload_seq: this.#firstRetainedSeq(h.label, "payloads"),
      });
    }
    return {
      receipts: fam("receipts"),
      payloads: fam("payloads"),
      checkpoints: { days: this.#policy.checkpointsDays, dropped: this.#ckptDropped },
      labels,
      labels_truncated: truncated,
    };
  }

  nodeReader(label: Uint8Array): HashReader {
    return {
      readHashes: (positions: number[]) => {
        this.#checkOpen();
        const count = nodeCountForLeaves(this.head(label)?.seq ?? 0);
        return this.#nodes.readHashes(label, positions, count);
      },
    };
  }

  async putCheckpoint(
    label: Uint8Array,
    uptoSeq: number,
    epoch: number,
    checkpoint: Uint8Array,
  ): Promise<void> {
    this.#checkWritable();
    checkInt(uptoSeq, "upto_seq", 1);
    checkInt(epoch, "epoch");
    const body = encodeCheckpointRecord(label, uptoSeq, epoch, checkpoint);
    await this.#ckpt.writeLock.run(async () => {
      this.#checkWritable();
      try {
        const [[off, len]] = (await this.#ckpt.append([body])) as [[number, number]];
        this.#ckptGen++;
        if (this.#ckptMinEpoch !== undefined) this.#ckptMinEpoch = Math.min(this.#ckptMinEpoch, epoch);
        await this.#kv.putCheckpoints([[label, uptoSeq, epoch, off, len]], this.#ckpt.size);
      } catch (e) {
        this.#fail(e, "Checkpoint write failed");
      }
      const k = toHex(label);
      const cur = this.#latestCkpt.get(k);
      if (cur === undefined || uptoSeq >= cur.upto) {
        this.#latestCkpt.set(k, { upto: uptoSeq, bytes: checkpoint });
      }
      this.#ckptGen++;
    });
  }

  async latestCheckpoint(label: Uint8Array): Promise<Uint8Array | undefined> {
    this.#checkOpen();
    const k = toHex(label);
    const c = this.#latestCkpt.get(k);
    if (c !== undefined) return c.bytes;
    const gen = this.#ckptGen;
    const loc = await this.#kv.latestCheckpointLoc(label);
    if (loc === undefined) return undefined;
    const r = decodeCheckpointRecord(this.#ckpt.read(loc[0], loc[1]));
    if (gen === this.#ckptGen) this.#latestCkpt.set(k, { upto: r.upto, bytes: r.cp });
    return r.cp;
  }

  async checkpointsByEpoch(
    label: Uint8Array,
    epochMin: number,
    epochMax: number,
    limit: number,
  ): Promise<Uint8Array[]> {
    this.#checkOpen();
    checkInt(epochMin, "epoch_min");
    checkInt(epochMax, "epoch_max");
    checkInt(limit, "limit");
    const locs = await this.#kv.checkpointLocsByEpoch(label, epochMin, epochMax, limit);
    const out: Uint8Array[] = [];
    for (const [off, len] of locs) out.push(decodeCheckpointRecord(this.#ckpt.read(off, len)).cp);
    return out;
  }

  async putAdmission(rec: AdmissionRecord): Promise<void> {
    this.#checkWritable();
    const body = admissionBody(rec);
    const stored = decodeAdmission(body);
    await this.#adm.writeLock.run(async () => {
      this.#checkWritable();
      try {
        const [[off, len]] = (await this.#adm.append([body])) as [[number, number]];
        this.#admGen++;
        await this.#kv.putAdmissions([admissionRow(stored, off, len)], this.#adm.size);
      } catch (e) {
        this.#fail(e, "Admission write failed");
      }
      this.#admCache.set(toHex(rec.authRef), stored);
      this.#admGen++;
    });
  }

  async getAdmission(authRef: Uint8Array): Promise<AdmissionRecord | undefined> {
    this.#checkOpen();
    const k = toHex(authRef);
    const c = this.#admCache.get(k);
    if (c !== undefined) return c;
    const gen = this.#admGen;
    const loc = await this.#kv.admissionLoc(authRef);
    if (loc === undefined) return undefined;
    const rec = decodeAdmission(this.#adm.read(loc[0], loc[1]));
    if (gen === this.#admGen) this.#admCache.set(k, rec);
    return rec;
  }

  capRootIssuedAt(root: Uint8Array): Promise<number | undefined> {
    this.#checkOpen();
    return this.#kv.capRootIssuedAt(root);
  }

  putAttachment(bytes: Uint8Array, upload?: AttachmentUpload): Promise<Uint8Array> {
    this.#checkWritable();
    return this.#ledger.put(bytes, upload?.owner ?? null, upload?.nowSec ?? Math.floor(Date.now() / 1000));
  }

  /** Attachment collection (attachment_ledger.ts): lapsed uploads, and those claimed in dropped payload segments. */
  collectAttachments(nowMs: number): Promise<AttachmentsCollected> {
    this.#checkWritable();
    return this.#maintenance.run(() =>
      this.#ledger.collect(Math.floor(nowMs / 1000), this.#log.firstSegment("payloads"))
    );
  }

  /**
   * An online backup's consistent cut (hub/backup.ts, docs/durability.md "Backup and restore"): with the index
   * writer, the checkpoint and admission writers paused, the log position of the last durable batch and its heads
   * are taken under the log lock (O(labels); submits wait only for that), then every index.kv row is read (the
   * index writer waits meanwhile, and submits only when the index lag bound is reached). `copy` then runs with
   * retention and attachment collection held off, so every file the cut names stays as it was up to the cut: the
   * log is append-only, and what the index declares (its log position, node and position bytes, checkpoint and
   * admission offsets) is at or before the cut, so a start on the copy replays only the log past the index.
   */
  snapshot<T>(copy: (cut: StoreCut) => Promise<T>): Promise<T> {
    this.#checkWritable();
    return this.#maintenance.run(async () => {
      this.#snapshotsWaiting++;
      const cut = await this.#indexLock.run(() => {
        this.#snapshotsWaiting--;
        return this.#ckpt.writeLock.run(() =>
          this.#adm.writeLock.run(async () => {
            this.#checkWritable();
            const { log, heads } = await this.#logLock.run(() => ({
              log: this.#log.end,
              heads: [...this.#heads.values()],
            }));
            const index = await this.#ledger.hold(() => dumpKv(this.#kv.kv));
            return {
              log,
              heads,
              index,
              checkpointsSize: this.#ckpt.size,
              admissionsSize: this.#adm.size,
              firstSegment: {
                receipts: this.#log.firstSegment("receipts"),
                payloads: this.#log.firstSegment("payloads"),
              },
            };
          })
        );
      }).finally(() => this.#scheduleIndex());
      return await copy(cut);
    });
  }

  attachmentStatus(): AttachmentLedgerStatus {
    return this.#ledger.status();
  }

  getAttachment(coid: Uint8Array): Promise<Uint8Array | undefined> {
    this.#checkOpen();
    return this.#att.get(coid);
  }

  stats(): DiskStoreStats {
    return {
      labels: this.#heads.size,
      entries: this.#entries,
      logBytes: this.#log.totalBytes,
      segments: this.#log.segmentCount,
      logBytesRead: this.#bytesRead,
      replayedAtOpen: this.#replayed,
      kvAtomics: this.#kv.atomics,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#logLock.idle();
    await this.#ledger.idle();
    if (this.#failed === undefined) await this.flushIndex().catch(() => {});
    this.#closed = true;
    await this.#indexLock.idle();
    const errors: unknown[] = [];
    for (
      const c of [
        () => this.#ckpt.close(),
        () => this.#adm.close(),
        () => this.#log.close(),
        () => this.#nodes.close(),
        () => this.#pos.close(),
      ]
    ) {
      try {
        await c();
      } catch (e) {
        errors.push(e);
      }
    }
    this.#kv.close();
    if (errors.length > 0 && this.#failed === undefined) throw errors[0];
  }
}

const PAYLOADS_TOO = ["receipts", "payloads"] as const;

/** Awaits every promise (so none is still running when this settles), then rethrows the first failure. */
async function settleAll(ps: readonly Promise<unknown>[]): Promise<void> {
  const rs = await Promise.allSettled(ps);
  for (const r of rs) if (r.status === "rejected") throw r.reason;
}
