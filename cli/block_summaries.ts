/**
 * The stored block-summary tree of a fold with `ranges` (overlays/summary_blocks.ts; spec 001 L151-203: a range
 * read merges O(log n) stored summaries and folds fewer than 2C items, never the whole stream). As the cursor
 * folds each item it also folds the item into the summary of the current chunk; when a chunk ends, its summary and
 * the summary of every block it completes (parent = merge(left, right)) are kept, in a Deno KV file next to the
 * summary, `DIR/overlays/<summary name>.blocks.kv`:
 *
 * - `["block", epoch, level, index, part]`: the fold's JSON of block (level, index), UTF-8, in parts of at most
 *   60000 bytes (part 0 is `{parts, bytes}`);
 * - `["epoch", epoch] -> true`: written with the first save of the epoch.
 *
 * The summary of the chunk being folded, items `(chunk start, upto_seq]`, travels in the summary file itself
 * (`open_chunk`, written atomically with upto_seq; none at a chunk's end), so a save that completes no chunk does
 * not touch this file. Crash rules, as cli/seen_index.ts: on save, the blocks completed since the last save are
 * written (KV WAL fsynced) before the summary. A block ending above the summary's upto_seq was written by a save
 * whose summary never landed: it is never read (reads stop at upto_seq) and is written again when the fold passes
 * its end. The epoch is the summary's `index_epoch`: a fold from stream_seq 1 starts a new epoch and removes the
 * file's old contents at its first write, so the tree is discarded with its summary; a summary whose file lacks its
 * epoch is discarded.
 */
import { MmrAccumulator, VeenError } from "../core/mod.ts";
import {
  blockChildren,
  blocksEndingAt,
  CHUNK_ITEMS,
  type Fold,
  type ItemRange,
  type OverlayEntry,
  planRange,
  type SummaryBlock,
} from "../overlays/mod.ts";
import { openEntry } from "./decrypt.ts";
import { ensurePrivateDir } from "./files.ts";
import type { StreamItem } from "./http_client.ts";
import { type HubSession, itemContext } from "./hub_session.ts";
import { SeenIndex, syncFiles } from "./seen_index.ts";
import { extendView, jumpView, provesPrefix } from "./view_sync.ts";
import { dirname } from "node:path";

/** Bytes per KV value part (Deno KV values are at most 64 KiB). */
const PART = 60_000;
/** Mutations and bytes per KV commit (Deno KV allows 1000 mutations and 800 KiB per atomic operation). */
const COMMIT_OPS = 500;
const COMMIT_BYTES = 500_000;
/** Completed blocks kept in memory before they are written (not yet durable: the save makes them so). */
const PENDING = 64;

type Key = Deno.KvKey;

/** Path of the block summaries of the summary at `summary`. */
export function blocksPath(summary: string): string {
  return summary.replace(/\.json$/, ".blocks.kv");
}

const blockKey = (epoch: string, b: SummaryBlock): Key => ["block", epoch, b.level, b.index];
const id = (b: SummaryBlock) => `${b.level}/${b.index}`;

/** The block-summary tree of one summary's fold, in KV file `path`, epoch `epoch`. `close()` after use. */
export class BlockSummaries<S> {
  readonly path: string;
  readonly epoch: string;
  /** Range reads, the blocks they read and the items they fetched. */
  readonly reads = { ranges: 0, blocks: 0, fetched: 0 };
  readonly #fold: Fold<S>;
  readonly #c: number;
  #kv: Deno.Kv | undefined;
  /** The last item folded into the tree; the open chunk holds `(upto - upto % C, upto]`. */
  #upto: number;
  /** The open chunk's summary. */
  #chunk: S;
  /** Blocks completed and not yet written. */
  #pending = new Map<string, { b: SummaryBlock; s: S }>();
  /** Writes not yet made durable (by `flush`). */
  #unsynced = false;
  /** The file holds this epoch's marker (false for a new epoch until its first save). */
  #marked: boolean;
  /** A new epoch whose file has not been cleared of an earlier tree yet. */
  #stale: boolean;

  /**
   * `resumed`: the upto_seq of the saved summary of epoch `epoch`, or undefined for a new epoch; `openChunk`: that
   * summary's `open_chunk` (required when `resumed` is inside a chunk).
   */
  constructor(
    path: string,
    fold: Fold<S>,
    epoch: string,
    resumed: number | undefined,
    openChunk?: S,
    c = CHUNK_ITEMS,
  ) {
    if (fold.ranges !== true) throw new Error(`Fold ${fold.kind} does not merge ranges`);
    this.path = path;
    this.epoch = epoch;
    this.#fold = fold;
    this.#c = c;
    this.#upto = resumed ?? 0;
    this.#marked = resumed !== undefined;
    this.#stale = resumed === undefined;
    if (resumed !== undefined && resumed % c !== 0 && openChunk === undefined) {
      throw new Error(`BlockSummaries: a summary at ${resumed} needs its open chunk`);
    }
    this.#chunk = openChunk ?? fold.empty();
  }

  /** Whether the file holds epoch `epoch` (the same epoch marker as the seen index's). */
  static async holds(path: string, epoch: string): Promise<boolean> {
    return await SeenIndex.holds(path, epoch);
  }

  async #open(): Promise<Deno.Kv> {
    if (this.#kv === undefined) {
      await ensurePrivateDir(dirname(this.path));
      if (this.#stale) {
        // A new epoch: the tree of any earlier summary is discarded with it, once.
        for (const f of [this.path, `${this.path}-wal`, `${this.path}-shm`]) {
          await Deno.remove(f).catch((e) => {
            if (!(e instanceof Deno.errors.NotFound)) throw e;
          });
        }
      }
      this.#stale = false;
      this.#kv = await Deno.openKv(this.path);
      await Deno.chmod(this.path, 0o600); // decrypted data, like the summary
    }
    return this.#kv;
  }

  async #read(key: Key): Promise<S | undefined> {
    const kv = await this.#open();
    const first = (await kv.get<{ parts: number; bytes: Uint8Array }>([...key, 0])).value;
    if (first === null) return undefined;
    const parts = [first.bytes];
    for (let i = 1; i < first.parts; i += 10) {
      const keys = Array.from({ length: Math.min(10, first.parts - i) }, (_, k) => [...key, i + k]);
      for (const r of await kv.getMany<Uint8Array[]>(keys)) {
        if (!(r.value instanceof Uint8Array)) {
          throw new Error(`${this.path}: part ${String(r.key.at(-1))} is missing`);
        }
        parts.push(r.value);
      }
    }
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
    return this.#fold.fromJson(JSON.parse(new TextDecoder().decode(bytes)));
  }

  /** Writes `values` (key prefix → summary) in parts, in commits of bounded size; `also` go into the first commit. */
  async #write(values: [Key, S][], also: [Key, unknown][] = []): Promise<void> {
    if (values.length === 0 && also.length === 0) return;
    const kv = await this.#open();
    const muts: [Key, unknown][] = [...also];
    for (const [key, s] of values) {
      const bytes = new TextEncoder().encode(JSON.stringify(this.#fold.toJson(s)));
      const parts = Math.max(1, Math.ceil(bytes.length / PART));
      for (let i = 0; i < parts; i++) {
        const p = bytes.slice(i * PART, (i + 1) * PART);
        muts.push([[...key, i], i === 0 ? { parts, bytes: p } : p]);
      }
    }
    let op = kv.atomic();
    let n = 0;
    let size = 0;
    const commit = async () => {
      if (n > 0 && !(await op.commit()).ok) throw new Error(`BlockSummaries: commit to ${this.path} failed`);
      op = kv.atomic();
      n = size = 0;
    };
    for (const [key, v] of muts) {
      const len = v instanceof Uint8Array ? v.length : PART;
      if (n >= COMMIT_OPS || size + len > COMMIT_BYTES) await commit();
      op.set(key, v);
      n++;
      size += len;
    }
    await commit();
    this.#unsynced = true;
  }

  /** A stored or pending block's summary (throws when the tree lacks it: the file was damaged). */
  async #block(b: SummaryBlock): Promise<S> {
    const s = this.#pending.get(id(b))?.s ?? await this.#read(blockKey(this.epoch, b));
    if (s === undefined) throw new Error(`${this.path}: block ${id(b)} is missing`);
    return s;
  }

  /** The summary of the open chunk for the summary file (`open_chunk`); undefined at a chunk's end. */
  openChunk(): S | undefined {
    return this.#upto % this.#c === 0 ? undefined : this.#chunk;
  }

  /** Folds item `seq` (the next one; `entry` undefined when this client cannot open it) into the open chunk. */
  async item(seq: number, entry: OverlayEntry | undefined): Promise<void> {
    if (seq !== this.#upto + 1) throw new Error(`BlockSummaries: item ${seq} after ${this.#upto}`);
    const chunk = this.#chunk;
    if (entry !== undefined) this.#fold.apply(chunk, entry);
    this.#upto = seq;
    for (const b of blocksEndingAt(seq, this.#c)) {
      let s: S;
      if (b.level === 0) {
        s = chunk;
        this.#chunk = this.#fold.empty();
      } else {
        const [l, r] = blockChildren(b);
        s = this.#fold.merge(await this.#block(l), await this.#block(r));
      }
      this.#pending.set(id(b), { b, s });
    }
    if (this.#pending.size >= PENDING) await this.#writePending();
  }

  async #writePending(also: [Key, unknown][] = []): Promise<void> {
    const blocks = [...this.#pending.values()].map(({ b, s }): [Key, S] => [blockKey(this.epoch, b), s]);
    await this.#write(blocks, also);
    this.#pending.clear();
  }

  /**
   * Makes the tree up to `upto` (the summary about to be saved) durable: the pending blocks and the epoch marker.
   * A save that completed no block since the last one, of a marked epoch, does not open the file.
   */
  async flush(upto: number): Promise<void> {
    if (upto !== this.#upto) throw new Error(`BlockSummaries.flush(${upto}) at ${this.#upto}`);
    await this.#writePending(this.#marked ? [] : [[["epoch", this.epoch], true]]);
    if (this.#unsynced) await syncFiles([this.path, `${this.path}-wal`]);
    this.#unsynced = false;
    this.#marked = true;
  }

  /**
   * The fold's summary of the items `(from, upto]` (upto at most the last item folded): the stored blocks of its
   * plan merged with the fold of its partial chunks, which `fetch` supplies (fewer than 2C items; the open chunk
   * is used as it is when the range ends at the last item folded).
   */
  async range(from: number, upto: number, fetch: (r: ItemRange) => Promise<OverlayEntry[]>): Promise<S> {
    if (upto > this.#upto) {
      throw new RangeError(`Range (${from}, ${upto}] is beyond the fold (${this.#upto})`);
    }
    const plan = planRange(from, upto, this.#c);
    const fold = this.#fold;
    this.reads.ranges++;
    const part = async (r: ItemRange | undefined): Promise<S> => {
      const s = fold.empty();
      if (r === undefined) return s;
      if (r.upto === this.#upto && r.from === this.#upto - (this.#upto % this.#c)) return this.#chunk;
      const entries = await fetch(r);
      this.reads.fetched += r.upto - r.from;
      for (const e of entries) fold.apply(s, e);
      return s;
    };
    let s: S = await part(plan.head);
    for (const b of plan.blocks) {
      s = fold.merge(s, await this.#block(b));
      this.reads.blocks++;
    }
    return fold.merge(s, await part(plan.tail));
  }

  close(): void {
    this.#kv?.close();
    this.#kv = undefined;
  }
}

/**
 * The entries of stream items `(r.from, r.upto]` this client can open, each item verified as the cursor verifies
 * its own (cli/view_sync.ts): a view at r.from from the hub's signed RECEIPT and proof, every item checked and
 * appended, and the result proved a prefix of `view` (the cursor's verified view, of at least r.upto items).
 */
export async function pastEntries(
  session: HubSession,
  label: Uint8Array,
  view: MmrAccumulator,
  secrets: readonly Uint8Array[],
  r: ItemRange,
): Promise<OverlayEntry[]> {
  const ctx = itemContext(session, label);
  const items: StreamItem[] = [];
  const start = r.from === 0
    ? new MmrAccumulator()
    : await jumpView(session.http, ctx, new MmrAccumulator(), r.from);
  const got = await extendView(session.http, ctx, start, r.upto, {
    onItem: (it) => items.push(it),
    maxItems: Infinity,
  });
  if (!(await provesPrefix(session.http, label, r.upto, got.root()!, view.size, view.root()!))) {
    throw new VeenError(
      "E.SEQ",
      `Hub cannot prove that its items up to stream_seq ${r.upto} are a prefix of the verified view at ${view.size}`,
    );
  }
  const out: OverlayEntry[] = [];
  for (const it of items) {
    const e = await openEntry(it, session.profile, secrets);
    if (e !== undefined) out.push(e);
  }
  return out;
}
