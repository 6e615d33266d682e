/**
 * The one reader of a log segment's aligned record pairs (receipts record i with payloads record i, formats in
 * docs/durability.md "Data directory"): it checks the segment headers, yields each complete pair, and ends with how
 * the segment ends, judged by the recovery rule of hub/log_tail.ts: `ok` (at a record boundary in both families),
 * `torn` (a crash leftover of the newest segment: what a cut would drop) or `bad` ({@link StorageDamage}: refuse).
 * Policies sit on top of it: start-up replay repairs a torn end (quarantine + cut, `SegmentLog.replay` in
 * hub/segment_log.ts), the offline scan below reports it (`veen hub fsck`), and both refuse a bad one.
 */
import { FrameReader } from "./frame.ts";
import { fileSize } from "./files.ts";
import { pairVerdict, scanFileTail } from "./log_tail.ts";
import { decodeReceiptBody, decodeReceiptFrames, type ReceiptRecord } from "./receipt_record.ts";
import {
  type Family,
  listSegments,
  type LogPosition,
  parseHeader,
  type RecordLocation,
  segmentName,
} from "./segment_index.ts";
import { VeenError } from "../core/mod.ts";
import { StorageDamage } from "./storage_damage.ts";
import { tailKindOf } from "./records.ts";

/** A complete record pair. `msg` is a view valid until the next pair, null when the payloads family is dropped. */
export interface RecordPair {
  rec: number;
  record: ReceiptRecord;
  msg: Uint8Array | null;
  /** `pOff`/`pLen` are -1 when the payloads family is dropped. */
  loc: RecordLocation;
}

/** A torn end: the cut point `at` (the first incomplete pair), where the damage is, and what the cut drops. */
export interface TornEnd {
  kind: "torn";
  at: LogPosition;
  /** Whether the segment headers themselves are torn (the whole segment is cut). */
  header: boolean;
  /** The first damaged file (relative to the data dir) and offset. */
  file: string;
  offset: number;
  how: string;
  /** How each family ends past `at`: "short" or "zeros" (torn) or "clean". */
  receipts: string;
  payloads: string;
  /** Complete receipts records past `at` (their payload is torn): never acknowledged. */
  dropped: ReceiptRecord[];
}

/** How a segment's pairs end; `at` of `ok` is the position after the last pair (or after the headers). */
export type SegmentEnd = { kind: "ok"; at: LogPosition } | TornEnd | { kind: "bad"; damage: StorageDamage };

export interface SegmentReadOptions {
  /** Whether no later segment and no sidecar exist: only then can the end be torn rather than damaged. */
  newest: boolean;
  /** Whether the payloads family of the segment is present (false: dropped by retention, pairs without MSG). */
  payloads: boolean;
  /** Start at this durable record boundary of the segment (an indexed position) instead of at its headers. */
  from?: LogPosition | undefined;
  /** The global record number the headers must start at; any when undefined. */
  firstRec?: number | undefined;
  /** Counts log bytes read. */
  onRead?: (n: number) => void;
}

const END = { kind: "end" as const };

/** Reads one segment of the log in the data dir `dir`: iterate {@link pairs}, then read {@link end}. */
export class SegmentReader {
  readonly seg: number;
  readonly #dir: string;
  readonly #opts: SegmentReadOptions;
  #end: SegmentEnd | undefined;

  constructor(dir: string, seg: number, opts: SegmentReadOptions) {
    this.#dir = dir;
    this.seg = seg;
    this.#opts = opts;
  }

  /** The file of family `f` relative to the data dir. */
  file(f: Family): string {
    return `${f}/${segmentName(this.seg)}.cborseq`;
  }

  /** How the segment ended; available once {@link pairs} has finished. */
  get end(): SegmentEnd {
    if (this.#end === undefined) throw new Error("SegmentReader.end before its pairs were read");
    return this.#end;
  }

  /**
   * Every complete pair in order. A start position past the end of either file raises E.UNAVAILABLE (the log is
   * shorter than the index); everything else that stops the pairs is reported in {@link end}.
   */
  async *pairs(): AsyncGenerator<RecordPair> {
    const { from, newest } = this.#opts;
    const seg = this.seg;
    const rPath = `${this.#dir}/${this.file("receipts")}`;
    const pPath = `${this.#dir}/${this.file("payloads")}`;
    const rStart = from?.rOff ?? 0;
    const pStart = from?.pOff ?? 0;
    const rLen = await fileSize(rPath);
    const pLen = this.#opts.payloads ? await fileSize(pPath) : -1;
    if (rStart > 0 && (rLen < rStart || (this.#opts.payloads && pLen < pStart))) {
      throw new VeenError(
        "E.UNAVAILABLE",
        `Log segment ${segmentName(seg)} is shorter than the index (${rLen}/${pLen} < ${rStart}/${pStart})`,
      );
    }
    const onRead = this.#opts.onRead ?? (() => {});
    const r = rLen > rStart ? await FrameReader.open(rPath, rStart, onRead) : null;
    const p = pLen > pStart ? await FrameReader.open(pPath, pStart, onRead) : null;
    const withP = this.#opts.payloads;
    let rec = from?.rec ?? this.#opts.firstRec ?? 0;
    let at: LogPosition = { seg, rOff: rStart, pOff: pStart, rec };
    try {
      if (rStart === 0) {
        // From the beginning: both headers must be good, else the segment holds no records.
        const rh = r ? await r.next() : END;
        const ph = p ? await p.next() : withP ? END : null;
        const rHdr = rh.kind === "ok" ? parseHeader(rh.body) : undefined;
        const pHdr = ph?.kind === "ok" ? parseHeader(ph.body) : undefined;
        if (rh.kind === "end" && (ph === null || ph.kind === "end")) {
          this.#end = newest ? { kind: "ok", at } : {
            kind: "bad",
            damage: new StorageDamage(this.file("receipts"), 0, "rotated segment without headers"),
          };
          return;
        }
        for (const [f, fr, h] of [["receipts", rh, rHdr], ["payloads", ph, pHdr]] as const) {
          if (fr?.kind === "ok" && (!h || h.seg !== seg || h.kind !== f)) {
            this.#end = { kind: "bad", damage: new StorageDamage(this.file(f), 0, "bad segment header") };
            return;
          }
        }
        const expected = this.#opts.firstRec;
        if (rHdr && expected !== undefined && rHdr.firstRec !== expected) {
          const why = `segment starts at record ${rHdr.firstRec}, expected ${expected}`;
          this.#end = { kind: "bad", damage: new StorageDamage(this.file("receipts"), 0, why) };
          return;
        }
        if (rHdr && pHdr && pHdr.firstRec !== rHdr.firstRec) {
          const why = `segment starts at record ${pHdr.firstRec}, receipts at ${rHdr.firstRec}`;
          this.#end = { kind: "bad", damage: new StorageDamage(this.file("payloads"), 0, why) };
          return;
        }
        if (!rHdr || (withP && !pHdr)) {
          this.#end = await this.#verdict(at, true);
          return;
        }
        rec = rHdr.firstRec;
        at = { seg, rOff: r!.offset, pOff: p?.offset ?? 0, rec };
      }
      for (;;) {
        const rf = r ? await r.next() : END;
        const pf = p ? await p.next() : withP ? END : null;
        if (rf.kind === "ok" && (pf === null || pf.kind === "ok")) {
          let record: ReceiptRecord;
          try {
            record = decodeReceiptBody(rf.body);
          } catch (e) {
            const why = `record ${rec} does not decode: ${String(e)}`;
            this.#end = { kind: "bad", damage: new StorageDamage(this.file("receipts"), rf.offset, why) };
            return;
          }
          const loc = {
            seg,
            rOff: rf.offset,
            rLen: rf.length,
            pOff: pf?.offset ?? -1,
            pLen: pf?.length ?? -1,
          };
          yield { rec, record, msg: pf?.body ?? null, loc };
          rec++;
          at = { seg, rOff: rf.offset + rf.length, pOff: pf === null ? 0 : pf.offset + pf.length, rec };
          continue;
        }
        if (rf.kind === "end" && (pf === null || pf.kind === "end")) {
          this.#end = { kind: "ok", at };
          return;
        }
        this.#end = await this.#verdict(at, false);
        return;
      }
    } finally {
      r?.close();
      p?.close();
    }
  }

  /** Judges the end from the first incomplete pair at `at` by the rule of hub/log_tail.ts. */
  async #verdict(at: LogPosition, header: boolean): Promise<SegmentEnd> {
    const rFile = this.file("receipts");
    const pFile = this.file("payloads");
    const rs = { file: rFile, scan: await scanFileTail(`${this.#dir}/${rFile}`, at.rOff, tailKindOf(rFile)) };
    const ps = this.#opts.payloads
      ? { file: pFile, scan: await scanFileTail(`${this.#dir}/${pFile}`, at.pOff) }
      : null;
    let dropped: ReceiptRecord[];
    try {
      // From offset 0 the first complete receipts frame is the segment header, not a record.
      dropped = decodeReceiptFrames(
        rFile,
        pairVerdict(rs, ps, this.#opts.newest).dropped.filter((f) => f.offset > 0),
      );
    } catch (e) {
      if (e instanceof StorageDamage) return { kind: "bad", damage: e };
      throw e;
    }
    const first = [rs, ps].find((x) => x !== null && x.scan.end.kind !== "clean") ?? rs;
    const end = first.scan.end;
    const how = (
      x: typeof rs | null,
    ) => (x === null ? "dropped" : x.scan.end.kind === "torn" ? x.scan.end.how : "clean");
    return {
      kind: "torn",
      at,
      header,
      file: first.file,
      offset: end.kind === "clean" ? (first.scan.frames[0]?.offset ?? at.rOff) : end.offset,
      how: end.kind === "torn" ? end.how : "record without its payload",
      receipts: how(rs),
      payloads: how(ps),
      dropped,
    };
  }
}

// ---------------------------------------------------------------- offline scan (report policy)

/** A record as seen by {@link scanLog}; `msg` is null when the payloads segment is gone (retention). */
export interface ScannedRecord extends ReceiptRecord {
  rec: number;
  segment: number;
  receiptOffset: number;
  payloadOffset: number;
  msg: Uint8Array | null;
}

/** A torn end of the newest segment, as {@link scanLog} reports it: what the next start cuts. */
export interface TornTail {
  /** The damaged file, relative to the data dir, and the offset of its first torn byte. */
  file: string;
  offset: number;
  how: string;
  /** Complete receipts records the cut drops (their payload is torn). */
  dropped: ReceiptRecord[];
}

/**
 * Every receipts record (with its MSG) of the log in `dir`, in log order, for offline tools such as `veen hub fsck`.
 * Each segment is read by {@link SegmentReader}: damage the start-up recovery would refuse raises
 * {@link StorageDamage}; a torn end of the newest segment, which the next start cuts, ends the scan and is reported
 * through `onTornTail`.
 */
export async function* scanLog(
  dir: string,
  opts: { onTornTail?: (t: TornTail) => void } = {},
): AsyncGenerator<ScannedRecord> {
  const segs = await listSegments(`${dir}/receipts`);
  const pSegs = new Set(await listSegments(`${dir}/payloads`));
  let firstRec: number | undefined;
  for (const [si, seg] of segs.entries()) {
    const newest = si === segs.length - 1 && (await fileSize(`${dir}/receipts/${segmentName(seg)}.idx`)) < 0;
    const reader = new SegmentReader(dir, seg, { newest, payloads: pSegs.has(seg), firstRec });
    for await (const { rec, record, msg, loc } of reader.pairs()) {
      yield {
        ...record,
        msg: msg?.slice() ?? null,
        rec,
        segment: seg,
        receiptOffset: loc.rOff,
        payloadOffset: loc.pOff,
      };
    }
    const end = reader.end;
    if (end.kind === "bad") throw end.damage;
    if (end.kind === "torn") {
      opts.onTornTail?.({ file: end.file, offset: end.offset, how: end.how, dropped: end.dropped });
      return;
    }
    // A newest segment without headers ends at record `firstRec` as well.
    firstRec = end.at.rec;
  }
}
