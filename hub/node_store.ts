/**
 * Fixed-width per-label files, derivable from the log, that make proofs and range reads O(1) per item: `mmr/` node
 * files and `pos/` position files (formats in docs/durability.md "Data directory"; node numbering core/mmr.ts, so
 * after n leaves a node file holds `nodeCountForLeaves(n) = 2n - popcount(n)` nodes).
 *
 * Writes go to an explicit record index (the committed count), never "the end", so bytes a crash left past the
 * indexed size are overwritten; {@link LabelFiles.reconcile} truncates them at start-up anyway. Records written
 * by a commit are buffered in memory per label and reach the file in `syncDirty()`, which the index writer calls
 * before each KV commit: one write and one fdatasync per label per index flush instead of a seek and a write per
 * label per batch. Reads see buffered records. Writes use a handle under a per-file lock; reads use a separate
 * handle with synchronous seek + read (2 µs from the page cache against 70 µs for the async pair).
 */
import { toHex, VeenError } from "../core/mod.ts";
import type { RecordLocation } from "./segment_index.ts";
import { fileSize, HandleCache, mkdir700, syncDir, SyncReaders, writeAllSync } from "./files.ts";

/** One directory of `<label hex><ext>` files of `width`-byte records. */
export class LabelFiles {
  readonly dir: string;
  readonly ext: string;
  readonly width: number;
  readonly #writers: HandleCache;
  readonly #readers: SyncReaders;
  /** Labels (hex) whose file is known to exist with a synced directory entry. */
  readonly #known = new Set<string>();
  /** Labels (hex) written since their last fdatasync, and whether the directory needs one. */
  #dirty = new Set<string>();
  /** Records not yet in the file: `count` records from record index `from`, in `buf`. */
  readonly #pending = new Map<string, { from: number; count: number; buf: Uint8Array }>();
  #dirDirty = false;
  readonly #re: RegExp;

  private constructor(dir: string, ext: string, width: number, maxHandles: number) {
    this.dir = dir;
    this.ext = ext;
    this.width = width;
    this.#re = new RegExp(`^([0-9a-f]+)${ext.replace(".", "\\.")}$`);
    this.#writers = new HandleCache(
      maxHandles,
      (hex) => Deno.open(this.#path(hex), { write: true, create: true, mode: 0o600 }),
    );
    this.#readers = new SyncReaders(maxHandles);
  }

  /** Opens (creating, mode 0700) `dir` for `<label hex><ext>` files of `width`-byte records. */
  static async open(
    dir: string,
    ext: string,
    width: number,
    opts: { maxHandles?: number } = {},
  ): Promise<LabelFiles> {
    await mkdir700(dir);
    return new LabelFiles(dir, ext, width, opts.maxHandles ?? 256);
  }

  #path(hex: string): string {
    return `${this.dir}/${hex}${this.ext}`;
  }

  /**
   * Makes every file match the index: `expected(labelHex)` is the committed record count. Longer files (a crash
   * after the write, before the index commit) are truncated; files of labels with nothing committed are removed.
   * Returns the labels whose files are shorter than the index or missing (of those in `mustExist`): lost data.
   * O(files): a stat each, no reads.
   */
  async reconcile(
    expected: (labelHex: string) => number,
    onRepair: (what: string) => void = () => {},
    mustExist: Iterable<string> = [],
  ): Promise<{ short: string[] }> {
    const short: string[] = [];
    const seen = new Set<string>();
    for await (const e of Deno.readDir(this.dir)) {
      const m = e.isFile ? this.#re.exec(e.name) : null;
      if (!m) continue;
      const hex = m[1]!;
      seen.add(hex);
      const want = expected(hex) * this.width;
      const size = await fileSize(this.#path(hex));
      if (size > want) {
        await this.#writers.drop(hex);
        this.#readers.drop(this.#path(hex));
        if (want === 0) await Deno.remove(this.#path(hex));
        else await Deno.truncate(this.#path(hex), want);
        onRepair(
          `${this.ext} file of ${hex.slice(0, 16)}… had ${size / this.width} records, the index ${
            want / this.width
          }`,
        );
      } else if (size < want) {
        short.push(hex);
      }
      if (want > 0) this.#known.add(hex);
    }
    for (const hex of mustExist) if (!seen.has(hex) && expected(hex) > 0) short.push(hex);
    return { short };
  }

  /**
   * Writes `data` (whole records) at record index `from` without syncing: the records are buffered (readable at
   * once) and `syncDirty()` writes and fdatasyncs them. The files are derived from the log, so the hub syncs them
   * before the index says they are complete, not per batch.
   */
  async write(label: Uint8Array, from: number, data: Uint8Array): Promise<void> {
    if (data.length % this.width !== 0) {
      throw new VeenError("E.SIZE", `${this.ext} data is not whole records`);
    }
    const hex = toHex(label);
    let p = this.#pending.get(hex);
    if (p !== undefined && p.from + p.count !== from) {
      await this.#writeOut(hex);
      p = this.#pending.get(hex);
    }
    if (p === undefined) {
      p = { from, count: 0, buf: new Uint8Array(Math.max(256, 2 * data.length)) };
      this.#pending.set(hex, p);
    }
    const used = p.count * this.width;
    if (used + data.length > p.buf.length) {
      const bigger = new Uint8Array(Math.max(p.buf.length * 2, used + data.length));
      bigger.set(p.buf.subarray(0, used));
      p.buf = bigger;
    }
    p.buf.set(data, used);
    p.count += data.length / this.width;
    this.#dirty.add(hex);
    if (!this.#known.has(hex)) {
      this.#known.add(hex);
      this.#dirDirty = true;
    }
  }

  /** Writes the label's buffered records into its file (page cache); they stay readable throughout. */
  #writeOut(hex: string, then?: (f: Deno.FsFile) => Promise<void>): Promise<void> {
    return this.#writers.use(hex, (f) => {
      const p = this.#pending.get(hex);
      if (p !== undefined) {
        f.seekSync(p.from * this.width, Deno.SeekMode.Start);
        writeAllSync(f, p.buf.subarray(0, p.count * this.width));
        this.#pending.delete(hex);
      }
      return then === undefined ? Promise.resolve() : then(f);
    });
  }

  /** Writes and fdatasyncs every file written since the last call (concurrently), and the directory if needed. */
  async syncDirty(): Promise<void> {
    const dirty = this.#dirty;
    const dir = this.#dirDirty;
    this.#dirty = new Set();
    this.#dirDirty = false;
    try {
      await Promise.all([...dirty].map((hex) => this.#writeOut(hex, (f) => f.syncData())));
      if (dir) await syncDir(this.dir);
    } catch (e) {
      for (const h of dirty) this.#dirty.add(h);
      this.#dirDirty ||= dir;
      throw e;
    }
  }

  /** Reads records `[from, from + n)` of `label` (synchronously); E.UNAVAILABLE if the file is short. */
  readRun(label: Uint8Array, from: number, n: number): Uint8Array {
    const hex = toHex(label);
    const p = this.#pending.get(hex);
    if (p === undefined || from + n <= p.from) return this.#readFile(hex, from, n);
    if (from + n > p.from + p.count) this.#short(hex);
    const w = this.width;
    if (from >= p.from) return p.buf.slice((from - p.from) * w, (from + n - p.from) * w);
    const out = new Uint8Array(n * w);
    out.set(this.#readFile(hex, from, p.from - from));
    out.set(p.buf.subarray(0, (from + n - p.from) * w), (p.from - from) * w);
    return out;
  }

  #readFile(hex: string, from: number, n: number): Uint8Array {
    const want = n * this.width;
    let buf: Uint8Array;
    try {
      buf = this.#readers.read(this.#path(hex), from * this.width, want);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) buf = new Uint8Array(0);
      else throw e;
    }
    if (buf.length !== want) this.#short(hex);
    return buf;
  }

  #short(hex: string): never {
    throw new VeenError(
      "E.UNAVAILABLE",
      `${this.ext} file of label ${hex.slice(0, 16)}… is shorter than its index`,
    );
  }

  /** Closes the files; records still buffered are dropped (the log re-derives them at the next start). */
  async close(): Promise<void> {
    this.#pending.clear();
    this.#readers.closeAll();
    await this.#writers.closeAll();
  }
}

/** What the node and position stores share: their {@link LabelFiles}, written from a record index. */
abstract class LabelStore<T> {
  protected constructor(readonly files: LabelFiles) {}

  /** See {@link LabelFiles.reconcile}; `expected` counts records. */
  reconcile(
    expected: (labelHex: string) => number,
    onRepair?: (what: string) => void,
    mustExist?: Iterable<string>,
  ): Promise<{ short: string[] }> {
    return this.files.reconcile(expected, onRepair, mustExist);
  }

  abstract write(label: Uint8Array, from: number, items: readonly T[]): Promise<void>;

  /** `write` then `syncDirty` (start-up replay, tests). */
  async writeAndSync(label: Uint8Array, from: number, items: readonly T[]): Promise<void> {
    await this.write(label, from, items);
    await this.syncDirty();
  }

  syncDirty(): Promise<void> {
    return this.files.syncDirty();
  }

  close(): Promise<void> {
    return this.files.close();
  }
}

/** Bytes per stored MMR node. */
export const NODE_BYTES = 32;

/** The MMR node files (`mmr/<label hex>.nodes`); records are nodes. */
export class NodeStore extends LabelStore<Uint8Array> {
  static async open(dir: string, opts: { maxHandles?: number } = {}): Promise<NodeStore> {
    return new NodeStore(await LabelFiles.open(dir, ".nodes", NODE_BYTES, opts));
  }

  /** Writes `nodes` (32 bytes each, position order) from node position `fromCount`; `syncDirty()` syncs. */
  override write(label: Uint8Array, fromCount: number, nodes: readonly Uint8Array[]): Promise<void> {
    const buf = new Uint8Array(nodes.length * NODE_BYTES);
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (n.length !== NODE_BYTES) throw new VeenError("E.SIZE", "MMR node hashes must be 32 bytes");
      buf.set(n, i * NODE_BYTES);
    }
    return this.files.write(label, fromCount, buf);
  }

  /**
   * Node hashes at `positions` (in the order asked) for a label with `count` committed nodes; E.NOT_FOUND for a
   * position at or past `count`. Nearby positions (within 8 nodes) are fetched with one read.
   */
  readHashes(label: Uint8Array, positions: readonly number[], count: number): Uint8Array[] {
    for (const p of positions) {
      if (!Number.isSafeInteger(p) || p < 0 || p >= count) {
        throw new VeenError("E.NOT_FOUND", `No MMR node at position ${p} (the label has ${count})`);
      }
    }
    const order = positions.map((_, i) => i).sort((a, b) => positions[a]! - positions[b]!);
    const out = new Array<Uint8Array>(positions.length);
    let i = 0;
    while (i < order.length) {
      const start = positions[order[i]!]!;
      let end = start;
      let j = i + 1;
      while (j < order.length && positions[order[j]!]! <= end + 8) {
        end = Math.max(end, positions[order[j++]!]!);
      }
      const buf = this.files.readRun(label, start, end - start + 1);
      for (let k = i; k < j; k++) {
        const p = positions[order[k]!]! - start;
        out[order[k]!] = buf.slice(p * NODE_BYTES, (p + 1) * NODE_BYTES);
      }
      i = j;
    }
    return out;
  }
}

/** Bytes per position record. */
export const POS_BYTES = 24;

function putU48(v: DataView, off: number, n: number): void {
  v.setUint16(off, Math.floor(n / 0x1_0000_0000));
  v.setUint32(off + 2, n >>> 0);
}

const getU48 = (v: DataView, off: number) => v.getUint16(off) * 0x1_0000_0000 + v.getUint32(off + 2);

/**
 * First stream_seq of a label with `n` entries whose segment, `segAt(seq)` from its position record, is at or after
 * `firstSeg` (n + 1 when none is): 1 at once when `firstSeg` is 0, else a binary search, O(log n) reads.
 */
export function firstSeqAtOrAfter(n: number, firstSeg: number, segAt: (seq: number) => number): number {
  if (firstSeg === 0) return 1;
  let lo = 1;
  let hi = n + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (segAt(mid) >= firstSeg) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The per-label position files (`pos/<label hex>.pos`): stream_seq → log location, one record per seq. */
export class PosStore extends LabelStore<RecordLocation> {
  static async open(dir: string, opts: { maxHandles?: number } = {}): Promise<PosStore> {
    return new PosStore(await LabelFiles.open(dir, ".pos", POS_BYTES, opts));
  }

  /** Encodes locations as position records. */
  static encode(locs: readonly RecordLocation[]): Uint8Array {
    const buf = new Uint8Array(locs.length * POS_BYTES);
    const v = new DataView(buf.buffer);
    for (let i = 0; i < locs.length; i++) {
      const l = locs[i]!;
      const o = i * POS_BYTES;
      v.setUint32(o, l.seg);
      putU48(v, o + 4, l.rOff);
      v.setUint32(o + 10, l.rLen);
      putU48(v, o + 14, l.pOff);
      v.setUint32(o + 20, l.pLen);
    }
    return buf;
  }

  /** Writes the locations of stream_seq `firstSeq, firstSeq + 1, ...`; `syncDirty()` syncs. */
  override write(label: Uint8Array, firstSeq: number, locs: readonly RecordLocation[]): Promise<void> {
    return this.files.write(label, firstSeq - 1, PosStore.encode(locs));
  }

  /** Locations of stream_seq `from .. from + n - 1` (all committed). */
  read(label: Uint8Array, from: number, n: number): RecordLocation[] {
    const buf = this.files.readRun(label, from - 1, n);
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const out = new Array<RecordLocation>(n);
    for (let i = 0; i < n; i++) {
      const o = i * POS_BYTES;
      out[i] = {
        seg: v.getUint32(o),
        rOff: getU48(v, o + 4),
        rLen: v.getUint32(o + 10),
        pOff: getU48(v, o + 14),
        pLen: v.getUint32(o + 20),
      };
    }
    return out;
  }
}
