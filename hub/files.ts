/**
 * File helpers of the storage layer: a FIFO lock, bounded caches of open files, whole writes, directory fsync, the
 * durability barrier ({@link Syncer}) and atomic replacement. Where each is used in the data dir: docs/durability.md
 * "Data directory".
 */

import { Lru } from "../core/mod.ts";

// ---------------------------------------------------------------- small concurrency helpers

/** A FIFO mutex: `run` calls never overlap. */
export class Lock {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.#tail.then(() => fn(), () => fn());
    this.#tail = p.then(() => {}, () => {});
    return p;
  }

  /** Resolves once every queued `run` has settled. */
  idle(): Promise<void> {
    return this.#tail.then(() => {});
  }
}

interface CachedHandle {
  file: Deno.FsFile;
  lock: Lock;
  closed: boolean;
}

/**
 * A bounded LRU of open files, each used under its own lock (seek + read/write must not interleave). A handle is
 * closed on eviction only once its queued operations have finished; an operation that finds its handle closed
 * reopens it.
 */
export class HandleCache {
  readonly #open: (key: string) => Promise<Deno.FsFile>;
  readonly #map: Lru<Promise<CachedHandle>>;

  constructor(max: number, open: (key: string) => Promise<Deno.FsFile>) {
    this.#open = open;
    this.#map = new Lru(max, (_, p) => void this.#closeLater(p));
  }

  /** Runs `fn` with exclusive use of the file for `key`. */
  async use<T>(key: string, fn: (file: Deno.FsFile) => Promise<T>): Promise<T> {
    for (;;) {
      const h = await this.#get(key);
      let stale = false;
      const out = await h.lock.run(async () => {
        if (h.closed) {
          stale = true;
          return undefined;
        }
        return await fn(h.file);
      });
      if (!stale) return out as T;
    }
  }

  #get(key: string): Promise<CachedHandle> {
    let p = this.#map.get(key);
    if (p !== undefined) return p;
    p = this.#open(key).then((file) => ({ file, lock: new Lock(), closed: false }));
    p.catch(() => this.#map.delete(key));
    this.#map.set(key, p);
    return p;
  }

  async #closeLater(p: Promise<CachedHandle>): Promise<void> {
    let h: CachedHandle;
    try {
      h = await p;
    } catch {
      return;
    }
    await h.lock.run(() => {
      if (!h.closed) {
        h.closed = true;
        h.file.close();
      }
    });
  }

  /** Closes the handle for `key` if open (e.g. before the file is truncated or deleted). */
  async drop(key: string): Promise<void> {
    const p = this.#map.delete(key);
    if (p !== undefined) await this.#closeLater(p);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#map.values()];
    this.#map.clear();
    await Promise.all(all.map((p) => this.#closeLater(p)));
  }
}

/**
 * A bounded LRU of read-only handles used with synchronous seek + read: page-cache reads cost ~2 µs instead of
 * ~70 µs for the async pair, and synchronous calls cannot interleave, so no lock is needed.
 */
export class SyncReaders {
  readonly #map: Lru<Deno.FsFile>;

  constructor(max: number) {
    this.#map = new Lru(max, (_, f) => f.close());
  }

  /** Up to `len` bytes of `path` at `offset` (fewer at end of file). */
  read(path: string, offset: number, len: number): Uint8Array {
    let f = this.#map.get(path);
    if (f === undefined) {
      f = Deno.openSync(path, { read: true });
      this.#map.set(path, f);
    }
    f.seekSync(offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(len);
    let got = 0;
    while (got < len) {
      const n = f.readSync(buf.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    return got === len ? buf : buf.subarray(0, got);
  }

  /** Closes the handle of `path` (before it is truncated, replaced or removed). */
  drop(path: string): void {
    this.#map.delete(path)?.close();
  }

  closeAll(): void {
    for (const f of this.#map.values()) f.close();
    this.#map.clear();
  }
}

// ---------------------------------------------------------------- file helpers

/** Writes all of `buf` to `file` (at its current position, or the end in append mode). */
export async function writeAll(file: Deno.FsFile, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) off += await file.write(buf.subarray(off));
}

/**
 * Synchronous `writeAll`: a write into the page cache costs microseconds, far less than an async op's hand-off to
 * the thread pool; the slow part, fdatasync, stays asynchronous.
 */
export function writeAllSync(file: Deno.FsFile, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += file.writeSync(buf.subarray(off));
}

/** fsyncs a directory so entries created or renamed in it survive power loss. */
export async function syncDir(path: string): Promise<void> {
  const d = await Deno.open(path, { read: true });
  try {
    await d.sync();
  } finally {
    d.close();
  }
}

/**
 * The durability barrier of the log and record files: fdatasync of a file, fsync of a directory. A RECEIPT or an
 * admission answer is released only after these resolve; tests substitute one to gate or count them.
 */
export interface Syncer {
  file(f: Deno.FsFile, path: string): Promise<void>;
  dir(path: string): Promise<void>;
}

/** The operating system's barrier. */
export const OS_SYNC: Syncer = { file: (f) => f.syncData(), dir: syncDir };

/** Creates `path` (and parents) with mode 0700. */
export async function mkdir700(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
}

/** Size of a file, or -1 when it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return -1;
    throw e;
  }
}

/**
 * Writes `bytes` to `dir/name` atomically: tmp file (in `tmpDir`, on the same file system; default `dir`),
 * fdatasync, rename, fsync of the directory. The tmp file is removed when any step before the rename's completion
 * fails.
 */
export async function writeFileAtomic(
  dir: string,
  name: string,
  bytes: Uint8Array,
  tmpDir: string = dir,
): Promise<void> {
  const tmp = `${tmpDir}/.${name}.${crypto.randomUUID()}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    try {
      await writeAll(f, bytes);
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, `${dir}/${name}`);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

/** Entries of `dir` sorted by name (so scans and reports are the same on every run); [] when it is absent. */
export async function dirEntries(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
