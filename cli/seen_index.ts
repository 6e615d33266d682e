/**
 * The on-disk index of a deduplicating fold's seen keys (overlays/fold.ts `Dedup`; spec 001 complexity contract:
 * "warm state reads only what is new"). The summary JSON of such a fold holds no seen set; the keys live in a
 * Deno KV file next to it, `DIR/overlays/<summary name>.kv`, one entry `["seen", epoch, key] -> tag` per key:
 *
 * - Before an entry is folded, the keys it carries (`dedup.keys(e)`) are looked up (O(keys × log n)) and the hits
 *   pre-loaded into the state's seen set, so `apply` decides exactly as it would with the whole set.
 * - On save, the keys added since the last save are written first (tagged with the upto_seq of the summary about
 *   to be written, the KV WAL fsynced), then the summary. A crash between the two leaves an index ahead of its
 *   summary: keys tagged above the summary's upto_seq count as unseen, and re-folding the entries after upto_seq
 *   adds and writes them again, so an entry folded before the crash is neither counted twice nor lost.
 * - `epoch` (random, recorded in the summary) starts with every fold from stream_seq 1, so the keys of a
 *   discarded summary (another history, `--refold`, damage) are never read again. The first save of an epoch
 *   writes its marker `["epoch", epoch] -> true`: a summary whose index does not hold its epoch (the `.kv` file
 *   lost or replaced) is discarded, since its seen keys are gone.
 */
import { ensurePrivateDir, syncDir } from "./files.ts";
import { dirname } from "node:path";

/** Mutations per KV commit (Deno KV allows 1000 per atomic operation). */
const COMMIT = 500;
/** Keys per KV getMany (Deno KV allows 10). */
const GET = 10;

/** A fresh epoch: 16 random bytes, hex. */
export function newEpoch(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The seen keys of one summary's fold, in KV file `path`, epoch `epoch`. Open lazily; `close()` after use. */
export class SeenIndex {
  readonly path: string;
  readonly epoch: string;
  /** Keys looked up in the file so far (a warm read asks only for the keys of its new entries). */
  lookups = 0;
  #kv: Deno.Kv | undefined;
  /** Keys of the working set the file already holds at a tag the summary covers. */
  readonly #stored = new Set<string>();
  /** No key of this epoch written yet (a fold from stream_seq 1): nothing to look up. */
  #empty: boolean;
  /** The file holds this epoch's marker (written with the first save of the epoch). */
  #marked: boolean;

  /** `resumed`: the epoch is a saved summary's (false for a new epoch, whose keys the file cannot hold yet). */
  constructor(path: string, epoch: string, resumed: boolean) {
    this.path = path;
    this.epoch = epoch;
    this.#empty = !resumed;
    this.#marked = resumed;
  }

  /**
   * Whether the file at `path` holds epoch `epoch` (its marker is written with the first save of the epoch, so a
   * summary naming an epoch its index does not hold lost its index: the caller folds again from stream_seq 1), and
   * `also` (another check on the same file) holds.
   */
  static async holds(
    path: string,
    epoch: string,
    also: (kv: Deno.Kv) => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<boolean> {
    try {
      await Deno.stat(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
    const kv = await Deno.openKv(path);
    try {
      return (await kv.get(["epoch", epoch])).value === true && await also(kv);
    } finally {
      kv.close();
    }
  }

  async #open(): Promise<Deno.Kv> {
    this.#kv ??= await openIndexFile(this.path);
    return this.#kv;
  }

  /**
   * Adds to `seen` those of `keys` (not in it yet) that the index holds with a tag at most `upto` (the upto_seq
   * of the summary on disk); a key tagged above it was written by a save whose summary never landed.
   */
  async preload(keys: readonly string[], seen: Set<string>, upto: number): Promise<void> {
    const ask = keys.filter((k) => !seen.has(k));
    if (ask.length === 0 || this.#empty) return;
    const kv = await this.#open();
    this.lookups += ask.length;
    for (let i = 0; i < ask.length; i += GET) {
      const got = await kv.getMany<unknown[]>(ask.slice(i, i + GET).map((k) => ["seen", this.epoch, k]));
      for (const r of got) {
        if (typeof r.value !== "number" || r.value > upto) continue;
        const k = r.key[2] as string;
        seen.add(k);
        this.#stored.add(k);
      }
    }
  }

  /** Writes the keys of `seen` the index does not hold yet, tagged `tag`, durably (before the summary). */
  async flush(seen: ReadonlySet<string>, tag: number): Promise<number> {
    const fresh = [...seen].filter((k) => !this.#stored.has(k));
    if (fresh.length === 0 && this.#marked) return 0;
    const kv = await this.#open();
    for (let i = 0; i === 0 || i < fresh.length; i += COMMIT) {
      const op = kv.atomic();
      if (i === 0 && !this.#marked) op.set(["epoch", this.epoch], true);
      for (const k of fresh.slice(i, i + COMMIT)) op.set(["seen", this.epoch, k], tag);
      const res = await op.commit();
      if (!res.ok) throw new Error(`SeenIndex.flush: commit to ${this.path} failed`);
    }
    await syncFiles([this.path, `${this.path}-wal`]);
    for (const k of fresh) this.#stored.add(k);
    this.#empty = false;
    this.#marked = true;
    return fresh.length;
  }

  close(): void {
    this.#kv?.close();
    this.#kv = undefined;
  }
}

/** Opens (creating) the KV file of an index at `path`, 0600 in a private directory (it holds decrypted data). */
export async function openIndexFile(path: string): Promise<Deno.Kv> {
  await ensurePrivateDir(dirname(path));
  const kv = await Deno.openKv(path);
  await Deno.chmod(path, 0o600);
  return kv;
}

/** fsyncs the files that exist among `paths` (the KV commits must be on disk before the summary names them). */
export async function syncFiles(paths: string[]): Promise<void> {
  for (const p of paths) {
    let f: Deno.FsFile;
    try {
      f = await Deno.open(p, { read: true, write: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    try {
      await f.sync();
    } finally {
      f.close();
    }
  }
  await syncDir(dirname(paths[0]!));
}

/** `state`'s JSON with its seen set left out (the index holds it); the set is put back afterwards. */
export function withoutSeen<T>(seen: Set<string> | undefined, toJson: () => T): T {
  if (seen === undefined || seen.size === 0) return toJson();
  const kept = [...seen];
  seen.clear();
  try {
    return toJson();
  } finally {
    for (const k of kept) seen.add(k);
  }
}
