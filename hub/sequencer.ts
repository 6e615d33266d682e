/**
 * The commit stage (OP0.1 step 5-7, 003 §3.4.1): per-label MMR append with constant-time checks against in-memory
 * cursors, receipt signing, and group commit. Sequencing is synchronous per submission, so checks and append are
 * atomic. Each RECEIPT digest goes to the crypto worker as soon as its entry is sequenced, so signatures are
 * ready by the time the entry's batch is cut; durability is batched: the batch is handed to the store (log write,
 * fdatasync) and its RECEIPTs are released only when that resolves. A failed commit poisons the sequencer (the
 * in-memory view is ahead of disk), so every later submission gets E.UNAVAILABLE until the process restarts and
 * recovers from the log.
 */
import {
  asVeenError,
  bytesEqual,
  draftDigest,
  draftReceipt,
  leafHash as leafHashOf,
  MmrAccumulator,
  type Msg,
  type Receipt,
  sealReceipt,
  toHex,
  VeenError,
} from "../core/mod.ts";
import { checkClientKeyBounds, type ClientKeyBounds, nextFirstSeen } from "./client_key_bounds.ts";
import type { CryptoPool } from "./crypto_pool.ts";
import type { RateGate } from "./rate_limit.ts";
import { Failed, Gather, One, type Slots } from "./slots.ts";
import { type AcceptedEntry, clientKey, type CommitEntry, type HubStore } from "./store.ts";
import type { Metrics } from "./metrics.ts";

interface Pending {
  entry: CommitEntry;
  /** label hex || client_id hex: the key of the entry's client cursor. */
  ckey: string;
  /** The RECEIPT's draft (core/receipt.ts `draftReceipt`), sealed with its signature; unused when replicated. */
  draft: Uint8Array;
  /**
   * The RECEIPT signatures of the entry's run (slot `k`), requested from the crypto workers as soon as the entry is
   * sequenced; undefined for a replicated entry, whose `entry.receipt` is already the primary's RECEIPT bytes.
   */
  sigs: Gather<Uint8Array> | undefined;
  /** Where the entry's RECEIPT goes (slot `k`) once its batch is durable. */
  receipts: Slots<Uint8Array>;
  k: number;
}

interface ClientCursor {
  seq: number;
  /** KEX1+ first_seen on the label (null: no MSG yet, or unknown for an old index row). */
  firstSeen: number | null;
  /** False while the cursor's last entry is not yet durable (the index may not know it); never evicted then. */
  durable: boolean;
  /** The client's entries sequenced but not yet durable, by client_seq (the index does not know them yet). */
  pending: Map<number, AcceptedEntry> | undefined;
}

export interface SequencerOptions {
  batchMax: number;
  batchWaitMs: number;
  queueMax: number;
  /** Called once after a failed commit. */
  onFatal: (e: unknown) => void;
  /** Client cursors kept in memory (default 200 000); only durable ones are evicted. */
  clientCacheMax?: number;
  /** Called after each durable batch with the labels it touched. */
  onCommitted?: (entries: CommitEntry[]) => void;
  /** KEX1+ client key usage bounds, checked against the cursor after the sequence checks (unset: none). */
  clientKeyBounds?: ClientKeyBounds;
  /** Bulk MSGs on their way to the sequencer (/submit_batch items in stage 2), for the group commit delay. */
  upstream?: () => number;
}

/** A MSG the sequencer has appended: its stream_seq, and its RECEIPT once the entry is durable (the commit). */
export interface Sequenced {
  streamSeq: number;
  receipt: Promise<Uint8Array>;
}

/**
 * The MSGs of one `sequenceMany` call, by index: the stream_seq assigned (undefined when refused), and one promise
 * for all their RECEIPTs, each slot holding the RECEIPT once its entry is durable or, as `Failed`, the VeenError
 * that refused it (at sequencing or at its commit).
 */
export interface SequencedRun {
  streamSeqs: (number | undefined)[];
  receipts: Promise<(Uint8Array | Failed)[]>;
}

const CLIENT_CACHE_MAX = 200_000;
const EMPTY = new Uint8Array(0);
const MAX_BATCHES_IN_FLIGHT = 2;

export class Sequencer {
  private readonly accs = new Map<string, MmrAccumulator>();
  private readonly clients = new Map<string, ClientCursor>();
  private pending: Pending[] = [];
  private committing = false;
  private failed: unknown = undefined;
  private drained: Promise<void> = Promise.resolve();
  private drainResolve: (() => void) | undefined;

  constructor(
    private readonly store: HubStore,
    private readonly crypto: CryptoPool,
    private readonly metrics: Metrics,
    private readonly opts: SequencerOptions,
  ) {
    for (const h of store.heads()) this.accs.set(toHex(h.label), new MmrAccumulator(h.seq, h.peaks));
  }

  /** Submissions accepted but not yet durable. */
  get depth(): number {
    return this.pending.length;
  }

  get healthy(): boolean {
    return this.failed === undefined;
  }

  private acc(labelHex: string): MmrAccumulator {
    let a = this.accs.get(labelHex);
    if (a === undefined) {
      a = new MmrAccumulator();
      this.accs.set(labelHex, a);
    }
    return a;
  }

  /** sequence() and its commit: resolves, once durable, with the RECEIPT bytes and the stream_seq assigned. */
  async submit(
    msg: Msg,
    msgBytes: Uint8Array,
    gate: RateGate | undefined,
    nowMs: number,
  ): Promise<{ receipt: Uint8Array; streamSeq: number }> {
    const s = await this.sequence(msg, msgBytes, gate, nowMs);
    return { receipt: await s.receipt, streamSeq: s.streamSeq };
  }

  /**
   * The sequence and rate stage (OP0.1 steps 4-5): checks client_seq and prev_ack against the cursors (E.DUP,
   * E.SEQ), then the KEX1+ client key bounds against the cursor (E.AUTH, hub/client_key_bounds.ts), then takes the
   * rate token from `gate` (E.RATE; a refused MSG takes none and no seq), then appends. Resolves with
   * the stream_seq assigned; its `receipt` resolves once the entry's batch is durable (E.UNAVAILABLE if the commit
   * fails). E.UNAVAILABLE also for a full commit queue or a poisoned sequencer.
   */
  async sequence(
    msg: Msg,
    msgBytes: Uint8Array,
    gate: RateGate | undefined,
    nowMs: number,
  ): Promise<Sequenced> {
    const ckey = await this.admitAndWarm(msg);
    const prior = msg.clientSeq <= this.clients.get(ckey)!.seq ? await this.priorOf(msg, ckey) : undefined;
    this.checkHealthy();
    const receipt = new One<Uint8Array>();
    const sigs = new Gather<Uint8Array>(1);
    const streamSeq = this.append(msg, msgBytes, gate, nowMs, ckey, prior, sigs, receipt, 0);
    return { streamSeq, receipt: receipt.done };
  }

  /**
   * `sequence` for the MSGs of one `/submit_batch` request, in order: cursors are warmed first, then every MSG is
   * checked and appended in one synchronous run, so no other submission comes between them and they reach the
   * commit queue together (one group commit when they fit `batch_max`). A MSG refused here (its VeenError in the
   * result) takes no seq, and a later MSG of the same client then fails E.SEQ as it would on `/submit`.
   */
  async sequenceMany(
    items: readonly { msg: Msg; msgBytes: Uint8Array; gate: RateGate | undefined }[],
    nowMs: number,
  ): Promise<SequencedRun> {
    const n = items.length;
    const ckeys: (string | VeenError)[] = new Array(n);
    const priors: (AcceptedEntry | undefined)[] = new Array(n);
    let prev: Msg | undefined;
    for (let i = 0; i < n; i++) {
      const msg = items[i]!.msg;
      try {
        // A batch is mostly one client's: its cursor key is made once (the cursors are warm: no await).
        const ckey = prev !== undefined && sameClient(prev, msg)
          ? ckeys[i - 1] as string
          : clientKey(msg.label, msg.clientId);
        if (!this.clients.has(ckey)) await this.warm(msg, ckey);
        ckeys[i] = ckey;
        prev = msg;
        if (msg.clientSeq <= this.clients.get(ckey)!.seq) priors[i] = await this.priorOf(msg, ckey);
      } catch (e) {
        ckeys[i] = asVeenError(e, "E.UNAVAILABLE", "Internal error");
        prev = undefined;
      }
    }
    // ---- one synchronous run: the batch's MSGs are sequenced back to back ----
    const streamSeqs: (number | undefined)[] = new Array(n);
    const sigs = new Gather<Uint8Array>(n);
    const receipts = new Gather<Uint8Array>(n);
    for (let i = 0; i < n; i++) {
      const it = items[i]!;
      const ckey = ckeys[i]!;
      try {
        if (ckey instanceof VeenError) throw ckey;
        this.checkHealthy();
        this.checkQueue();
        streamSeqs[i] = this.append(it.msg, it.msgBytes, it.gate, nowMs, ckey, priors[i], sigs, receipts, i);
      } catch (e) {
        const err = asVeenError(e, "E.UNAVAILABLE", "Internal error");
        sigs.fail(i, err);
        receipts.fail(i, err);
      }
    }
    return { streamSeqs, receipts: receipts.done };
  }

  /** The entry this client already has at msg.client_seq (pending or indexed), when the cursor is past it. */
  private async priorOf(msg: Msg, ckey: string): Promise<AcceptedEntry | undefined> {
    if (msg.clientSeq > this.clients.get(ckey)!.seq) return undefined;
    return this.clients.get(ckey)!.pending?.get(msg.clientSeq) ??
      await this.store.accepted(msg.label, msg.clientId, msg.clientSeq);
  }

  /**
   * The synchronous critical section of `sequence`: checks and append are atomic per label. The RECEIPT's signature
   * goes to slot `k` of `sigs`, the RECEIPT itself, once durable, to slot `k` of `receipts`. Returns the stream_seq.
   */
  private append(
    msg: Msg,
    msgBytes: Uint8Array,
    gate: RateGate | undefined,
    nowMs: number,
    ckey: string,
    prior: AcceptedEntry | undefined,
    sigs: Gather<Uint8Array>,
    receipts: Slots<Uint8Array>,
    k: number,
  ): number {
    const labelHex = ckey.slice(0, 64);
    const leaf = leafHashOf(msg);
    const cursor = this.clients.get(ckey) ?? this.setClient(ckey, 0, null);
    if (msg.clientSeq <= cursor.seq) {
      prior ??= cursor.pending?.get(msg.clientSeq);
      if (prior !== undefined && bytesEqual(prior.leafHash, leaf)) {
        throw new VeenError("E.DUP", `Message already accepted as stream_seq ${prior.streamSeq}`);
      }
      throw new VeenError(
        "E.SEQ",
        `client_seq ${msg.clientSeq} is not ${cursor.seq + 1} (last accepted ${cursor.seq})`,
      );
    }
    if (msg.clientSeq !== cursor.seq + 1) {
      throw new VeenError("E.SEQ", `client_seq ${msg.clientSeq} skips ahead; expected ${cursor.seq + 1}`);
    }
    const acc = this.acc(labelHex);
    if (msg.prevAck > acc.size) {
      throw new VeenError("E.SEQ", `prev_ack ${msg.prevAck} is ahead of the label's stream_seq ${acc.size}`);
    }
    const hubTs = Math.floor(nowMs / 1000);
    if (this.opts.clientKeyBounds !== undefined) {
      checkClientKeyBounds(this.opts.clientKeyBounds, cursor, hubTs);
    }
    gate?.take(msg.label, nowMs);
    const appended = acc.append(leaf);
    const draft = draftReceipt({
      ver: 1,
      label: msg.label,
      streamSeq: appended.seq,
      leafHash: leaf,
      mmrRoot: appended.root,
      hubTs,
    });
    const firstSeen = nextFirstSeen(msg.clientSeq, cursor.firstSeen, hubTs);
    advance(cursor, msg.clientSeq, firstSeen, { streamSeq: appended.seq, leafHash: leaf });
    const entry: CommitEntry = {
      label: msg.label,
      streamSeq: appended.seq,
      leafHash: leaf,
      clientId: msg.clientId,
      clientSeq: msg.clientSeq,
      authRef: msg.authRef,
      hubTs,
      receipt: EMPTY, // encoded when its batch is cut, from `sig`
      msg: msgBytes,
      newNodes: appended.newNodes,
      peaks: acc.peaks(),
      firstSeen,
      clientKey: ckey,
    };
    this.crypto.signInto(draftDigest(draft), sigs, k);
    this.pending.push({ entry, ckey, draft, sigs, receipts, k });
    this.metrics.queueDepth = this.pending.length;
    if (!this.committing) this.startCommitLoop();
    return appended.seq;
  }

  /**
   * The replication commit path (spec 002 §3, overlay decisions "FED1 / AUTH1", docs/replication.md): appends a
   * primary's entry whose RECEIPT was checked by the caller (hub/replication.ts: hub_sig, I1, I2, authority), with
   * the primary's RECEIPT bytes and without signing one of its own. Atomic with `sequence` on the same label: the
   * entry must continue the label's head (`stream_seq` = size + 1, E.SEQ otherwise) and the root after the append
   * must equal the RECEIPT's mmr_root (E.SEQ otherwise; nothing is appended then). Resolves once durable.
   */
  async appendReplicated(
    receipt: Receipt,
    receiptBytes: Uint8Array,
    msg: Msg,
    msgBytes: Uint8Array,
  ): Promise<void> {
    const ckey = await this.admitAndWarm(msg);
    const labelHex = ckey.slice(0, 64);
    this.checkHealthy();
    // ---- synchronous critical section ----
    const current = this.acc(labelHex);
    if (receipt.streamSeq !== current.size + 1) {
      throw new VeenError(
        "E.SEQ",
        `stream_seq ${receipt.streamSeq} does not continue the label's head (${current.size})`,
      );
    }
    const acc = current.clone();
    const appended = acc.append(receipt.leafHash);
    if (!bytesEqual(appended.root, receipt.mmrRoot)) {
      throw new VeenError(
        "E.SEQ",
        `RECEIPT.mmr_root at stream_seq ${receipt.streamSeq} is not the root after appending its leaf here`,
      );
    }
    this.accs.set(labelHex, acc);
    const cursor = this.clients.get(ckey)!;
    const firstSeen = nextFirstSeen(msg.clientSeq, cursor.firstSeen, receipt.hubTs);
    advance(cursor, Math.max(cursor.seq, msg.clientSeq), firstSeen, undefined);
    (cursor.pending ??= new Map()).set(msg.clientSeq, {
      streamSeq: appended.seq,
      leafHash: receipt.leafHash,
    });
    const entry: CommitEntry = {
      label: msg.label,
      streamSeq: appended.seq,
      leafHash: receipt.leafHash,
      clientId: msg.clientId,
      clientSeq: msg.clientSeq,
      authRef: msg.authRef,
      hubTs: receipt.hubTs,
      receipt: receiptBytes,
      msg: msgBytes,
      newNodes: appended.newNodes,
      peaks: acc.peaks(),
      firstSeen,
      clientKey: ckey,
    };
    const durable = new One<Uint8Array>();
    this.pending.push({ entry, ckey, draft: EMPTY, sigs: undefined, receipts: durable, k: 0 });
    this.metrics.queueDepth = this.pending.length;
    if (!this.committing) this.startCommitLoop();
    await durable.done;
  }

  /**
   * E.UNAVAILABLE for a poisoned sequencer or a full commit queue; then warms the client cursor of (label,
   * client_id) from the index before the caller's synchronous critical section. Returns its key.
   */
  private admitAndWarm(msg: Msg): Promise<string> {
    this.checkHealthy();
    this.checkQueue();
    return this.warm(msg);
  }

  /** E.UNAVAILABLE (retry_after 1) when queue_max submissions wait for their commit. */
  private checkQueue(): void {
    if (this.pending.length >= this.opts.queueMax) {
      throw new VeenError("E.UNAVAILABLE", "Commit queue is full", { retryAfter: 1 });
    }
  }

  /** Warms the client cursor of (label, client_id) from the index; returns its key. */
  private async warm(msg: Msg, ckey = clientKey(msg.label, msg.clientId)): Promise<string> {
    if (!this.clients.has(ckey)) {
      const u = await this.store.clientUsage(msg.label, msg.clientId);
      if (!this.clients.has(ckey)) this.setClient(ckey, u.seq, u.firstSeen);
    }
    return ckey;
  }

  /** E.UNAVAILABLE once a commit has failed: the in-memory view is ahead of disk until a restart. */
  private checkHealthy(): void {
    if (this.failed !== undefined) {
      throw new VeenError("E.UNAVAILABLE", "Hub storage failed; restart required");
    }
  }

  /**
   * A durable cursor for a client not in memory. Later MSGs update the cursor in place (`advance`), so the map
   * keeps the order in which cursors were loaded (a delete and set per MSG churned its table): eviction may drop
   * an active durable cursor, which its next MSG reloads from the index.
   */
  private setClient(key: string, seq: number, firstSeen: number | null): ClientCursor {
    const c: ClientCursor = { seq, firstSeen, durable: true, pending: undefined };
    this.clients.set(key, c);
    const max = this.opts.clientCacheMax ?? CLIENT_CACHE_MAX;
    if (this.clients.size > max) {
      // evict the oldest durable cursors; pending ones must stay (the index does not know them yet)
      for (const [k, v] of this.clients) {
        if (this.clients.size <= max * 0.9) break;
        if (v.durable) this.clients.delete(k);
      }
    }
    return c;
  }

  private startCommitLoop(): void {
    this.committing = true;
    this.drained = new Promise((r) => (this.drainResolve = r));
    queueMicrotask(() => void this.commitLoop());
  }

  /**
   * Takes batches off the queue and runs them through signatures → store.commit → release, with up to two batches
   * in flight: batch N+1 gathers its signatures while batch N is being written and fsynced. store.commit is called
   * in batch order (each call waits until the previous batch's call has been made), so the log order is the
   * sequencing order.
   */
  private async commitLoop(): Promise<void> {
    try {
      let prevCalled: Promise<void> = Promise.resolve();
      const inFlight = new Set<Promise<void>>();
      let lastCut = -Infinity;
      while ((this.pending.length > 0 || inFlight.size > 0) && this.failed === undefined) {
        if (this.pending.length > 0 && inFlight.size < MAX_BATCHES_IN_FLIGHT) {
          const wait = groupCommitWait({
            pending: this.pending.length,
            upstream: this.opts.upstream?.() ?? 0,
            batchMax: this.opts.batchMax,
            batchWaitMs: this.opts.batchWaitMs,
            sinceCutMs: performance.now() - lastCut,
          });
          if (wait > 0) {
            await new Promise((r) => setTimeout(r, Math.min(wait, 1)));
            continue;
          }
          lastCut = performance.now();
          const batch = this.pending.splice(0, this.opts.batchMax);
          let called!: () => void;
          const thisCalled = new Promise<void>((r) => (called = r));
          const run = this.runBatch(batch, prevCalled, called);
          prevCalled = thisCalled;
          inFlight.add(run);
          void run.finally(() => inFlight.delete(run));
        } else {
          await Promise.race(inFlight);
        }
      }
      await Promise.allSettled(inFlight);
    } finally {
      this.committing = false;
      this.drainResolve?.();
      // A submission may have queued while this loop was finishing (it saw `committing` still set): pick it up.
      if (this.pending.length > 0 && this.failed === undefined) this.startCommitLoop();
    }
  }

  private async runBatch(batch: Pending[], prevCalled: Promise<void>, called: () => void): Promise<void> {
    const t0 = performance.now();
    const entries = batch.map((p) => p.entry);
    try {
      // The entries' runs (one signature request each; consecutive entries mostly share one).
      const runs: Promise<unknown>[] = [];
      let last: Gather<Uint8Array> | undefined;
      for (const p of batch) {
        if (p.sigs !== undefined && p.sigs !== last) runs.push((last = p.sigs).done);
      }
      await Promise.all(runs);
      for (const p of batch) {
        if (p.sigs === undefined) continue;
        const sig = p.sigs.out[p.k]!;
        if (sig instanceof Failed) throw sig.error;
        p.entry.receipt = sealReceipt(p.draft, sig);
      }
      await prevCalled;
      if (this.failed !== undefined) throw this.failed;
      const committed = this.store.commit(entries);
      called();
      await committed;
    } catch (e) {
      called();
      this.fail(e, batch);
      return;
    }
    this.metrics.commitLatency.observe(performance.now() - t0);
    this.metrics.queueDepth = this.pending.length;
    for (const p of batch) {
      const cursor = this.clients.get(p.ckey);
      if (cursor !== undefined) {
        cursor.pending?.delete(p.entry.clientSeq);
        if (cursor.seq === p.entry.clientSeq) cursor.durable = true;
      }
      p.receipts.put(p.k, p.entry.receipt);
    }
    this.opts.onCommitted?.(entries);
  }

  private fail(e: unknown, batch: Pending[]): void {
    const first = this.failed === undefined;
    this.failed ??= e;
    const err = new VeenError(
      "E.UNAVAILABLE",
      `Commit failed: ${e instanceof Error ? e.message : String(e)}`,
    );
    for (const p of [...batch, ...this.pending.splice(0)]) p.receipts.fail(p.k, err);
    if (first) this.opts.onFatal(e);
  }

  /** Resolves when everything accepted so far is durable (or failed). */
  async drain(): Promise<void> {
    while (this.committing) await this.drained;
  }
}

/**
 * The group commit delay: how much longer the next batch should fill, in ms (0: cut it now). A batch is cut
 * `batch_wait_ms` after the previous one at the soonest, but at once when `batch_max` entries wait, or when fewer
 * than `batch_max / 4` bulk MSGs (/submit_batch items) are on their way to the sequencer (`upstream`): a hub at
 * rest, or /submit clients that each wait for their RECEIPT, gain nothing by waiting (measured: 32 /submit
 * clients lost a third of their rate at 4 ms), while bulk producers keep a busy hub's commits several times
 * larger. Each batch costs two
 * fdatasyncs and a write per touched file; without the delay a busy hub cut one every ~1.3 ms (docs/performance.md
 * "Bulk submit").
 */
export function groupCommitWait(
  s: { pending: number; upstream: number; batchMax: number; batchWaitMs: number; sinceCutMs: number },
): number {
  if (s.pending >= s.batchMax || s.upstream < s.batchMax / 4) return 0;
  return Math.max(0, s.batchWaitMs - s.sinceCutMs);
}

/** A cursor after a MSG at `seq`, not durable until its entry is; `accepted` is remembered until then. */
function advance(
  c: ClientCursor,
  seq: number,
  firstSeen: number | null,
  accepted: AcceptedEntry | undefined,
): void {
  c.seq = seq;
  c.firstSeen = firstSeen;
  c.durable = false;
  if (accepted !== undefined) (c.pending ??= new Map()).set(seq, accepted);
}

/** Whether two MSGs have the same (label, client_id). */
function sameClient(a: Msg, b: Msg): boolean {
  return bytesEqual(a.clientId, b.clientId) && bytesEqual(a.label, b.label);
}
