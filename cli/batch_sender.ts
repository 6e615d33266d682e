/**
 * The batching sender (docs/protocol.md "POST /submit_batch", issue 24): seals and signs bodies with consecutive
 * client_seqs and sends them in batches, several requests in flight for one client, each MSG's prev_ack the latest
 * stream_seq of a RECEIPT the client holds. Every RECEIPT is checked on arrival (hub_sig, label, leaf_hash = the
 * msg_id of the MSG sent, I2) and again when the client's MMR view passes it (mmr_root, I3); items of other
 * writers in between are fetched with proofs and verified as `send` does.
 *
 * Recovery. Any answer other than a RECEIPT (a refused MSG, a later MSG then failing E.SEQ, a batch overtaken by
 * the one after it, a dropped connection) stops new requests; once none is in flight the sender resyncs from the
 * hub: it reads the label up to its head with proofs, and each of its own client_seqs found there is accepted (the
 * leaf must be the bytes it sent, else E.SEQ). Then, in client_seq order, a MSG refused for what it is (E.SIG,
 * E.SIZE, E.PROFILE, E.AUTH, E.CAP, E.TIME) is dropped and reported; everything else is sent again with the same
 * bytes, after the hub's retry_after if it gave one. A client_seq is signed again with other bytes only when the
 * hub refused the bytes it carried and its stream shows the seq unused: the MSGs after a dropped one move down
 * to close the gap. So a client_seq is never sent with two different byte strings that the hub could both accept.
 */
import {
  bytesEqual,
  defaultRandom,
  encodeMsg,
  leafHash,
  type MmrAccumulator,
  type PayloadHdr,
  type RandomFn,
  type Receipt,
  VeenError,
} from "../core/mod.ts";
import { CommandError } from "../cmd/mod.ts";
import { checkedViewOf, type LabelState, setView, withStateLock, writeState } from "./client_state.ts";
import { type CommandContext, openLabel } from "./context.ts";
import { appendChecked, checkReceipt, type ItemContext } from "./client_view.ts";
import { type HubSession, itemContext, type StreamTarget } from "./hub_session.ts";
import type { ClientKeys } from "./keystore.ts";
import { sealAndSign, sendMessage } from "./sender.ts";
import { applyItem, extendView, fetchItems } from "./view_sync.ts";

/** One body to send: its payload_hdr, the encoded body bytes and the capability used, if any. */
export interface BatchBody {
  hdr: PayloadHdr;
  body: Uint8Array;
  /** auth_ref of the capability used (MSG.auth_ref and payload_hdr.cap_ref). */
  authRef?: Uint8Array;
}

export interface BatchSenderOptions {
  /** HPKE recipient of every body (the client's own prekey, or an identity card's). */
  recipientPk: Uint8Array;
  /** MSGs per request, at most (default and bound: the hub's max_batch_items). */
  batchItems?: number;
  /** Bytes per request, at most (default and bound: the hub's max_batch_bytes). */
  batchBytes?: number;
  /** Requests in flight at once (default 3). */
  inFlight?: number;
  /** Recovery rounds in a row that accept and drop nothing before the sender gives up (default 8). */
  maxStuckRounds?: number;
  /** After each answer: how many bodies are settled (accepted or dropped). */
  onProgress?: (settled: number) => void;
  /** Each accepted body, in client_seq order of acceptance checks. */
  onAccepted?: (a: BatchAccepted) => void;
  /** Called whenever `ls.client_seq` advanced, so the caller can persist it (never reuse an accepted seq). */
  onStateAdvanced?: () => Promise<void>;
  random?: RandomFn;
  /** Sleeps before a retry the hub asked for (retry_after); tests pass a recorder. */
  sleep?: (ms: number) => Promise<void>;
}

/** An accepted body: its index among the bodies given, its MSG and its verified RECEIPT. */
export interface BatchAccepted {
  index: number;
  clientSeq: number;
  msgId: Uint8Array;
  msgBytes: Uint8Array;
  receipt: Receipt;
  receiptBytes: Uint8Array;
}

/** A body the hub refused for what it is (dropped; the bodies after it moved down). */
export interface BatchRefused {
  index: number;
  error: VeenError;
}

export interface BatchSummary {
  accepted: number;
  refused: BatchRefused[];
  /** Requests sent, MSGs sent again with the same bytes, MSGs signed again after a drop, resyncs done. */
  requests: number;
  resent: number;
  resigned: number;
  resyncs: number;
  /** Milliseconds from each request to its answer. */
  requestMs: number[];
  firstStreamSeq: number | null;
  lastStreamSeq: number | null;
}

interface Item {
  index: number;
  body: BatchBody;
  seq: number;
  bytes: Uint8Array;
  msgId: Uint8Array;
  /** The latest answer short of a RECEIPT: the refusal, or "unknown" after a lost request. */
  last?: VeenError | "unknown";
}

/** Refusals that sending the same bytes again cannot turn into a RECEIPT. */
const PERMANENT = new Set(["E.SIG", "E.SIZE", "E.PROFILE", "E.AUTH", "E.CAP", "E.TIME"]);
const DEFAULT_IN_FLIGHT = 3;
const MAX_RETRY_WAIT_MS = 5000;
/** RECEIPTs held ahead of the view before the gap below them is fetched from the hub. */
const HELD_MAX = 4096;

/** The hub's /submit_batch bounds from its /info; E.NOT_FOUND when it has no such route. */
export function batchLimits(session: Pick<HubSession, "info">): { items: number; bytes: number } {
  const { max_batch_items: items, max_batch_bytes: bytes } = session.info.raw;
  if (typeof items !== "number" || typeof bytes !== "number" || items < 1 || bytes < 1) {
    throw new VeenError("E.NOT_FOUND", "Hub does not offer POST /submit_batch (no max_batch_items in /info)");
  }
  return { items, bytes };
}

/** Whether the hub offers POST /submit_batch (its /info names max_batch_items). */
export function offersBatch(session: Pick<HubSession, "info">): boolean {
  try {
    batchLimits(session);
    return true;
  } catch {
    return false;
  }
}

export class BatchSender {
  readonly #ctx: ItemContext;
  readonly #limits: { items: number; bytes: number };
  /** Signed and not yet accepted, by client_seq (ascending: seqs are given out in order). */
  readonly #open = new Map<number, Item>();
  /** Signed items waiting for a request, in client_seq order. */
  #queue: Item[] = [];
  /** RECEIPTs accepted but not yet passed by the view: stream_seq → [leaf, root]. */
  readonly #held = new Map<number, [Uint8Array, Uint8Array]>();
  #view: MmrAccumulator;
  /** The tail of the view moves (see `#advanceView`). */
  #viewTurn: Promise<void> = Promise.resolve();
  #lastSigned: number;
  #latestAck = 0;
  /** The label's size when `send` began. */
  #floor = 0;
  #settled = 0;
  #trouble = false;
  readonly #summary: BatchSummary = {
    accepted: 0,
    refused: [],
    requests: 0,
    resent: 0,
    resigned: 0,
    resyncs: 0,
    requestMs: [],
    firstStreamSeq: null,
    lastStreamSeq: null,
  };

  constructor(
    private readonly session: HubSession,
    private readonly target: StreamTarget,
    private readonly keys: ClientKeys,
    private readonly ls: LabelState,
    view: MmrAccumulator,
    private readonly o: BatchSenderOptions,
  ) {
    this.#ctx = itemContext(session, target.label);
    const hub = batchLimits(session);
    this.#limits = {
      items: Math.min(o.batchItems ?? hub.items, hub.items),
      bytes: Math.min(o.batchBytes ?? hub.bytes, hub.bytes),
    };
    this.#view = view;
    this.#lastSigned = ls.client_seq;
  }

  /** The client's verified view of the label (after `send`: at least up to every RECEIPT it got). */
  get view(): MmrAccumulator {
    return this.#view;
  }

  /** Sends every body; resolves when each is accepted or dropped (see the module comment). */
  async send(bodies: Iterable<BatchBody>): Promise<BatchSummary> {
    const source = bodies[Symbol.iterator]();
    // Every MSG of this run lands after the label's head now: a resync reads only from there.
    this.#floor = await this.session.http.labelSize(this.target.label);
    let index = 0;
    let exhausted = false;
    const inFlight = new Set<Promise<void>>();
    let failed: { e: unknown } | undefined;
    let stuck = 0;
    for (;;) {
      if (failed !== undefined) {
        await Promise.allSettled(inFlight);
        throw failed.e;
      }
      while (
        !this.#trouble && failed === undefined && inFlight.size < (this.o.inFlight ?? DEFAULT_IN_FLIGHT)
      ) {
        if (this.#queue.length < this.#limits.items && !exhausted) {
          // Seal a request's worth at once: HPKE's WebCrypto steps run off the main thread, so concurrent
          // sealing is ~3 × faster than one at a time. client_seqs are given out in order before any await.
          const pulled: BatchBody[] = [];
          while (this.#queue.length + pulled.length < this.#limits.items) {
            const next = source.next();
            if (next.done) {
              exhausted = true;
              break;
            }
            pulled.push(next.value);
          }
          this.#queue.push(
            ...await Promise.all(pulled.map((b) => this.#sign(index++, b, ++this.#lastSigned))),
          );
        }
        const batch: Item[] = [];
        let bytes = 0;
        while (batch.length < this.#limits.items) {
          const it = this.#queue[0];
          if (it === undefined || (batch.length > 0 && bytes + it.bytes.length > this.#limits.bytes)) break;
          this.#queue.shift();
          batch.push(it);
          bytes += it.bytes.length;
        }
        if (batch.length === 0) break;
        const p: Promise<void> = this.#request(batch)
          .catch((e) => void (failed ??= { e }))
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      if (inFlight.size > 0) {
        await Promise.race(inFlight);
        continue;
      }
      if (this.#trouble) {
        const before = this.#settled;
        await this.#recover();
        stuck = this.#settled === before ? stuck + 1 : 0;
        if (stuck > (this.o.maxStuckRounds ?? 8)) {
          const last = [...this.#open.values()][0]?.last;
          throw last instanceof VeenError
            ? new VeenError(last.code, `${last.detail} (still refused after ${stuck} resyncs)`)
            : new VeenError("E.UNAVAILABLE", `No progress after ${stuck} resyncs`);
        }
        continue;
      }
      if (this.#queue.length === 0 && exhausted) break;
    }
    await this.#advanceView(true);
    setView(this.ls, this.#view);
    this.ls.prev_ack = Math.max(this.ls.prev_ack, this.#view.size);
    return this.#summary;
  }

  /** Seals and signs `body` as client_seq `seq`, prev_ack the latest RECEIPT held. */
  async #sign(index: number, body: BatchBody, seq: number): Promise<Item> {
    const hdr: PayloadHdr = { ...body.hdr };
    if (body.authRef !== undefined) hdr.capRef = body.authRef;
    const prevAck = Math.max(this.ls.prev_ack, this.#view.size, this.#latestAck);
    const msg = await sealAndSign(this.session, this.target, this.keys, seq, prevAck, {
      recipientPk: this.o.recipientPk,
      hdr,
      body: body.body,
      ...(body.authRef === undefined ? {} : { authRef: body.authRef }),
    }, (this.o.random ?? defaultRandom)(32));
    const item: Item = { index, body, seq, bytes: encodeMsg(msg), msgId: leafHash(msg) };
    this.#open.set(seq, item);
    return item;
  }

  /** One request; each answer is checked and recorded; anything short of a RECEIPT flags a resync. */
  async #request(batch: Item[]): Promise<void> {
    this.#summary.requests++;
    const t0 = performance.now();
    let answers;
    try {
      answers = await this.session.http.submitBatch(batch.map((it) => it.bytes));
    } catch (e) {
      const lost = e instanceof CommandError && e.kind === "transport";
      const retryable = e instanceof VeenError && (e.code === "E.UNAVAILABLE" || e.code === "E.RATE");
      if (!lost && !retryable) throw e;
      for (const it of batch) it.last = e instanceof VeenError ? e : "unknown";
      this.#trouble = true;
      return;
    }
    this.#summary.requestMs.push(performance.now() - t0);
    for (let k = 0; k < batch.length; k++) {
      const it = batch[k]!;
      const a = answers[k]!;
      if ("error" in a) {
        it.last = a.error;
        this.#trouble = true;
      } else {
        this.#accept(it, a.receipt, a.bytes);
      }
    }
    await this.#stateAdvanced();
    await this.#advanceView(false);
    this.o.onProgress?.(this.#settled);
  }

  /**
   * A RECEIPT for `it`: hub_sig and label, and its leaf must be the MSG sent (I2). `inView`: found by a resync,
   * already appended to the view with its proof.
   */
  #accept(it: Item, receipt: Receipt, receiptBytes: Uint8Array, inView = false): void {
    checkReceipt(receipt, this.#ctx.hubPk, this.target.label);
    if (!bytesEqual(receipt.leafHash, it.msgId)) {
      throw new VeenError(
        "E.SIG",
        `RECEIPT for client_seq ${it.seq} has leaf_hash other than the MSG sent (I2)`,
      );
    }
    if (!inView && receipt.streamSeq <= this.#view.size) {
      throw new VeenError(
        "E.SEQ",
        `Hub assigned stream_seq ${receipt.streamSeq}, but the client's view already holds ${this.#view.size} items`,
      );
    }
    this.#open.delete(it.seq);
    if (!inView) this.#held.set(receipt.streamSeq, [receipt.leafHash, receipt.mmrRoot]);
    this.#latestAck = Math.max(this.#latestAck, receipt.streamSeq);
    this.#settled++;
    this.#summary.accepted++;
    this.#summary.firstStreamSeq ??= receipt.streamSeq;
    this.#summary.firstStreamSeq = Math.min(this.#summary.firstStreamSeq, receipt.streamSeq);
    this.#summary.lastStreamSeq = Math.max(this.#summary.lastStreamSeq ?? 0, receipt.streamSeq);
    this.o.onAccepted?.({
      index: it.index,
      clientSeq: it.seq,
      msgId: it.msgId,
      msgBytes: it.bytes,
      receipt,
      receiptBytes,
    });
  }

  /** ls.client_seq follows the accepted prefix of the seqs signed (the open seqs start after it). */
  async #stateAdvanced(): Promise<void> {
    let first = this.#lastSigned + 1;
    for (const seq of this.#open.keys()) first = Math.min(first, seq);
    if (first - 1 > this.ls.client_seq) {
      this.ls.client_seq = first - 1;
      await this.o.onStateAdvanced?.();
    }
  }

  /**
   * Moves the view over the held RECEIPTs in stream order, checking each root (I3). With `fill` (or too many held),
   * a gap below a held RECEIPT (other writers' items) is fetched and verified first.
   */
  #advanceView(fill: boolean): Promise<void> {
    // One at a time: answers arrive concurrently, and a fetch of other writers' items must not interleave.
    const run = this.#viewTurn.then(() => this.#moveView(fill));
    this.#viewTurn = run.catch(() => {});
    return run;
  }

  async #moveView(fill: boolean): Promise<void> {
    for (;;) {
      let next = this.#held.get(this.#view.size + 1);
      while (next !== undefined) {
        this.#held.delete(this.#view.size + 1);
        appendChecked(this.#view, this.#view.size + 1, next[0], next[1]);
        next = this.#held.get(this.#view.size + 1);
      }
      if (this.#held.size === 0 || (!fill && this.#held.size < HELD_MAX)) return;
      let low = Infinity;
      for (const k of this.#held.keys()) low = Math.min(low, k);
      this.#view = await extendView(this.session.http, this.#ctx, this.#view, low - 1);
    }
  }

  /** The resync of the module comment; runs with no request in flight. */
  async #recover(): Promise<void> {
    this.#summary.resyncs++;
    this.#trouble = false;
    const head = await this.session.http.labelSize(this.target.label);
    const me = this.keys.client.public;
    await this.#advanceView(false);
    if (this.#view.size < this.#floor) {
      // Items before this run's first send (other writers', or this client's earlier ones): verified, or jumped.
      await this.#viewTurn;
      this.#view = await extendView(this.session.http, this.#ctx, this.#view, this.#floor);
    }
    for await (
      const item of fetchItems(this.session.http, this.target.label, this.#view.size + 1, {
        to: head,
        withProof: true,
      })
    ) {
      const seq = item.receipt.streamSeq;
      const held = this.#held.get(seq);
      const leaf = applyItem(this.#view, item, this.#ctx);
      if (held !== undefined) {
        if (!bytesEqual(held[0], leaf) || !bytesEqual(held[1], item.receipt.mmrRoot)) {
          throw new VeenError("E.SEQ", `Hub's stream at stream_seq ${seq} differs from the RECEIPT it gave`);
        }
        this.#held.delete(seq);
      }
      if (!bytesEqual(item.msg.clientId, me)) continue;
      const mine = this.#open.get(item.msg.clientSeq);
      if (mine === undefined) continue;
      if (!bytesEqual(mine.msgId, leaf)) {
        throw new VeenError(
          "E.SEQ",
          `client_seq ${mine.seq} was accepted with other bytes than this sender's (another sender uses this client)`,
        );
      }
      this.#accept(mine, item.receipt, item.receiptBytes, true);
    }
    await this.#stateAdvanced();
    await this.#advanceView(true);

    const open = [...this.#open.values()].sort((a, b) => a.seq - b.seq);
    this.#queue = [];
    let wait = 0;
    let nextSeq = -1;
    for (const it of open) {
      const err = it.last instanceof VeenError ? it.last : undefined;
      if (err !== undefined && PERMANENT.has(err.code)) {
        this.#open.delete(it.seq);
        this.#summary.refused.push({ index: it.index, error: err });
        this.#settled++;
        if (nextSeq < 0) nextSeq = it.seq;
        continue;
      }
      if (err?.retryAfter !== undefined) wait = Math.max(wait, err.retryAfter * 1000);
      if (nextSeq < 0) {
        this.#summary.resent++;
        delete it.last;
        this.#queue.push(it);
      } else {
        this.#open.delete(it.seq);
        this.#summary.resigned++;
        this.#queue.push(await this.#sign(it.index, it.body, nextSeq++));
      }
    }
    if (nextSeq >= 0) this.#lastSigned = nextSeq - 1;
    this.o.onProgress?.(this.#settled);
    if (wait > 0) {
      await (this.o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(
        Math.min(wait, MAX_RETRY_WAIT_MS),
      );
    }
  }
}

/** One MSG to send and what to record once the hub accepted it (with its RECEIPT's stream_seq). */
export interface Outgoing {
  body: BatchBody;
  done: (streamSeq: number) => void;
}

/**
 * Sends `out` in order to `target`: through a {@link BatchSender} when the hub offers `/submit_batch`, else one
 * `/submit` each (a hub with proof of work). Throws the first refusal (one by one, nothing after it is sent; in
 * batches, the bodies after it were sent one seq lower); `save` persists state.json whenever client_seq advanced.
 */
export async function sendInOrder(
  session: HubSession,
  target: StreamTarget,
  keys: ClientKeys,
  ls: LabelState,
  recipientPk: Uint8Array,
  out: readonly Outgoing[],
  save: () => Promise<void>,
): Promise<void> {
  let view = checkedViewOf(ls);
  if (!offersBatch(session)) {
    for (const o of out) {
      const seqBefore = ls.client_seq;
      let seq: number;
      try {
        const res = await sendMessage(session, target, keys, ls, view, {
          recipientPk,
          hdr: o.body.hdr,
          bodyBytes: o.body.body,
          ...(o.body.authRef === undefined ? {} : { authRef: o.body.authRef }),
        });
        view = res.view;
        seq = res.receipt.streamSeq;
      } finally {
        if (ls.client_seq !== seqBefore) await save(); // accepted: never reuse client_seq
      }
      o.done(seq);
    }
    return;
  }
  const sender = new BatchSender(session, target, keys, ls, view, {
    recipientPk,
    onAccepted: (a) => out[a.index]!.done(a.receipt.streamSeq),
    onStateAdvanced: save,
  });
  try {
    const sum = await sender.send(out.map((o) => o.body));
    const first = sum.refused[0];
    if (first !== undefined) throw first.error;
  } finally {
    await save();
  }
}

/** {@link sendInOrder} to `stream` of `--hub` under `dir`'s state lock, saving state.json as it goes. */
export async function sendInOrderAndSave(
  ctx: CommandContext,
  dir: string,
  keys: ClientKeys,
  stream: string,
  recipientPk: Uint8Array,
  out: readonly Outgoing[],
): Promise<void> {
  await withStateLock(dir, async () => {
    const { state, session, target, ls } = await openLabel(ctx, dir, stream, keys.client.public);
    await sendInOrder(session, target, keys, ls, recipientPk, out, () => writeState(dir, state));
  });
}
