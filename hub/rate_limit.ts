/** RL0 token buckets per (auth_ref, label) (OP0.3): capacity `burst`, refilled continuously at `per_sec`. */

/**
 * The rate stage as the sequencer sees it (OP0.1 step 4, OP0.3): takes one token for a MSG on `label` that is about
 * to be appended, or throws E.RATE with Retry-After and takes nothing. Admission hands one out per admission record.
 */
export interface RateGate {
  take(label: Uint8Array, nowMs: number): void;
}

interface Bucket {
  tokens: number;
  at: number;
  perSec: number;
  burst: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  constructor(private readonly maxBuckets = 100_000) {}

  private bucket(key: string, burst: number, nowMs: number, perSec: number): Bucket {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxBuckets) this.evict(nowMs);
      b = { tokens: burst, at: nowMs, perSec, burst };
    } else {
      this.buckets.delete(key); // re-inserted below: the map's order is least recently used first
      b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * perSec);
      b.at = nowMs;
      b.perSec = perSec;
      b.burst = burst;
    }
    this.buckets.set(key, b);
    return b;
  }

  /** Takes one token when one is available (returns 0); else takes nothing and returns the seconds to wait. */
  tryTake(key: string, perSec: number, burst: number, nowMs: number): number {
    const b = this.bucket(key, burst, nowMs, perSec);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    if (perSec <= 0) return 3600;
    return Math.max(1, Math.ceil((1 - b.tokens) / perSec));
  }

  /** Gives back a token `tryTake` took (another gate of the same MSG refused it). */
  refund(key: string, nowMs: number): void {
    const b = this.buckets.get(key);
    if (b === undefined) return;
    b.tokens = Math.min(b.burst, b.tokens + ((nowMs - b.at) / 1000) * b.perSec + 1);
    b.at = nowMs;
  }

  /**
   * Makes room for a tenth of the buckets: first those that would be full by now (dropping one loses nothing: it
   * would restart full), then the least recently used. So filling the table with new buckets cannot reset the
   * buckets of clients that are being limited while they keep submitting.
   */
  private evict(nowMs: number): void {
    const n = Math.ceil(this.maxBuckets / 10);
    let dropped = 0;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((nowMs - b.at) / 1000) * b.perSec >= b.burst) {
        this.buckets.delete(k);
        if (++dropped >= n) return;
      }
    }
    for (const k of this.buckets.keys()) {
      this.buckets.delete(k);
      if (++dropped >= n) return;
    }
  }
}
