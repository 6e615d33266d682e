/**
 * A single append-only framed file: `checkpoints.cborseq` and `admissions.cborseq` (formats and commit order:
 * docs/durability.md "Data directory" and "Commit protocol").
 */
import { VeenError } from "../core/mod.ts";
import { fileSize, Lock, OS_SYNC, type Syncer, SyncReaders, writeAll, writeFileAtomic } from "./files.ts";
import { encodeFrame, frameBody, FrameReader } from "./frame.ts";
import { quarantineTail, scanFileTail } from "./log_tail.ts";
import { StorageDamage } from "./storage_damage.ts";
import { tailKindOf } from "./records.ts";

/** Frames `bodies` into one buffer; each record's `[offset, length]` counts from `base`. */
function framed(bodies: readonly Uint8Array[], base: number): { buf: Uint8Array; locs: [number, number][] } {
  const frames = bodies.map(encodeFrame);
  let total = 0;
  for (const f of frames) total += f.length;
  const buf = new Uint8Array(total);
  const locs: [number, number][] = [];
  let o = 0;
  for (const f of frames) {
    buf.set(f, o);
    locs.push([base + o, f.length]);
    o += f.length;
  }
  return { buf, locs };
}

/**
 * One append-only framed file (`checkpoints.cborseq`, `admissions.cborseq`): append + fdatasync, positional reads,
 * and recovery of the tail after an indexed offset.
 */
export class RecordFile {
  readonly path: string;
  /** The directory and the name of `path`. */
  readonly #dir: string;
  readonly #name: string;
  /** The file's name in damage reports. */
  readonly #relPath: string;
  readonly #onRead: (n: number) => void;
  readonly #sync: Syncer;
  #size = 0;
  #w: Deno.FsFile | undefined;
  readonly #readers = new SyncReaders(1);
  readonly writeLock = new Lock();
  #created = false;
  /** The repair of a torn tail `open` found and deferred. */
  #torn: (() => Promise<void>) | undefined;

  private constructor(path: string, relPath: string, onRead: (n: number) => void, sync: Syncer) {
    this.#sync = sync;
    this.path = path;
    this.#relPath = relPath;
    const cut = path.lastIndexOf("/");
    this.#dir = cut < 0 ? "." : path.slice(0, cut) || "/";
    this.#name = path.slice(cut + 1);
    this.#onRead = onRead;
  }

  /**
   * Opens `path`, returning the file and the bodies of the records after `indexedOffset` (with their offsets and
   * lengths). A torn tail (hub/log_tail.ts) is moved to quarantine, cut and reported through `onRepair`; any other
   * damage past the index raises {@link StorageDamage} and changes nothing.
   */
  static async open(
    path: string,
    indexedOffset: number,
    opts: {
      onRead?: (n: number) => void;
      onRepair?: (what: string) => void;
      /** The file's name in damage reports (default `path`). */
      relPath?: string;
      /** Where a cut torn tail is kept (default `quarantine/` beside the file). */
      quarantineDir?: string;
      /** The durability barrier of appends (default {@link OS_SYNC}). */
      sync?: Syncer;
      /**
       * Judge the tail but leave a torn end in place until {@link cutTornTail} (the store first checks the log, so
       * that a refused start changes no byte); nothing may be appended before that.
       */
      deferCut?: boolean;
    } = {},
  ): Promise<{ file: RecordFile; tail: { off: number; len: number; body: Uint8Array }[] }> {
    const rf = new RecordFile(path, opts.relPath ?? path, opts.onRead ?? (() => {}), opts.sync ?? OS_SYNC);
    const size = await fileSize(path);
    rf.#created = size < 0;
    if (size >= 0 && size < indexedOffset) {
      throw new VeenError("E.UNAVAILABLE", `${path} is shorter than its index (${size} < ${indexedOffset})`);
    }
    const tail: { off: number; len: number; body: Uint8Array }[] = [];
    let good = Math.max(0, indexedOffset);
    if (size > indexedOffset) {
      // The records past the index, read whole: this tail is what a crash left unindexed (small).
      const scan = await scanFileTail(path, indexedOffset, tailKindOf(rf.#relPath));
      rf.#onRead(size - indexedOffset);
      for (const f of scan.frames) tail.push({ off: f.offset, len: f.length, body: f.body.slice() });
      if (scan.end.kind === "corrupt") {
        throw new StorageDamage(rf.#relPath, scan.end.offset, scan.end.why);
      }
      good = size;
      if (scan.end.kind === "torn") {
        good = scan.end.offset;
        const how = scan.end.how;
        rf.#torn = async () => {
          opts.onRepair?.(`${path}: torn record at ${good} (${how}); moved to quarantine/ and cut`);
          await quarantineTail(path, good, opts.quarantineDir ?? `${rf.#dir}/quarantine`, rf.#name);
        };
      }
    }
    rf.#w = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    rf.#size = Math.max(0, good);
    if (!opts.deferCut) await rf.cutTornTail();
    return { file: rf, tail };
  }

  /** Moves a torn tail found by `open` to quarantine/ and cuts it (fdatasync'ed); a no-op when there is none. */
  async cutTornTail(): Promise<void> {
    const cut = this.#torn;
    this.#torn = undefined;
    await cut?.();
  }

  get size(): number {
    return this.#size;
  }

  /** Appends framed `bodies` and fdatasyncs; returns each record's `[offset, length]`. Call under `writeLock`. */
  async append(bodies: readonly Uint8Array[]): Promise<[number, number][]> {
    const { buf, locs } = framed(bodies, this.#size);
    const total = buf.length;
    await writeAll(this.#w!, buf);
    await this.#sync.file(this.#w!, this.path);
    if (this.#created) {
      this.#created = false;
      await this.#sync.dir(this.#dir);
    }
    this.#size += total;
    return locs;
  }

  /** Every record up to the current size, in order (offline-style full read; used by checkpoint retention). */
  async readAll(): Promise<{ off: number; len: number; body: Uint8Array }[]> {
    const out: { off: number; len: number; body: Uint8Array }[] = [];
    if (this.#size === 0) return out;
    const reader = await FrameReader.open(this.path, 0, this.#onRead);
    try {
      while (reader.offset < this.#size) {
        const f = await reader.next();
        if (f.kind !== "ok") {
          throw new StorageDamage(
            this.#relPath,
            reader.offset,
            `${f.kind === "bad" ? f.why : f.kind} record`,
            "read",
          );
        }
        out.push({ off: f.offset, len: f.length, body: f.body.slice() });
      }
    } finally {
      reader.close();
    }
    return out;
  }

  /** The body of the first record, if any. */
  async first(): Promise<Uint8Array | undefined> {
    if (this.#size === 0) return undefined;
    const reader = await FrameReader.open(this.path, 0, this.#onRead, 4096);
    try {
      const f = await reader.next();
      return f.kind === "ok" ? f.body.slice() : undefined;
    } finally {
      reader.close();
    }
  }

  /**
   * Replaces the whole file with `bodies` framed (tmp file, fdatasync, rename, directory fsync) and returns each
   * record's `[offset, length]`. Call under `writeLock`.
   */
  async replaceWith(bodies: readonly Uint8Array[]): Promise<[number, number][]> {
    const { buf, locs } = framed(bodies, 0);
    const total = buf.length;
    await writeFileAtomic(this.#dir, this.#name, buf);
    this.#w?.close();
    this.#readers.closeAll();
    this.#w = await Deno.open(this.path, { append: true, mode: 0o600 });
    this.#size = total;
    return locs;
  }

  /** The body of the record at `[off, len]`, checksum verified. */
  read(off: number, len: number): Uint8Array {
    const buf = this.#readers.read(this.path, off, len);
    this.#onRead(buf.length);
    return frameBody(buf, this.#relPath, off);
  }

  async close(): Promise<void> {
    await this.writeLock.idle();
    this.#w?.close();
    this.#w = undefined;
    this.#readers.closeAll();
  }
}
