/**
 * The vocabulary every overlay fold shares (spec 001 complexity contract: "every schema that defines folding MUST
 * define a summary type S and a deterministic merge(S_left, S_right) -> S").
 *
 * - An `OverlayEntry` is one verified, opened stream item: its position, its sender and its payload.
 * - A `Fold<S>` turns entries of one schema into a summary `S`. `apply(s, e)` is the streaming form of
 *   `merge(s, summary of e alone)`, so a summary of a range can be built item by item or from sub-range summaries.
 * - `RangeSummary<S>` tags a summary with the stream_seq range it covers, `(from, upto]`, and only merges adjacent
 *   ranges, so folds whose merge is not idempotent (the G-counter sums) can never count an item twice.
 *
 * Folds are pure: no I/O, no clock, no randomness. Entries a fold cannot parse are rejected (skipped, counted by
 * the caller) rather than aborting the fold, so one malformed writer cannot stop every reader.
 */
import { bytesEqual, type PayloadHdr } from "../core/mod.ts";

/** One verified stream item this client could open (spec 004 §9 Receive, after every check passed). */
export interface OverlayEntry {
  /** RECEIPT.stream_seq. */
  seq: number;
  /** RECEIPT.leaf_hash = msg_id. */
  msgId: Uint8Array;
  /** MSG.client_id of the sender (signed by MSG.sig). */
  clientId: Uint8Array;
  /** RECEIPT.hub_ts (Unix seconds). */
  hubTs: number;
  /** MSG.auth_ref, when the reader knows it (null: none); payload_hdr.cap_ref must equal it (spec-3 §1.3). */
  authRef?: Uint8Array | null;
  hdr: PayloadHdr;
  body: Uint8Array;
}

/** An associative merge with an identity. */
export interface Monoid<S> {
  empty(): S;
  /** Combines the summary of a range with the summary of the range right after it; inputs are not modified. */
  merge(left: S, right: S): S;
}

/** What `Fold.apply` did with one entry. */
export type ApplyResult = "applied" | "ignored" | "rejected";

/** A deterministic fold over entries of one overlay schema. */
export interface Fold<S> extends Monoid<S> {
  /** Schema name, e.g. `crdt.lww.v1` (also names the persisted summary). */
  kind: string;
  /** payload_hdr.schema of the entries it folds (`H(utf8(kind))`). */
  schema: Uint8Array;
  /**
   * Folds one entry (in stream order) into `s`, in place. Entries of other schemas are "ignored"; entries of this
   * schema that do not parse are "rejected"; both leave `s` unchanged.
   */
  apply(s: S, e: OverlayEntry): ApplyResult;
  /**
   * The summary a fold of a whole stream starts from (default `empty()`). Sequential folds whose summaries are
   * state transformers (the wallet fold) start from the constant "state before stream_seq 1".
   */
  start?(): S;
  /** Present when the summary keeps every id it has seen (dedup with no time window); see {@link Dedup}. */
  dedup?: Dedup<S>;
  /** Present when the records the fold keeps live in an index, not in the summary; see {@link IndexedRecords}. */
  indexed?: IndexedRecords<S>;
  /**
   * True when the summary of a range depends only on that range's entries (no `start()`, no `dedup`), so a reader
   * may keep the summaries of aligned blocks of items (overlays/summary_blocks.ts) and answer the summary of any
   * range `(from, upto]` by merging them: the ledger, counter and LWW folds.
   */
  ranges?: boolean;
  /** Deterministic JSON form (for the client's summary file). */
  toJson(s: S): unknown;
  /** Inverse of toJson; throws an Error on any damage. */
  fromJson(v: unknown): S;
}

/**
 * The seen-id set of a deduplicating fold, declared so that a reader can keep it out of the summary (spec 001
 * complexity contract: warm state reads only what is new). `keys(e)` are every key `apply(s, e)` may check or add;
 * `seen(s)` is the state's set of seen keys, which `apply` reads and adds to. Without an index the set simply
 * holds every key (the pure fold); a reader with an index (cli/seen_index.ts) pre-loads into it, before applying
 * `e`, those of `keys(e)` the index holds, and saves the summary without the set.
 */
export interface Dedup<S> {
  keys(e: OverlayEntry): string[];
  /** The set in `s`, or undefined for a summary that has none (a wallet `{events}` range). */
  seen(s: S): Set<string> | undefined;
}

/**
 * The records of a fold that a reader keeps in an index instead of the summary, so that a command reads only the
 * records it asks for (spec 001 complexity contract: lookups O(log n), no load of a whole log). `take(s)` removes
 * from `s` the records folded into it since it was loaded (or last taken) and returns them as rows, in stream
 * order; the summary's JSON then holds only what is bounded (counts). Without an index the state simply keeps
 * every record (the pure fold).
 */
export interface IndexedRecords<S> {
  take(s: S): IndexRow[];
}

/**
 * A key an index row is found under (parts as Deno KV key parts); the row's stream_seq follows it, so a key lists its
 * rows in stream order.
 */
export type IndexKey = readonly (string | number | Uint8Array)[];

/** One record of an indexed fold: its stream_seq, the keys it is found under and its JSON form. */
export interface IndexRow {
  seq: number;
  keys: readonly IndexKey[];
  value: unknown;
}

/** A summary of the stream items `from + 1 .. upto` (empty when from === upto). */
export interface RangeSummary<S> {
  from: number;
  upto: number;
  state: S;
}

/** Lifts a fold's monoid to range summaries: the empty range is the identity, other ranges must be adjacent. */
export function rangeMonoid<S>(m: Monoid<S>): Monoid<RangeSummary<S>> {
  return {
    empty: () => ({ from: 0, upto: 0, state: m.empty() }),
    merge(left, right) {
      if (left.from === left.upto) return right;
      if (right.from === right.upto) return left;
      if (left.upto !== right.from) {
        throw new RangeError(
          `Cannot merge the summary of (${left.from}, ${left.upto}] with the one of (${right.from}, ${right.upto}]`,
        );
      }
      return { from: left.from, upto: right.upto, state: m.merge(left.state, right.state) };
    },
  };
}

/** The range summary of `entries` (ascending seq, all within `(from, upto]`). */
export function foldRange<S>(
  fold: Fold<S>,
  from: number,
  upto: number,
  entries: readonly OverlayEntry[],
): RangeSummary<S> {
  const state = fold.empty();
  for (const e of entries) {
    if (e.seq <= from || e.seq > upto) throw new RangeError(`Entry ${e.seq} is outside (${from}, ${upto}]`);
    fold.apply(state, e);
  }
  return { from, upto, state };
}

/** An entry's body decoded as an op of one schema, or why it was not: another schema, or a body that does not parse. */
export type EntryOp<T> = { kind: "op"; op: T } | { kind: "ignored" } | { kind: "rejected"; reason: string };

/** The first step of every `apply`: entries of another schema are "ignored", bodies `decode` throws on "rejected". */
export function decodeEntry<T>(
  e: OverlayEntry,
  schema: Uint8Array,
  decode: (body: Uint8Array) => T,
): EntryOp<T> {
  if (!bytesEqual(e.hdr.schema, schema)) return { kind: "ignored" };
  try {
    return { kind: "op", op: decode(e.body) };
  } catch (err) {
    return { kind: "rejected", reason: err instanceof Error ? err.message : String(err) };
  }
}

// ---- small shared helpers for fold codecs ----

/** The entries of `m` in ascending key order (the deterministic order of every `toJson`). */
export function sortedEntries<V>(m: ReadonlyMap<string, V>): [string, V][] {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Throws a plain Error (summary damage is not a protocol error; callers discard the summary). */
export function damaged(what: string): never {
  throw new Error(`overlay summary: ${what}`);
}

/** A JSON object (not an array or null). */
export function jsonObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) damaged(`${what} is not an object`);
  return v as Record<string, unknown>;
}

/** A JSON array. */
export function jsonArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) damaged(`${what} is not an array`);
  return v;
}

/** A non-negative safe integer. */
export function jsonUint(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) damaged(`${what} is not a uint`);
  return v;
}

/** Lower-case hex of `n` bytes (any length when n is undefined). */
export function jsonHex(v: unknown, what: string, n?: number): string {
  if (typeof v !== "string" || !/^([0-9a-f]{2})*$/.test(v) || (n !== undefined && v.length !== 2 * n)) {
    damaged(`${what} is not hex${n === undefined ? "" : ` of ${n} bytes`}`);
  }
  return v;
}
