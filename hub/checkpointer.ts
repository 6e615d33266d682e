/**
 * Emits signed CHECKPOINTs per label (spec 004 §5, OP0.5): every `every` entries, every `intervalSec` seconds for
 * labels with new entries, and on shutdown. A checkpoint covers only durable entries (the store's committed head).
 * label_prev = label_curr because label epochs are off; `epoch` is the profile time epoch at signing. With
 * `witnesses` configured, each CHECKPOINT carries the witness_sigs collected before it is stored (spec 002 §3.4).
 */
import {
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  epochOf,
  signCheckpoint,
  type SigningKey,
  toHex,
} from "../core/mod.ts";
import type { HubStore } from "./store.ts";
import type { Metrics } from "./metrics.ts";
import type { Logger } from "./logger.ts";

interface LabelState {
  label: Uint8Array;
  lastSeq: number;
  lastAt: number;
}

export class Checkpointer {
  private readonly state = new Map<string, LabelState>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: HubStore,
    private readonly hubKey: SigningKey,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: {
      every: number;
      intervalSec: number;
      epochSec: number;
      now: () => number;
      /** False for a label whose checkpoints come from its primary (a replicated label, hub/replication.ts). */
      signs?: (label: Uint8Array, nowSec: number) => boolean;
      /** The witness signatures over a new CHECKPOINT (hub/witness_client.ts), stored as its witness_sigs. */
      cosign?: (c: Checkpoint) => Promise<Uint8Array[]>;
      /** True for a stored CHECKPOINT to write again at its label's head (one signed by a rotated-away key). */
      stale?: (c: Checkpoint) => boolean;
      /** Called with each CHECKPOINT once stored (hub/anchorer.ts anchors it at its cadence). */
      written?: (label: Uint8Array, checkpoint: Uint8Array) => void;
    },
  ) {}

  /** Reads each label's latest checkpoint (O(labels), no history) and starts the interval timer. */
  async start(): Promise<void> {
    for (const h of this.store.heads()) {
      const cp = await this.store.latestCheckpoint(h.label);
      const c = cp === undefined ? undefined : decodeCheckpoint(cp);
      const lastSeq = c === undefined || this.opts.stale?.(c) ? 0 : c.uptoSeq;
      this.state.set(toHex(h.label), { label: h.label, lastSeq, lastAt: this.opts.now() });
    }
    if (this.opts.intervalSec > 0) {
      const period = Math.min(this.opts.intervalSec, 5) * 1000;
      const t = setInterval(() => this.tick(false), period);
      Deno.unrefTimer(t as unknown as number);
      this.timer = t;
    }
  }

  /** Called after each durable batch with its entries' labels (repeats allowed: each label is looked at once). */
  noteCommitted(labels: Iterable<Uint8Array>): void {
    let due = false;
    const seen = new Set<string>();
    for (const label of labels) {
      const k = toHex(label);
      if (seen.has(k)) continue;
      seen.add(k);
      const h = this.store.head(label);
      if (h === undefined) continue;
      let s = this.state.get(k);
      if (s === undefined) {
        s = { label, lastSeq: 0, lastAt: this.opts.now() };
        this.state.set(k, s);
      }
      if (this.opts.every > 0 && h.seq - s.lastSeq >= this.opts.every) due = true;
    }
    if (due) this.tick(false);
  }

  /**
   * A CHECKPOINT of `label` at its durable head now (SDR0 on-demand checkpoints): written unless the stored one is
   * already at the head; a label whose checkpoints come from its primary gets its latest stored one. Serialized with
   * the other writes; undefined when the label has no entries (or, replicated, no CHECKPOINT yet).
   */
  checkpointNow(label: Uint8Array): Promise<Uint8Array | undefined> {
    const p = this.chain.then(async () => {
      const h = this.store.head(label);
      if (h === undefined || h.seq === 0) return undefined;
      const nowMs = this.opts.now();
      if (this.opts.signs?.(label, Math.floor(nowMs / 1000)) !== false) {
        const k = toHex(label);
        let s = this.state.get(k);
        if (s === undefined) {
          s = { label, lastSeq: 0, lastAt: nowMs };
          this.state.set(k, s);
        }
        if (h.seq > s.lastSeq) await this.write(s, h.seq, h.root, nowMs);
      }
      return await this.store.latestCheckpoint(label);
    });
    this.chain = p.then(() => {}, () => {});
    return p;
  }

  /** Checkpoints due labels (all labels with new entries when `all`). Serialized; returns when written. */
  tick(all: boolean): Promise<void> {
    this.chain = this.chain.then(() => this.run(all)).catch((e) => {
      this.log.error("checkpoint failed", { error: String(e) });
    });
    return this.chain;
  }

  private async run(all: boolean): Promise<void> {
    const now = this.opts.now();
    for (const s of this.state.values()) {
      const h = this.store.head(s.label);
      if (h === undefined || h.seq <= s.lastSeq) continue;
      const byCount = this.opts.every > 0 && h.seq - s.lastSeq >= this.opts.every;
      const byTime = this.opts.intervalSec > 0 && now - s.lastAt >= this.opts.intervalSec * 1000;
      if (!all && !byCount && !byTime) continue;
      if (this.opts.signs?.(s.label, Math.floor(now / 1000)) === false) continue;
      await this.write(s, h.seq, h.root, now);
    }
  }

  private async write(s: LabelState, seq: number, root: Uint8Array, nowMs: number): Promise<void> {
    const epoch = epochOf(Math.floor(nowMs / 1000), this.opts.epochSec);
    const cp = signCheckpoint(
      { ver: 1, labelPrev: s.label, labelCurr: s.label, uptoSeq: seq, mmrRoot: root, epoch },
      this.hubKey.secret,
    );
    const sigs = this.opts.cosign === undefined ? [] : await this.opts.cosign(cp);
    if (sigs.length > 0) cp.witnessSigs = sigs;
    const bytes = encodeCheckpoint(cp);
    await this.store.putCheckpoint(s.label, seq, epoch, bytes);
    this.opts.written?.(s.label, bytes);
    this.metrics.checkpointInterval.observe(nowMs - s.lastAt);
    s.lastSeq = seq;
    s.lastAt = nowMs;
    this.log.debug("checkpoint", { label: toHex(s.label).slice(0, 8), upto_seq: seq, epoch });
  }

  /** Resolves when every checkpoint due so far is written (or its failure logged). */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Final checkpoints for every label with new entries (graceful shutdown). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.tick(true);
  }
}
