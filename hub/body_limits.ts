/**
 * Bounds on reading request bodies, so that no client can make the hub hold memory or a read slot it does not
 * pay for with bytes (issue 17, OP0.4): how many bodies are read at once (in total and per peer address), how
 * many bytes those reads may reserve together, and how long one read may wait for bytes (idle) or take (total).
 * Beyond a bound the hub answers 503 E.UNAVAILABLE with retry_after, without reading; a stalled read is abandoned
 * with 503 E.UNAVAILABLE. Memory still grows only with the bytes received (readBodyCapped); the reservation is
 * accounting of what a read may come to hold, min(declared length, cap).
 */
import { VeenError } from "../core/mod.ts";
import { type BodyWatch, readBodyCapped } from "./http.ts";
import type { Metrics } from "./metrics.ts";

export interface BodyLimitsConfig {
  /** A read with no new bytes for this long is abandoned. */
  idleTimeoutMs: number;
  /** A read still incomplete this long after it started is abandoned. */
  totalTimeoutMs: number;
  /** Body reads in progress at once, over all peers. */
  maxReads: number;
  /** Body reads in progress at once from one peer address. */
  maxReadsPerPeer: number;
  /** Sum of min(declared length, cap) over the reads in progress. */
  maxBufferBytes: number;
}

interface Read extends BodyWatch {
  peer: string;
  reserved: number;
  startedAt: number;
  /** `received` at the last sweep that saw it change, and when. */
  seen: number;
  seenAt: number;
}

export class BodyLimits {
  #reads = new Set<Read>();
  #perPeer = new Map<string, number>();
  #reserved = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly cfg: BodyLimitsConfig,
    private readonly metrics?: Metrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** Body reads in progress. */
  get active(): number {
    return this.#reads.size;
  }

  /** Reads `req`'s body of at most `max` bytes for `peer` within the bounds (E.UNAVAILABLE beyond them). */
  async read(req: Request, max: number, peer: string): Promise<Uint8Array> {
    const declared = req.headers.get("content-length");
    const reserved = declared === null ? max : Math.min(Number(declared) || 0, max);
    const fromPeer = this.#perPeer.get(peer) ?? 0;
    const busy = this.#reads.size >= this.cfg.maxReads
      ? `${this.cfg.maxReads} request bodies are being read`
      : fromPeer >= this.cfg.maxReadsPerPeer
      ? `${this.cfg.maxReadsPerPeer} request bodies from ${peer} are being read`
      : this.#reserved + reserved > this.cfg.maxBufferBytes && this.#reads.size > 0
      ? `request bodies being read reserve ${this.#reserved} of ${this.cfg.maxBufferBytes} bytes`
      : undefined;
    if (busy !== undefined) {
      if (this.metrics) this.metrics.bodyBusy++;
      throw new VeenError("E.UNAVAILABLE", `Hub is busy: ${busy}`, { retryAfter: 1 });
    }
    const t = this.now();
    const r: Read = { received: 0, peer, reserved, startedAt: t, seen: 0, seenAt: t };
    this.#reads.add(r);
    this.#perPeer.set(peer, fromPeer + 1);
    this.#reserved += reserved;
    this.#startSweeper();
    try {
      return await readBodyCapped(req, max, r);
    } finally {
      this.#reads.delete(r);
      const left = this.#perPeer.get(peer)! - 1;
      if (left === 0) this.#perPeer.delete(peer);
      else this.#perPeer.set(peer, left);
      this.#reserved -= reserved;
    }
  }

  /** Abandons the reads that stalled or ran too long; returns how many. Called by the sweeper timer. */
  sweep(): number {
    const t = this.now();
    let n = 0;
    for (const r of this.#reads) {
      if (r.abandoned !== undefined) continue;
      if (r.received !== r.seen) {
        r.seen = r.received;
        r.seenAt = t;
      }
      const why = t - r.seenAt >= this.cfg.idleTimeoutMs
        ? `no body bytes for ${this.cfg.idleTimeoutMs} ms`
        : t - r.startedAt >= this.cfg.totalTimeoutMs
        ? `body not complete within ${this.cfg.totalTimeoutMs} ms`
        : undefined;
      if (why === undefined) continue;
      r.abandoned = new VeenError(
        "E.UNAVAILABLE",
        `Request body abandoned after ${r.received} bytes: ${why}`,
        { retryAfter: 1 },
      );
      r.cancel?.();
      if (this.metrics) this.metrics.bodyTimeouts++;
      n++;
    }
    if (this.#reads.size === 0) this.close();
    return n;
  }

  /** Stops the sweeper (it restarts with the next read). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #startSweeper(): void {
    if (this.#timer !== undefined) return;
    const period = Math.min(
      1000,
      Math.max(10, Math.min(this.cfg.idleTimeoutMs, this.cfg.totalTimeoutMs) / 4),
    );
    const t = setInterval(() => this.sweep(), period);
    Deno.unrefTimer(t as unknown as number);
    this.#timer = t;
  }
}
