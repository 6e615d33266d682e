/**
 * Readiness of a tenant hub (spec 000 §10.1, §5): a hub with `authority_url` is ready only while its authority hub
 * answers `GET /healthz`. The answer is kept for {@link PROBE_TTL_MS}, and one probe runs at a time, so a burst of
 * /readyz requests asks the authority at most once per window.
 */
const PROBE_TTL_MS = 2_000;
const PROBE_TIMEOUT_MS = 2_000;

export class AuthorityProbe {
  #checkedAt = -Infinity;
  #problem: string | undefined;
  #inFlight: Promise<string | undefined> | undefined;

  constructor(
    readonly url: string,
    private readonly now: () => number = Date.now,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  /** Undefined when the authority answered /healthz 200 within the window, else why not (sentence case). */
  problem(): Promise<string | undefined> {
    if (this.now() - this.#checkedAt < PROBE_TTL_MS) return Promise.resolve(this.#problem);
    this.#inFlight ??= this.#probe().then((p) => {
      this.#problem = p;
      this.#checkedAt = this.now();
      this.#inFlight = undefined;
      return p;
    });
    return this.#inFlight;
  }

  async #probe(): Promise<string | undefined> {
    try {
      const r = await this.fetchFn(`${this.url}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await r.body?.cancel();
      return r.status === 200 ? undefined : `Authority "${this.url}" answered /healthz with ${r.status}`;
    } catch (e) {
      return `Authority "${this.url}" is not reachable: ${(e as Error).message}`;
    }
  }
}
