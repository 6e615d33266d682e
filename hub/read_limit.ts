/**
 * COMP0.3 access: the read-only export endpoints (`/stream`, `/receipt`, `/proof`, `/consistency`,
 * `/checkpoint_range`) need no credentials, so they are rate-limited per peer address: a token bucket of
 * `read_rate_burst` refilled at `read_rate_per_sec` (0: unlimited). Over the limit a read is 429 E.RATE with
 * Retry-After, before the store is touched.
 */
import { VeenError } from "../core/mod.ts";
import type { Metrics } from "./metrics.ts";
import { RateLimiter } from "./rate_limit.ts";

/** The routes a read limit applies to. */
export const LIMITED_READS: ReadonlySet<string> = new Set([
  "/stream",
  "/receipt",
  "/proof",
  "/consistency",
  "/checkpoint_range",
]);

export class ReadLimit {
  readonly #buckets = new RateLimiter();
  readonly #burst: number;

  constructor(
    private readonly perSec: number,
    burst: number,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    this.#burst = burst > 0 ? burst : Math.max(1, perSec);
  }

  /** Takes one read token of `peer` for `path`, or throws 429 E.RATE with Retry-After (nothing taken). */
  check(path: string, peer: string): void {
    if (this.perSec === 0 || !LIMITED_READS.has(path)) return;
    const wait = this.#buckets.tryTake(peer, this.perSec, this.#burst, this.now());
    if (wait === 0) return;
    this.metrics.readRateLimited++;
    throw new VeenError("E.RATE", `Read rate of ${this.perSec}/s for "${peer}" exceeded`, {
      retryAfter: wait,
    });
  }
}
