/**
 * The segmented log, the hub's source of truth: two aligned families `receipts/NNNNNNNN.cborseq` and
 * `payloads/NNNNNNNN.cborseq` of framed records, rotated together, with a `.idx` sidecar per rotated segment. Formats,
 * the commit protocol and the recovery rule: docs/durability.md ("Data directory", "Commit protocol", "Recovery").
 * This module appends (one write per family per batch, fdatasync'ed concurrently), reads records back, replays the
 * unindexed tail at start-up with the repair policy on top of the pair reader (hub/segment_reader.ts), writes
 * sidecars at rotation and drops segments for retention (hub/retention.ts).
 */
import { toHex, VeenError } from "../core/mod.ts";
import {
  fileSize,
  mkdir700,
  OS_SYNC,
  syncDir,
  type Syncer,
  SyncReaders,
  writeAllSync,
  writeFileAtomic,
} from "./files.ts";
import { encodeFrame, frameBody, frameLength, FrameReader, sealFrame, writeFramePrefix } from "./frame.ts";
import { quarantineTail } from "./log_tail.ts";
import {
  decodeReceiptBody,
  receiptBodyLength,
  type ReceiptRecord,
  writeReceiptBody,
} from "./receipt_record.ts";
import {
  type Family,
  headerBody,
  listSegments,
  type LogPosition,
  parseHeader,
  type RecordLocation,
  segmentName,
  SegmentSummary,
} from "./segment_index.ts";
import { SegmentReader } from "./segment_reader.ts";
import { StorageDamage } from "./storage_damage.ts";

/** One entry to append: its receipts record plus the MSG bytes. */
export interface AppendEntry extends ReceiptRecord {
  msg: Uint8Array;
}

/** A record read back during replay or a scan. */
export interface LogRecord extends ReceiptRecord {
  msg: Uint8Array;
  rec: number;
  loc: RecordLocation;
}

export interface SegmentLogOptions {
  /** Rotate when either active file reaches this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Called with the number of log bytes read (replay, scans, reads). */
  onRead?: (bytes: number) => void;
  /** Called with a description of each repair made during recovery. */
  onRepair?: (what: string) => void;
  /** Most open read handles (default 64). */
  maxReadHandles?: number;
  /** The durability barrier (default {@link OS_SYNC}). */
  sync?: Syncer;
}

/** The result of {@link SegmentLog.append}: locations, the end position, and the write+fdatasync work to await. */
export interface PreparedAppend {
  locs: RecordLocation[];
  end: LogPosition;
  durable: Promise<void>[];
}

/**
 * The aligned receipts/payloads segment pair. Open with {@link SegmentLog.open}, then call {@link SegmentLog.replay}
 * once (it repairs the tail and positions the writer), then append.
 */
export class SegmentLog {
  readonly #dataDir: string;
  readonly rDir: string;
  readonly pDir: string;
  /** Where cut torn tails are kept (never read by the hub; for an operator who wants to look). */
  readonly #quarantineDir: string;
  readonly #segmentBytes: number;
  readonly #onRead: (n: number) => void;
  readonly #onRepair: (what: string) => void;
  readonly #readers: SyncReaders;
  readonly #sync: Syncer;
  #segments: number[] = [];
  /** Per family, the first segment present; lower numbers were dropped by retention. */
  #first: Record<Family, number> = { receipts: 0, payloads: 0 };
  #ready = false;
  // writer state
  #seg = 0;
  #rec = 0;
  #rSize = 0;
  #pSize = 0;
  #rFile: Deno.FsFile | undefined;
  #pFile: Deno.FsFile | undefined;
  #headerPending = true;
  #dirSyncPending = false;
  #summary: SegmentSummary | null = null;
  #background = new Set<Promise<void>>();
  /** The write+fdatasync work of the latest append (awaited before rotation). */
  #lastDurable: Promise<void>[] = [];
  #totalBytes = 0;

  private constructor(dir: string, opts: SegmentLogOptions) {
    this.#dataDir = dir;
    this.rDir = `${dir}/receipts`;
    this.pDir = `${dir}/payloads`;
    this.#quarantineDir = `${dir}/quarantine`;
    this.#segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    if (!(this.#segmentBytes >= 1)) throw new VeenError("E.SIZE", "segmentBytes must be positive");
    this.#onRead = opts.onRead ?? (() => {});
    this.#onRepair = opts.onRepair ?? (() => {});
    this.#readers = new SyncReaders(opts.maxReadHandles ?? 64);
    this.#sync = opts.sync ?? OS_SYNC;
  }

  /** Creates the directories and lists segments; reads no log bytes. */
  static async open(dir: string, opts: SegmentLogOptions = {}): Promise<SegmentLog> {
    const log = new SegmentLog(dir, opts);
    await mkdir700(log.rDir);
    await mkdir700(log.pDir);
    const r = await listSegments(log.rDir);
    const p = await listSegments(log.pDir);
    log.#segments = [...new Set([...r, ...p])].sort((a, b) => a - b);
    log.#first = { receipts: r[0] ?? Infinity, payloads: p[0] ?? Infinity };
    return log;
  }

  #path(f: Family, seg: number): string {
    return `${f === "receipts" ? this.rDir : this.pDir}/${segmentName(seg)}.cborseq`;
  }

  /** The position where the log starts (lowest segment, its first record), for a replay from scratch. */
  async start(): Promise<LogPosition> {
    const seg = this.#segments[0] ?? 0;
    const hdr = await this.#readHeader("receipts", seg);
    const gap = (f: Family) => this.#first[f] !== Infinity && this.#first[f] > seg;
    if (seg > 0 || (hdr !== undefined && hdr.firstRec !== 0) || gap("receipts") || gap("payloads")) {
      // A full replay needs every record from the first: with segments dropped by retention the node files,
      // position files and index cannot be rebuilt from the log (and replay would treat the gap as damage).
      throw new VeenError(
        "E.UNAVAILABLE",
        `The log starts at segment ${
          segmentName(seg)
        } (older segments were dropped by retention), so the index ` +
          `cannot be rebuilt from it; restore index.kv, mmr/ and pos/ from a backup`,
      );
    }
    return { seg, rOff: 0, pOff: 0, rec: hdr?.firstRec ?? 0 };
  }

  async #readHeader(f: Family, seg: number) {
    let reader: FrameReader;
    try {
      reader = await FrameReader.open(this.#path(f, seg), 0, this.#onRead, 4096);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    try {
      const fr = await reader.next();
      return fr.kind === "ok" ? parseHeader(fr.body) : undefined;
    } finally {
      reader.close();
    }
  }

  /**
   * Replays every record at or after `from` (an indexed position, or {@link start}) in chunks of at most
   * `chunkSize`, and leaves the writer positioned after the last good record. `from` must be a record boundary that
   * was durable; a log shorter than `from` raises E.UNAVAILABLE. Damage is classified by hub/log_tail.ts: a torn end
   * of the newest segment is moved to `quarantine/` and cut (both families, at the first incomplete record pair),
   * after `beforeCut` has seen the complete receipts records it drops (it may throw to refuse); any other damage
   * raises {@link StorageDamage} before anything is changed. Nothing else is ever removed. With `dryRun` it only
   * reads and judges (no cut, no writer): the store runs it first so that a refusal comes before any repair.
   */
  async *replay(
    from: LogPosition,
    opts: {
      chunkSize?: number;
      beforeCut?: (dropped: ReceiptRecord[]) => void | Promise<void>;
      dryRun?: boolean;
    } = {},
  ): AsyncGenerator<LogRecord[]> {
    if (this.#ready) throw new Error("SegmentLog.replay runs once");
    const chunkSize = opts.chunkSize ?? 4096;
    const repair = opts.dryRun ? () => {} : this.#onRepair;
    let rec = from.rec;
    /** End of the last good data: where the writer continues. */
    let pos: LogPosition = from;
    /** Summary of `pos.seg` when replay saw it from its header (complete), else null. */
    let summary: SegmentSummary | null = null;
    const newestSeg = this.#segments[this.#segments.length - 1] ?? from.seg;
    for (const seg of this.#segments.filter((s) => s >= from.seg)) {
      const newest = seg === newestSeg && (await fileSize(`${this.rDir}/${segmentName(seg)}.idx`)) < 0;
      const start = seg === from.seg && from.rOff > 0 ? from : undefined;
      const reader = new SegmentReader(this.#dataDir, seg, {
        newest,
        payloads: true,
        from: start,
        firstRec: rec,
        onRead: this.#onRead,
      });
      summary = start === undefined ? new SegmentSummary(seg, rec) : null;
      let chunk: LogRecord[] = [];
      for await (const { rec: n, record, msg, loc } of reader.pairs()) {
        summary?.add(toHex(record.label), record, loc.rOff, loc.pOff);
        chunk.push({ ...record, msg: msg!.slice(), rec: n, loc });
        if (chunk.length >= chunkSize) {
          yield chunk;
          chunk = [];
        }
      }
      const end = reader.end;
      if (end.kind === "bad") throw end.damage;
      pos = end.at;
      rec = pos.rec;
      // The repair policy: a torn end is cut once `beforeCut` accepted the records the cut drops.
      if (end.kind === "torn") {
        await opts.beforeCut?.(end.dropped);
        const how =
          `receipts ${end.receipts}, payloads ${end.payloads}, ${end.dropped.length} complete receipts ` +
          `record(s) dropped`;
        repair(
          end.header
            ? `segment ${segmentName(seg)} has a torn header (${how}); moved to quarantine/`
            : `torn log tail at segment ${
              segmentName(seg)
            } record ${rec} (${how}); moved to quarantine/ and cut ` +
              `at receipts ${pos.rOff}, payloads ${pos.pOff}`,
        );
      }
      if (chunk.length > 0) yield chunk;
      if (end.kind === "torn") {
        if (!opts.dryRun) await this.#cut(seg, pos.rOff, pos.pOff);
        break; // only the newest segment is ever cut: nothing follows it
      }
    }
    if (opts.dryRun) return;
    // Position the writer after the last good record.
    const seg = pos.seg;
    this.#seg = seg;
    this.#rec = pos.rec;
    this.#rSize = pos.rOff;
    this.#pSize = pos.pOff;
    this.#headerPending = pos.rOff === 0;
    this.#summary = this.#headerPending ? new SegmentSummary(seg, pos.rec) : summary;
    if (this.#summary) {
      this.#summary.rBytes = this.#rSize;
      this.#summary.pBytes = this.#pSize;
    }
    if (!this.#segments.includes(seg)) this.#segments.push(seg);
    for (const f of ["receipts", "payloads"] as const) this.#first[f] = Math.min(this.#first[f], seg);
    this.#rFile = await Deno.open(this.#path("receipts", seg), { append: true, create: true, mode: 0o600 });
    this.#pFile = await Deno.open(this.#path("payloads", seg), { append: true, create: true, mode: 0o600 });
    this.#dirSyncPending = true;
    this.#ready = true;
    let total = 0;
    for (const s of this.#segments) {
      total += Math.max(0, await fileSize(this.#path("receipts", s))) +
        Math.max(0, await fileSize(this.#path("payloads", s)));
      // Rotated segments without a sidecar (a crash before it was written) get one in the background.
      if (s < seg && (await fileSize(`${this.rDir}/${segmentName(s)}.idx`)) < 0) {
        this.#buildIndexLater(s, null);
      }
    }
    this.#totalBytes = total;
  }

  /** Moves the bytes of `seg` past the cut into `quarantine/`, then truncates both families there (fdatasync'ed). */
  async #cut(seg: number, rCut: number, pCut: number): Promise<void> {
    for (const [f, cut] of [["receipts", rCut], ["payloads", pCut]] as const) {
      const path = this.#path(f, seg);
      this.#readers.drop(path);
      await quarantineTail(path, cut, this.#quarantineDir, `${f}-${segmentName(seg)}`);
    }
  }

  /** The position after the last appended record. */
  get end(): LogPosition {
    return { seg: this.#seg, rOff: this.#rSize, pOff: this.#pSize, rec: this.#rec };
  }

  /** Number of segment numbers present. */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /** The active (newest) segment, which is never dropped. */
  get activeSegment(): number {
    return this.#seg;
  }

  /** The first segment of `fam` still present; every lower number was dropped by retention (O(1)). */
  firstSegment(fam: Family): number {
    return this.#first[fam];
  }

  /** Whether segment `seg` of `fam` was dropped by retention. */
  isDropped(fam: Family, seg: number): boolean {
    return seg < this.#first[fam];
  }

  /** Directory of a family. */
  familyDir(fam: Family): string {
    return fam === "receipts" ? this.rDir : this.pDir;
  }

  /** The `.cborseq` path of a segment. */
  segmentPath(fam: Family, seg: number): string {
    return this.#path(fam, seg);
  }

  /**
   * Retention: removes the oldest present segment `seg` of `fam` (it must be rotated, i.e. below the active one, and
   * have its `.idx` sidecar, which stays as the tombstone). The caller makes sure its records are indexed.
   */
  async dropSegment(fam: Family, seg: number): Promise<void> {
    if (!this.#ready) throw new Error("SegmentLog.replay must run before dropSegment");
    if (seg !== this.#first[fam] || seg >= this.#seg) {
      throw new VeenError(
        "E.UNAVAILABLE",
        `Only the oldest rotated segment can be dropped (${fam} ${segmentName(this.#first[fam])}, active ${
          segmentName(this.#seg)
        }), not ${segmentName(seg)}`,
      );
    }
    const dir = this.familyDir(fam);
    if ((await fileSize(`${dir}/${segmentName(seg)}.idx`)) < 0) {
      throw new VeenError("E.UNAVAILABLE", `Segment ${fam}/${segmentName(seg)} has no sidecar yet`);
    }
    const path = this.#path(fam, seg);
    const size = Math.max(0, await fileSize(path));
    this.#readers.drop(path);
    try {
      await Deno.remove(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await syncDir(dir);
    this.#first[fam] = seg + 1;
    this.#totalBytes -= size;
    if (this.#first.receipts > seg && this.#first.payloads > seg) {
      this.#segments = this.#segments.filter((s) => s !== seg);
    }
  }

  /** Bytes in all segment files. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /**
   * Starts the next segment. It first waits until the last append to the current one is durable, so that only the
   * newest segment can ever hold unsynced (tearable) bytes: the rule recovery relies on (hub/log_tail.ts).
   */
  async #rotate(): Promise<void> {
    await Promise.all(this.#lastDurable);
    const old = this.#seg;
    const summary = this.#summary;
    this.#rFile?.close();
    this.#pFile?.close();
    this.#seg = old + 1;
    this.#rSize = 0;
    this.#pSize = 0;
    this.#headerPending = true;
    this.#summary = new SegmentSummary(this.#seg, this.#rec);
    this.#segments.push(this.#seg);
    this.#rFile = await Deno.open(this.#path("receipts", this.#seg), {
      append: true,
      create: true,
      mode: 0o600,
    });
    this.#pFile = await Deno.open(this.#path("payloads", this.#seg), {
      append: true,
      create: true,
      mode: 0o600,
    });
    this.#dirSyncPending = true;
    this.#buildIndexLater(old, summary);
  }

  #buildIndexLater(seg: number, summary: SegmentSummary | null): void {
    const p = (async () => {
      const s = summary ?? (await this.#scanSummary(seg));
      const bytes = s.encode();
      await writeFileAtomic(this.rDir, `${segmentName(seg)}.idx`, bytes);
      await writeFileAtomic(this.pDir, `${segmentName(seg)}.idx`, bytes);
    })().catch((e) => this.#onRepair(`could not write index of segment ${segmentName(seg)}: ${String(e)}`));
    this.#background.add(p);
    p.finally(() => this.#background.delete(p));
  }

  /** The summary of a rotated segment, from its record pairs; damage or a torn end writes none. */
  async #scanSummary(seg: number): Promise<SegmentSummary> {
    const reader = new SegmentReader(this.#dataDir, seg, {
      newest: false,
      payloads: true,
      onRead: this.#onRead,
    });
    let s: SegmentSummary | undefined;
    for await (const { rec, record, loc } of reader.pairs()) {
      s ??= new SegmentSummary(seg, rec);
      s.add(toHex(record.label), record, loc.rOff, loc.pOff);
    }
    const end = reader.end;
    if (end.kind === "bad") throw end.damage;
    if (end.kind === "torn") throw new StorageDamage(end.file, end.offset, end.how);
    s ??= new SegmentSummary(seg, end.at.rec);
    s.rBytes = end.at.rOff;
    s.pBytes = end.at.pOff;
    return s;
  }

  /**
   * Encodes `entries` into one buffer per family (rotating first when the active segment is full), advances the
   * writer, and returns the locations plus the write + fdatasync promises (one per file, run concurrently). The
   * caller must await `durable` before indexing; a failure leaves the log in an unknown state (reopen to repair).
   */
  async append(entries: readonly AppendEntry[]): Promise<PreparedAppend> {
    if (!this.#ready) throw new Error("SegmentLog.replay must run before append");
    if ((this.#rSize >= this.#segmentBytes || this.#pSize >= this.#segmentBytes) && !this.#headerPending) {
      await this.#rotate();
    }
    let rTotal = 0;
    let pTotal = 0;
    let rHdr: Uint8Array | undefined;
    let pHdr: Uint8Array | undefined;
    if (this.#headerPending) {
      rHdr = encodeFrame(headerBody("receipts", this.#seg, this.#rec));
      pHdr = encodeFrame(headerBody("payloads", this.#seg, this.#rec));
      rTotal += rHdr.length;
      pTotal += pHdr.length;
    }
    const rLens = new Array<number>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const bl = receiptBodyLength(e);
      rLens[i] = bl;
      rTotal += frameLength(bl);
      pTotal += frameLength(e.msg.length);
    }
    const rBuf = new Uint8Array(rTotal);
    const pBuf = new Uint8Array(pTotal);
    let ro = 0;
    let po = 0;
    if (rHdr && pHdr) {
      rBuf.set(rHdr, 0);
      pBuf.set(pHdr, 0);
      ro = rHdr.length;
      po = pHdr.length;
    }
    const locs = new Array<RecordLocation>(entries.length);
    const seg = this.#seg;
    const summary = this.#summary;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const rStart = ro;
      const bo = writeFramePrefix(rBuf, ro, rLens[i]!);
      writeReceiptBody(rBuf, bo, e);
      ro = sealFrame(rBuf, bo, rLens[i]!);
      const pStart = po;
      const mo = writeFramePrefix(pBuf, po, e.msg.length);
      pBuf.set(e.msg, mo);
      po = sealFrame(pBuf, mo, e.msg.length);
      const loc = {
        seg,
        rOff: this.#rSize + rStart,
        rLen: ro - rStart,
        pOff: this.#pSize + pStart,
        pLen: po - pStart,
      };
      locs[i] = loc;
      summary?.add(toHex(e.label), e, loc.rOff, loc.pOff);
    }
    this.#rSize += rTotal;
    this.#pSize += pTotal;
    this.#totalBytes += rTotal + pTotal;
    if (summary) {
      summary.rBytes = this.#rSize;
      summary.pBytes = this.#pSize;
    }
    this.#rec += entries.length;
    this.#headerPending = false;
    const rFile = this.#rFile!;
    const pFile = this.#pFile!;
    writeAllSync(rFile, rBuf);
    writeAllSync(pFile, pBuf);
    const sync = this.#sync;
    const durable = [
      sync.file(rFile, this.#path("receipts", seg)),
      sync.file(pFile, this.#path("payloads", seg)),
    ];
    if (this.#dirSyncPending) {
      this.#dirSyncPending = false;
      durable.push(sync.dir(this.rDir), sync.dir(this.pDir));
    }
    this.#lastDurable = durable;
    return { locs, end: this.end, durable };
  }

  /**
   * Reads the records at `locs` (in that order): exact RECEIPT and MSG bytes, checksums verified. Reads are
   * synchronous (page-cache hits cost microseconds; a cold read blocks the event loop for one disk access). The
   * caller checks first that no location is in a dropped segment ({@link isDropped}); a file found missing is
   * E.NOT_FOUND "not retained".
   */
  read(locs: readonly RecordLocation[]): { record: ReceiptRecord; msg: Uint8Array }[] {
    const rBodies = this.#readFamily("receipts", locs.map((l) => [l.seg, l.rOff, l.rLen]));
    const pBodies = this.#readFamily("payloads", locs.map((l) => [l.seg, l.pOff, l.pLen]));
    return locs.map((_, i) => ({ record: decodeReceiptBody(rBodies[i]!), msg: pBodies[i]!.slice() }));
  }

  /** The receipts records at `locs` only (no payload read), checksums verified; see {@link read}. */
  readReceipts(locs: readonly RecordLocation[]): ReceiptRecord[] {
    return this.#readFamily("receipts", locs.map((l) => [l.seg, l.rOff, l.rLen])).map(decodeReceiptBody);
  }

  /** Reads frames `[seg, off, len]`, coalescing nearby frames of one segment into one seek + read. */
  #readFamily(fam: Family, wants: [number, number, number][]): Uint8Array[] {
    const out = new Array<Uint8Array>(wants.length);
    const order = wants.map((_, i) => i).sort((a, b) => {
      const x = wants[a]!;
      const y = wants[b]!;
      return x[0] - y[0] || x[1] - y[1];
    });
    const GAP = 16 * 1024;
    const SPAN = 1024 * 1024;
    let i = 0;
    while (i < order.length) {
      const first = wants[order[i]!]!;
      const seg = first[0];
      const start = first[1];
      let end = start + first[2];
      let j = i + 1;
      while (j < order.length) {
        const w = wants[order[j]!]!;
        if (w[0] !== seg || w[1] > end + GAP || w[1] + w[2] - start > SPAN) break;
        end = Math.max(end, w[1] + w[2]);
        j++;
      }
      const path = this.#path(fam, seg);
      let buf: Uint8Array;
      try {
        buf = this.#readers.read(path, start, end - start);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new VeenError("E.NOT_FOUND", `Log segment ${fam}/${segmentName(seg)} is not retained`);
        }
        throw e;
      }
      this.#onRead(buf.length);
      for (let k = i; k < j; k++) {
        const [, off, len] = wants[order[k]!]!;
        const file = `${fam}/${segmentName(seg)}.cborseq`;
        out[order[k]!] = frameBody(
          buf.subarray(off - start, Math.min(buf.length, off - start + len)),
          file,
          off,
        );
      }
      i = j;
    }
    return out;
  }

  /** Waits for background sidecar writes, then closes every file. */
  async close(): Promise<void> {
    await Promise.all([...this.#background]);
    this.#rFile?.close();
    this.#pFile?.close();
    this.#rFile = undefined;
    this.#pFile = undefined;
    this.#readers.closeAll();
  }
}
