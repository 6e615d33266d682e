/**
 * Hub-side anchoring (spec 004 ANCHOR0.2: "Hubs SHOULD anchor mmr_root at a fixed cadence ... anchor_ref MUST be
 * stored alongside CHECKPOINT"). With `anchor_backend = "file:DIR"` (cmd/anchor_file_log.ts, the ledger `veen anchor`
 * writes too), each label's latest CHECKPOINT is anchored when it is newer than the label's last anchor and at
 * least `anchor_interval_sec` has passed since that anchor (a label's first CHECKPOINT is anchored at once): its
 * mmr_root and epoch, the hub's time and a random 32-byte nonce go to `anchor_publish`, and the returned anchor_ref
 * is stored with the CHECKPOINT bytes in `DIR/anchors.cborseq`, one frame per anchor around
 * `[label, upto_seq, anchor_ref, anchored_at, CHECKPOINT bytes]`, fdatasync'ed. A CHECKPOINT already anchored is
 * never anchored again (also across restarts). A failed publish or append counts in `veen_anchor_fail_total` and is
 * tried again at the next pass. Passes run after each CHECKPOINT the hub writes and on a timer.
 */
import { decodeCheckpoint, defaultRandom, toHex } from "../core/mod.ts";
import { type CborValue, decodeCbor, encodeCbor, expectArray, expectBytes, expectUint } from "../core/mod.ts";
import { ANCHOR_REF_LEN, type AnchorBackend } from "../overlays/mod.ts";
import { FileAnchorLog } from "../cmd/mod.ts";
import { RecordFile } from "./record_file.ts";
import type { HubStore } from "./store.ts";
import type { Metrics } from "./metrics.ts";
import type { Logger } from "./logger.ts";

export const ANCHORS_FILE = "anchors.cborseq";

export interface StoredAnchor {
  label: Uint8Array;
  uptoSeq: number;
  anchorRef: Uint8Array;
  /** Hub time (s) of the publication. */
  anchoredAt: number;
  /** The anchored CHECKPOINT bytes. */
  checkpoint: Uint8Array;
}

export function encodeAnchorEntry(a: StoredAnchor): Uint8Array {
  return encodeCbor([a.label, a.uptoSeq, a.anchorRef, a.anchoredAt, a.checkpoint] as CborValue[]);
}

export function decodeAnchorEntry(body: Uint8Array): StoredAnchor {
  const a = expectArray(decodeCbor(body, "anchor record"), 5, "anchor record");
  return {
    label: expectBytes(a[0], 32, "anchor label"),
    uptoSeq: expectUint(a[1], "anchor upto_seq"),
    anchorRef: expectBytes(a[2], ANCHOR_REF_LEN, "anchor_ref"),
    anchoredAt: expectUint(a[3], "anchor anchored_at"),
    checkpoint: expectBytes(a[4], undefined, "anchored CHECKPOINT"),
  };
}

/** The backend `anchor_backend` names (`file:DIR`, checked by validateConfig). */
export function anchorBackendOf(spec: string): AnchorBackend {
  return new FileAnchorLog(spec.slice("file:".length));
}

interface Latest {
  loc: [number, number];
  uptoSeq: number;
  atMs: number;
}

export class Anchorer {
  readonly #latest = new Map<string, Latest>();
  /** Labels whose latest CHECKPOINT is newer than their last anchor, with those CHECKPOINT bytes. */
  readonly #pending = new Map<string, Uint8Array>();
  #chain: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(
    private readonly file: RecordFile,
    private readonly backend: AnchorBackend,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: { intervalSec: number; now: () => number },
  ) {}

  /**
   * Opens (creating) `DIR/anchors.cborseq`, indexes the latest anchor per label and marks the labels whose latest
   * stored CHECKPOINT is newer (O(labels) at start, like the checkpointer).
   */
  static async open(
    dataDir: string,
    backend: AnchorBackend,
    store: HubStore,
    metrics: Metrics,
    log: Logger,
    opts: { intervalSec: number; now: () => number; onRepair?: (what: string) => void },
  ): Promise<Anchorer> {
    const { file, tail } = await RecordFile.open(`${dataDir}/${ANCHORS_FILE}`, 0, {
      relPath: ANCHORS_FILE,
      ...(opts.onRepair ? { onRepair: opts.onRepair } : {}),
    });
    const a = new Anchorer(file, backend, metrics, log, opts);
    for (const r of tail) {
      const e = decodeAnchorEntry(r.body);
      a.#latest.set(toHex(e.label), { loc: [r.off, r.len], uptoSeq: e.uptoSeq, atMs: e.anchoredAt * 1000 });
    }
    for (const h of store.heads()) {
      const cp = await store.latestCheckpoint(h.label);
      if (cp !== undefined) a.#notePending(h.label, cp);
    }
    return a;
  }

  /** Runs a pass every min(interval, 5) s (unref'd); the first pass runs now. */
  start(): void {
    const t = setInterval(() => void this.pass(), Math.max(1, Math.min(this.opts.intervalSec, 5)) * 1000);
    Deno.unrefTimer(t as unknown as number);
    this.#timer = t;
    void this.pass();
  }

  #notePending(label: Uint8Array, checkpoint: Uint8Array): void {
    const k = toHex(label);
    const upto = decodeCheckpoint(checkpoint).uptoSeq;
    if ((this.#latest.get(k)?.uptoSeq ?? 0) < upto) this.#pending.set(k, checkpoint);
  }

  /** A CHECKPOINT the hub has just stored for `label`; anchors it now when the label is due. */
  noteCheckpoint(label: Uint8Array, checkpoint: Uint8Array): void {
    if (this.#closed) return;
    this.#notePending(label, checkpoint);
    void this.pass();
  }

  /** Anchors every pending label that is due. Serialized; resolves when done (failures are counted, not thrown). */
  pass(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#run());
    return this.#chain;
  }

  async #run(): Promise<void> {
    const nowMs = this.opts.now();
    for (const [k, cp] of [...this.#pending]) {
      const last = this.#latest.get(k);
      if (last !== undefined && nowMs - last.atMs < this.opts.intervalSec * 1000) continue;
      try {
        await this.#anchor(k, cp, nowMs);
      } catch (e) {
        this.metrics.anchorFail++;
        this.log.warn("anchor failed", {
          label: k.slice(0, 8),
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
  }

  async #anchor(k: string, bytes: Uint8Array, nowMs: number): Promise<void> {
    const c = decodeCheckpoint(bytes);
    const anchoredAt = Math.floor(nowMs / 1000);
    const anchorRef = await this.backend.publish(c.mmrRoot, c.epoch, anchoredAt, defaultRandom(32));
    const entry = { label: c.labelCurr, uptoSeq: c.uptoSeq, anchorRef, anchoredAt, checkpoint: bytes };
    const [loc] = await this.file.writeLock.run(() => this.file.append([encodeAnchorEntry(entry)]));
    this.#latest.set(k, { loc: loc!, uptoSeq: c.uptoSeq, atMs: nowMs });
    if (this.#pending.get(k) === bytes) this.#pending.delete(k);
    this.metrics.anchored++;
    this.log.debug("anchored", { label: k.slice(0, 8), upto_seq: c.uptoSeq, anchor_ref: toHex(anchorRef) });
  }

  /** The label's latest anchor, if any. */
  latest(label: Uint8Array): StoredAnchor | undefined {
    const l = this.#latest.get(toHex(label));
    return l === undefined ? undefined : decodeAnchorEntry(this.file.read(l.loc[0], l.loc[1]));
  }

  /** Resolves when the passes started so far are done. */
  settled(): Promise<void> {
    return this.#chain;
  }

  /** Stops the timer, lets a running pass finish and closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#chain;
    await this.file.close();
  }
}
