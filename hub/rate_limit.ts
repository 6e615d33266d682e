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
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  constructor(private readonly maxBuckets = 100_000) {}

  private bucket(key: string, burst: number, nowMs: number, perSec: number): Bucket {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxBuckets) this.evictOldest();
      b = { tokens: burst, at: nowMs };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * perSec);
      b.at = nowMs;
    }
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

  /** Drops the oldest buckets; a dropped bucket restarts full, which only ever errs towards admitting. */
  private evictOldest(): void {
    const n = Math.ceil(this.maxBuckets / 10);
    let i = 0;
    for (const k of this.buckets.keys()) {
      if (i++ >= n) break;
      this.buckets.delete(k);
    }
  }
}
