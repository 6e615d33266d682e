/**
 * The on-disk index of an indexed fold's records (overlays/fold.ts `IndexedRecords`: the operation log; spec 001
 * complexity contract: lookups O(log n), a command loads only the records it asks for). The summary of such a fold
 * holds counts; its records live in a Deno KV file next to it, `DIR/overlays/<summary name>.kv`, in the summary's
 * `index_epoch`:
 *
 * - `["row", epoch, ...key, seq] -> value` for each key of the record (`IndexRow.keys`), so a key's records are
 *   listed in stream order by a range over seq, O(log n + k). The value is the record's JSON text or, for a text over
 *   CHUNK characters, the count of its parts `["part", epoch, seq, i] -> text` (a KV value holds at most 64 KiB);
 * - `["seq", epoch, seq] -> keys`: the keys of the record at seq (to delete its rows);
 * - `["top", epoch] -> n`: no row above stream_seq n exists; `["epoch", epoch] -> true`: the epoch's marker, written
 *   with its first save (a summary whose index lacks it is discarded, as for cli/seen_index.ts).
 *
 * Rows are written on save before the summary (the KV files fsynced), tagged by their own stream_seq. After a crash
 * between the two, the index holds rows above the summary's upto_seq: reads never go above it (`covered`), and the
 * first write after resuming deletes the rows between upto_seq and top before writing the items after upto_seq
 * again, so no row is ever read for an item the summary does not cover (the hub may even answer other items
 * there). A new epoch (a fold from stream_seq 1: no summary, a discarded one, `--refold`) starts a new file: its
 * first write removes the old one, whose rows belong to a discarded summary.
 */
import type { IndexKey, IndexRow } from "../overlays/mod.ts";
import { openIndexFile, syncFiles } from "./seen_index.ts";

/** Characters of a value's JSON text per KV value (64 KiB holds 16 000 UTF-16 units). */
const CHUNK = 16_000;
/** Keys per KV getMany (Deno KV allows 10). */
const GET = 10;

/** Which rows of a key to read: stream_seq in [from, upto] (within what the summary covers). */
export interface IndexRange {
  from?: number;
  upto?: number;
  /** Latest first. */
  reverse?: boolean;
  limit?: number;
}

/** The records of one summary's fold, in KV file `path`, epoch `epoch`. Each call opens and closes the file. */
export class RecordIndex {
  readonly path: string;
  readonly epoch: string;
  /** Rows read so far (a command reads only the records it looks up). */
  reads = 0;
  /** upto_seq of the summary on disk: rows above it are never read. */
  covered: number;
  /** A new epoch: the file holds nothing of it yet (its first write replaces the file). */
  #fresh: boolean;
  /** No row above `covered` is left from a save whose summary never landed. */
  #clean: boolean;

  /** `covered`: the upto_seq of the saved summary whose epoch this is, undefined for a new epoch. */
  constructor(path: string, epoch: string, covered: number | undefined) {
    this.path = path;
    this.epoch = epoch;
    this.covered = covered ?? 0;
    this.#fresh = covered === undefined;
    this.#clean = this.#fresh;
  }

  /** Writes `rows` (items up to `tag`, the upto_seq of the summary about to be written) durably. */
  async write(rows: readonly IndexRow[], tag: number): Promise<void> {
    if (rows.length === 0 && this.#clean && !this.#fresh) return;
    if (this.#fresh) await removeFiles(this.path);
    const kv = await openIndexFile(this.path);
    try {
      const batch = new Batch(kv);
      if (!this.#clean) await this.#dropUncovered(kv, batch);
      if (this.#fresh) await batch.set(["epoch", this.epoch], true);
      await batch.set(["top", this.epoch], tag);
      for (const row of rows) await this.#put(batch, row);
      await batch.commit();
      await syncFiles([this.path, `${this.path}-wal`]);
    } finally {
      kv.close();
    }
    this.#fresh = false;
    this.#clean = true;
  }

  async #put(batch: Batch, row: IndexRow): Promise<void> {
    const text = JSON.stringify(row.value);
    let value: string | number = text;
    if (text.length > CHUNK) {
      value = Math.ceil(text.length / CHUNK);
      for (let i = 0; i < value; i++) {
        await batch.set(["part", this.epoch, row.seq, i], text.slice(i * CHUNK, (i + 1) * CHUNK));
      }
    }
    await batch.set(["seq", this.epoch, row.seq], row.keys);
    for (const k of row.keys) await batch.set(["row", this.epoch, ...k, row.seq], value);
  }

  /** Deletes the rows above `covered` (written by a save whose summary never landed). */
  async #dropUncovered(kv: Deno.Kv, batch: Batch): Promise<void> {
    const top = (await kv.get<number>(["top", this.epoch])).value ?? 0;
    if (top <= this.covered) return;
    const e = this.epoch;
    const stale: Deno.KvEntry<IndexKey[]>[] = [];
    for await (
      const r of kv.list<IndexKey[]>({ start: ["seq", e, this.covered + 1], end: ["seq", e, top + 1] })
    ) {
      stale.push(r);
    }
    for (const r of stale) {
      const seq = r.key[2] as number;
      const parts: Deno.KvKey[] = [];
      for await (const p of kv.list({ prefix: ["part", e, seq] })) parts.push(p.key);
      for (const k of [r.key, ...parts, ...r.value.map((k) => ["row", e, ...k, seq])]) await batch.delete(k);
    }
  }

  /** The rows of `key` in stream order (reversed with `reverse`) within `range` and what the summary covers. */
  async list(key: IndexKey, range: IndexRange = {}): Promise<{ seq: number; value: unknown }[]> {
    const from = Math.max(range.from ?? 1, 1);
    const upto = Math.min(range.upto ?? Infinity, this.covered);
    if (upto < from) return [];
    const kv = await openIndexFile(this.path);
    try {
      const out: { seq: number; value: unknown }[] = [];
      const sel = { start: ["row", this.epoch, ...key, from], end: ["row", this.epoch, ...key, upto + 1] };
      const opts: Deno.KvListOptions = { reverse: range.reverse === true };
      if (range.limit !== undefined) opts.limit = range.limit;
      for await (const r of kv.list<string | number>(sel, opts)) {
        const seq = r.key.at(-1) as number;
        const text = typeof r.value === "string" ? r.value : await this.#joinParts(kv, seq, r.value);
        this.reads++;
        out.push({ seq, value: JSON.parse(text) });
      }
      return out;
    } finally {
      kv.close();
    }
  }

  async #joinParts(kv: Deno.Kv, seq: number, n: number): Promise<string> {
    const keys = Array.from({ length: n }, (_, i) => ["part", this.epoch, seq, i]);
    let text = "";
    for (let i = 0; i < n; i += GET) {
      for (const r of await kv.getMany<string[]>(keys.slice(i, i + GET))) {
        if (typeof r.value !== "string") {
          throw new Error(`RecordIndex: a part of row ${seq} is missing`);
        }
        text += r.value;
      }
    }
    return text;
  }
}

/** Mutations grouped into KV atomic commits within Deno KV's limits (1000 mutations, 80 KiB of keys, 800 KiB). */
class Batch {
  readonly #kv: Deno.Kv;
  #op: Deno.AtomicOperation;
  #count = 0;
  #keyBytes = 0;
  #bytes = 0;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
    this.#op = kv.atomic();
  }

  async set(key: Deno.KvKey, value: unknown): Promise<void> {
    this.#op.set(key, value);
    await this.#added(key, typeof value === "string" ? 2 * value.length : 512);
  }

  async delete(key: Deno.KvKey): Promise<void> {
    this.#op.delete(key);
    await this.#added(key, 0);
  }

  async #added(key: Deno.KvKey, valueBytes: number): Promise<void> {
    const k = key.reduce<number>(
      (n, p) => n + 2 + (typeof p === "string" ? 3 * p.length : p instanceof Uint8Array ? p.length : 9),
      0,
    );
    this.#count++;
    this.#keyBytes += k;
    this.#bytes += k + valueBytes;
    if (this.#count >= 500 || this.#keyBytes >= 60_000 || this.#bytes >= 600_000) await this.commit();
  }

  async commit(): Promise<void> {
    if (this.#count === 0) return;
    const res = await this.#op.commit();
    if (!res.ok) throw new Error("RecordIndex: a KV commit failed");
    this.#op = this.#kv.atomic();
    this.#count = this.#keyBytes = this.#bytes = 0;
  }
}

/** Removes the KV file at `path` and its WAL and shared-memory files (an index of a discarded summary). */
async function removeFiles(path: string): Promise<void> {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    await Deno.remove(f).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}
