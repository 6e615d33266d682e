/**
 * Incremental, verified overlay folds for the client (spec 004 §24-25 over §9 Receive; spec 001 complexity
 * contract: no rescans). A cursor reads a label from where its summary stopped, verifies every item exactly as
 * `veen stream --with-proof` does (hub_sig, MSG checks, leaf binding, inclusion proof, contiguity, and the MMR root
 * by appending to the summary's own view), opens what this client can decrypt and hands the entries to a fold.
 *
 * Summary file `DIR/overlays/<hub_id>-<label>-<kind>.json` (0600, atomic tmp+fsync+rename), one per (hub, label,
 * fold):
 * ```
 * {"format":"veen-overlay-summary","version":3,"kind":"crdt.lww.v1","hub_id":HEX32,"label":HEX32,
 *  "stream":NAME,"upto_seq":N,"mmr_root":HEX32|null,"mmr_peaks":[HEX32,...],"state":<fold JSON>,
 *  "index_epoch":HEX16,"open_chunk":<fold JSON>}
 * ```
 * (`index_epoch` for folds with an index or block summaries; `open_chunk` for a `ranges` fold whose upto_seq is
 * inside a chunk: the summary of that chunk's items so far.)
 * `state` is the fold's summary of stream items 1..upto_seq and `mmr_root`/`mmr_peaks` the verified MMR of that
 * prefix. On open, the hub's signed RECEIPT at upto_seq must carry the same root; otherwise (the hub's history no
 * longer extends the summary, or the file is damaged) the summary is discarded with a warning and the fold starts
 * again from stream_seq 1. Summaries of earlier versions are discarded the same way: version 1 was folded when
 * bodies in RFC 8949 key order still parsed, which the spec order of overlay bodies now rejects (docs/overlays.md);
 * version 2 held the seen sets of deduplicating folds in `state`.
 *
 * A deduplicating fold (`fold.dedup`: the wallet's transfer_ids and parent_ids, the ID layer's origins) keeps its
 * seen keys out of `state`, in the index `<summary name>.kv` of epoch `index_epoch` (cli/seen_index.ts): a warm
 * read looks up only the keys its new entries carry. An indexed fold (`fold.indexed`: the operation log) keeps
 * its records out of `state` the same way, in the record index `<summary name>.kv` of epoch `index_epoch`
 * (cli/record_index.ts), which commands read by key (`records`).
 * A fold with `ranges` (the ledger, counter and LWW folds) also keeps the summaries of aligned blocks of items in
 * `<summary name>.blocks.kv` of the same epoch (cli/block_summaries.ts), from which `range(from, upto)` answers
 * the summary of any range with O(log n) stored blocks and fewer than 2C items fetched; the chunk being folded
 * travels in the summary (`open_chunk`), so a save that completes no chunk does not open that file.
 * Summaries hold decrypted data: they stay in the private client directory.
 */
import { bytesEqual, fromHex, MmrAccumulator, popcount, toHex, VeenError } from "../core/mod.ts";
import { CHUNK_ITEMS, type Fold, type OverlayEntry } from "../overlays/mod.ts";
import { checkReceipt, type ItemContext, storedRootMatches } from "./client_view.ts";
import { blocksPath, BlockSummaries, pastEntries } from "./block_summaries.ts";
import { openEntry } from "./decrypt.ts";
import { ensurePrivateDir, writeFileAtomic } from "./files.ts";
import { RecordIndex } from "./record_index.ts";
import { newEpoch, SeenIndex, withoutSeen } from "./seen_index.ts";
import { type HubSession, itemContext, type StreamTarget } from "./hub_session.ts";
import { applyItem, fetchItems } from "./view_sync.ts";

export const OVERLAY_DIR = "overlays";
const FORMAT = "veen-overlay-summary";
/**
 * 2 since overlay bodies are read in the spec's key order (a version 1 summary may count bodies that now fail); 3
 * since seen sets live in the index.
 */
const VERSION = 3;

/** Path of the summary of `kind` for (hub, label) in client directory `dir`. */
export function summaryPath(dir: string, hubId: Uint8Array, label: Uint8Array, kind: string): string {
  return `${dir}/${OVERLAY_DIR}/${toHex(hubId)}-${toHex(label)}-${kind}.json`;
}

/** Path of the index of the summary at `summary` (a deduplicating fold's seen keys, an indexed fold's records). */
export function indexPath(summary: string): string {
  return summary.replace(/\.json$/, ".kv");
}

interface Loaded<S> {
  view: MmrAccumulator;
  state: S;
  /** The index epoch of a deduplicating, indexed or `ranges` fold's summary. */
  epoch?: string;
  /** A `ranges` fold's summary of its open chunk (items after the last chunk end), when upto_seq is inside one. */
  openChunk?: S;
}

const isHex32 = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);

/** Reads and checks a summary file: undefined when absent, a reason string when damaged or for another target. */
async function readSummary<S>(
  path: string,
  fold: Fold<S>,
  hubId: Uint8Array,
  label: Uint8Array,
): Promise<Loaded<S> | string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    return `unreadable (${e instanceof Error ? e.message : e})`;
  }
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (o.format === FORMAT && o.version === 1) {
      return "version 1, folded before bodies were read in spec key order";
    }
    if (o.format === FORMAT && o.version === 2) return "version 2, seen sets in the summary";
    if (o.format !== FORMAT || o.version !== VERSION || o.kind !== fold.kind) return "wrong format or kind";
    if (o.hub_id !== toHex(hubId) || o.label !== toHex(label)) return "for another hub or label";
    const upto = o.upto_seq;
    if (typeof upto !== "number" || !Number.isSafeInteger(upto) || upto < 0) return "bad upto_seq";
    const peaks = o.mmr_peaks;
    if (!Array.isArray(peaks) || !peaks.every(isHex32) || peaks.length !== popcount(upto)) {
      return "bad mmr_peaks";
    }
    const view = new MmrAccumulator(upto, peaks.map((p) => fromHex(p, 32)));
    if (!storedRootMatches(view, o.mmr_root as string | null)) {
      return "mmr_root is not the root of mmr_peaks";
    }
    const state = fold.fromJson(o.state);
    if (fold.dedup === undefined && fold.indexed === undefined && fold.ranges !== true) {
      return { view, state };
    }
    if (o.index_epoch === undefined && fold.ranges === true) {
      return "without index_epoch (saved before its block summaries were kept)";
    }
    if (typeof o.index_epoch !== "string" || !/^[0-9a-f]{32}$/.test(o.index_epoch)) return "bad index_epoch";
    if (fold.ranges !== true || upto % CHUNK_ITEMS === 0) return { view, state, epoch: o.index_epoch };
    if (o.open_chunk === undefined) return "without its open chunk (saved before the summary held it)";
    return { view, state, epoch: o.index_epoch, openChunk: fold.fromJson(o.open_chunk) };
  } catch (e) {
    return `damaged (${e instanceof Error ? e.message : e})`;
  }
}

/** Why the hub's history does not extend the summary at `view`, or undefined when it does. */
async function divergence(
  session: HubSession,
  label: Uint8Array,
  view: MmrAccumulator,
): Promise<string | undefined> {
  if (view.size === 0) return undefined;
  let receipt;
  try {
    ({ receipt } = await session.http.receipt(label, view.size));
  } catch (e) {
    if (e instanceof VeenError && e.code === "E.NOT_FOUND") return `the hub has no stream_seq ${view.size}`;
    throw e;
  }
  checkReceipt(receipt, session.hubPk, label);
  if (receipt.streamSeq !== view.size) {
    return `the hub answered stream_seq ${receipt.streamSeq} for ${view.size}`;
  }
  if (!bytesEqual(receipt.mmrRoot, view.root()!)) {
    return `the hub's mmr_root at stream_seq ${view.size} is not the summary's`;
  }
  return undefined;
}

export interface CursorOptions<S> {
  session: HubSession;
  target: StreamTarget;
  /** Client directory. */
  dir: string;
  /** HPKE secrets to open payloads with. */
  secrets: readonly Uint8Array[];
  fold: Fold<S>;
  /** Ignore any stored summary and fold from stream_seq 1. */
  refold?: boolean;
  warn?: (msg: string) => void;
  /**
   * Runs before each entry is applied, new or read again for a range (e.g. to fetch what a fold's lookups need, so
   * that apply stays synchronous and pure).
   */
  before?: (e: OverlayEntry) => Promise<void>;
}

/** A fold position on one label: the summary state and the verified MMR view it covers. */
export class OverlayCursor<S> {
  state: S;
  view: MmrAccumulator;
  /** upto_seq of the summary the cursor resumed from (0 when it started from scratch). */
  readonly resumedFrom: number;
  /** Why a stored summary was discarded, if one was. */
  readonly discarded: string | undefined;
  /** Stream items fetched (and verified) by this cursor. */
  fetched = 0;
  /** Items this client could not open (sealed to someone else). */
  opaque = 0;
  /** The seen-key index of a deduplicating fold. */
  readonly index: SeenIndex | undefined;
  /** The record index of an indexed fold, covering the summary on disk. */
  readonly records: RecordIndex | undefined;
  /** The block summaries of a `ranges` fold. */
  readonly blocks: BlockSummaries<S> | undefined;
  readonly #o: CursorOptions<S>;
  readonly #path: string;
  #dirty: boolean;
  #poisoned = false;
  /** upto_seq of the summary on disk: index keys tagged above it are not covered by it. */
  #savedUpto: number;

  private constructor(o: CursorOptions<S>, path: string, loaded: Loaded<S> | undefined, discarded?: string) {
    this.#o = o;
    this.#path = path;
    this.state = loaded?.state ?? o.fold.start?.() ?? o.fold.empty();
    this.view = loaded?.view ?? new MmrAccumulator();
    this.resumedFrom = loaded?.view.size ?? 0;
    this.#savedUpto = this.resumedFrom;
    this.discarded = discarded;
    this.#dirty = discarded !== undefined;
    const epoch = loaded?.epoch ?? newEpoch();
    this.index = o.fold.dedup === undefined
      ? undefined
      : new SeenIndex(indexPath(path), epoch, loaded !== undefined);
    this.records = o.fold.indexed === undefined
      ? undefined
      : new RecordIndex(indexPath(path), epoch, loaded === undefined ? undefined : this.resumedFrom);
    this.blocks = o.fold.ranges === true
      ? new BlockSummaries(blocksPath(path), o.fold, epoch, loaded?.view.size, loaded?.openChunk)
      : undefined;
  }

  /** The hub session the cursor reads from. */
  get session(): HubSession {
    return this.#o.session;
  }

  /** The label the cursor folds. */
  get label(): Uint8Array {
    return this.#o.target.label;
  }

  /** Loads the summary (checked against the hub) or starts empty. */
  static async open<S>(o: CursorOptions<S>): Promise<OverlayCursor<S>> {
    const path = summaryPath(o.dir, o.session.hubId, o.target.label, o.fold.kind);
    if (o.refold === true) return new OverlayCursor(o, path, undefined, "--refold");
    const got = await readSummary(path, o.fold, o.session.hubId, o.target.label);
    if (got === undefined) return new OverlayCursor(o, path, undefined);
    let why = typeof got === "string"
      ? `summary ${got}`
      : got.epoch !== undefined && (o.fold.dedup !== undefined || o.fold.indexed !== undefined) &&
          !(await SeenIndex.holds(indexPath(path), got.epoch))
      ? `its ${o.fold.dedup === undefined ? "record" : "seen-key"} index is missing`
      : got.epoch !== undefined && o.fold.ranges === true &&
          !(await BlockSummaries.holds(blocksPath(path), got.epoch))
      ? "its block summaries are missing"
      : await divergence(o.session, o.target.label, got.view);
    if (why === undefined && typeof got !== "string") return new OverlayCursor(o, path, got);
    why ??= "unknown";
    o.warn?.(
      `discarding the ${o.fold.kind} summary of ${o.target.stream} (${why}); folding from stream_seq 1`,
    );
    return new OverlayCursor(o, path, undefined, why);
  }

  /**
   * The entries after the cursor, verified and opened, until the hub has no more, each after the options' `before`.
   * Each item is appended to the view before its entry is yielded: the consumer must fold every entry it receives
   * before saving.
   */
  async *entries(): AsyncGenerator<OverlayEntry> {
    const ictx: ItemContext = itemContext(this.#o.session, this.#o.target.label);
    try {
      yield* this.#entries(ictx);
    } finally {
      this.index?.close();
      this.blocks?.close();
    }
  }

  async *#entries(ictx: ItemContext): AsyncGenerator<OverlayEntry> {
    const { session, target, secrets, fold } = this.#o;
    for await (
      const item of fetchItems(session.http, target.label, this.view.size + 1, { withProof: true })
    ) {
      this.fetched++;
      try {
        applyItem(this.view, item, ictx);
      } catch (e) {
        this.#poisoned = true; // the view now holds a rejected leaf
        throw e;
      }
      this.#dirty = true;
      const entry = await openEntry(item, session.profile, secrets);
      // Before the block summaries fold the entry too: their apply reads the same lookups.
      if (entry !== undefined) await this.#o.before?.(entry);
      try {
        await this.blocks?.item(item.receipt.streamSeq, entry);
      } catch (e) {
        this.#poisoned = true; // the view is ahead of the block summaries
        throw e;
      }
      if (entry === undefined) {
        this.opaque++;
        continue;
      }
      await this.#preload(fold, entry);
      yield entry;
    }
  }

  /** Pre-loads into the state's seen set the keys `e` carries that the index holds (a deduplicating fold). */
  async #preload(fold: Fold<S>, e: OverlayEntry): Promise<void> {
    const seen = fold.dedup?.seen(this.state);
    if (this.index === undefined || seen === undefined) return;
    await this.index.preload(fold.dedup!.keys(e), seen, this.#savedUpto);
  }

  /** Folds every new entry with `fold.apply` (`entries` ran the options' `before`), saves, and returns what it did. */
  async catchUp(): Promise<{ applied: number; ignored: number; rejected: number }> {
    const counts = { applied: 0, ignored: 0, rejected: 0 };
    for await (const e of this.entries()) {
      counts[this.#o.fold.apply(this.state, e)]++;
    }
    await this.save();
    return counts;
  }

  /**
   * Writes the summary atomically when it changed (never after a failed verification); for a deduplicating fold
   * the keys added since the last save go to the index first (cli/seen_index.ts), and `state` is saved without them;
   * for an indexed fold the records folded since the last save are taken out of `state` into the record index
   * first (cli/record_index.ts).
   */
  async save(): Promise<void> {
    if (this.#poisoned) throw new Error("OverlayCursor.save: the view failed verification");
    if (!this.#dirty) return;
    const { dir, session, target, fold } = this.#o;
    await ensurePrivateDir(`${dir}/${OVERLAY_DIR}`);
    // The record index first: a new epoch's write replaces the file both indexes share.
    if (this.records !== undefined) await this.records.write(fold.indexed!.take(this.state), this.view.size);
    const seen = fold.dedup?.seen(this.state);
    if (this.index !== undefined && seen !== undefined) {
      try {
        await this.index.flush(seen, this.view.size);
      } finally {
        this.index.close();
      }
    }
    try {
      await this.blocks?.flush(this.view.size);
    } finally {
      this.blocks?.close();
    }
    const root = this.view.root();
    const epoch = (this.index ?? this.records ?? this.blocks)?.epoch;
    const open = this.blocks?.openChunk();
    const doc = {
      format: FORMAT,
      version: VERSION,
      kind: fold.kind,
      hub_id: toHex(session.hubId),
      label: toHex(target.label),
      stream: target.stream,
      upto_seq: this.view.size,
      mmr_root: root === undefined ? null : toHex(root),
      mmr_peaks: this.view.peaks().map(toHex),
      state: this.index === undefined
        ? fold.toJson(this.state)
        : withoutSeen(seen, () => fold.toJson(this.state)),
      ...(epoch === undefined ? {} : { index_epoch: epoch }),
      ...(open === undefined ? {} : { open_chunk: fold.toJson(open) }),
    };
    await writeFileAtomic(this.#path, JSON.stringify(doc) + "\n", 0o600);
    this.#savedUpto = this.view.size;
    if (this.records !== undefined) this.records.covered = this.view.size;
    this.#dirty = false;
  }

  /**
   * The fold's summary of stream items `(from, upto]` (upto at most upto_seq) from the block summaries of a
   * `ranges` fold: O(log n) stored blocks, and fewer than 2C items fetched and verified (cli/block_summaries.ts).
   */
  async range(from: number, upto: number): Promise<S> {
    const { session, target, secrets, fold, before } = this.#o;
    if (this.blocks === undefined) throw new Error(`Fold ${fold.kind} keeps no block summaries`);
    try {
      return await this.blocks.range(from, upto, async (r) => {
        const es = await pastEntries(session, target.label, this.view, secrets, r);
        if (before !== undefined) { for (const e of es) await before(e); }
        return es;
      });
    } finally {
      this.blocks.close();
    }
  }

  /** The fold statistics every overlay command reports. */
  stats(): Record<string, number | boolean | string> {
    return {
      upto_seq: this.view.size,
      resumed_from: this.resumedFrom,
      fetched: this.fetched,
      opaque: this.opaque,
      refolded: this.discarded !== undefined,
      ...(this.index === undefined ? {} : { index_lookups: this.index.lookups }),
      ...(this.records === undefined ? {} : { index_reads: this.records.reads }),
      ...(this.blocks === undefined || this.blocks.reads.ranges === 0
        ? {}
        : { range_blocks: this.blocks.reads.blocks, range_fetched: this.blocks.reads.fetched }),
    };
  }
}
