/**
 * A tenant hub's own follower of its admin source (docs/federation.md "Tenant hubs"): with `admin_source_poll_ms`
 * set, the hub pulls its admin labels itself, as `veen bridge --replicate --follow` would: per label, the source's
 * `/stream` page after this hub's head goes through the replication intake (hub/replication.ts, which checks the
 * source's key and folds the entries before it returns), then the source's latest CHECKPOINT when this hub holds
 * its upto_seq and has an older one. A pass that moved nothing doubles the wait up to 8× the poll interval; a
 * source that cannot be reached is retried. Each page starts at this hub's head, so the intake compares the entry
 * both hold there: a label where they differ (equivocation, logged with both RECEIPTs by the intake), or where this
 * hub holds more entries than the source, stops, and nothing is overwritten.
 */
import { decodeCheckpoint, toHex, VeenError } from "../core/mod.ts";
import type { AdminStreamIds } from "../overlays/mod.ts";
import type { AdminSource } from "./admin_source.ts";
import type { Logger } from "./logger.ts";
import type { Replication } from "./replication.ts";
import type { HubStore } from "./store.ts";

/** Items asked per `/stream` page. */
const PAGE_ITEMS = 256;
const REQUEST_TIMEOUT_MS = 10_000;

export interface AdminFollowerOptions {
  source: AdminSource;
  streams: readonly AdminStreamIds[];
  replication: Pick<Replication, "intake" | "intakeCheckpoints">;
  store: Pick<HubStore, "head" | "latestCheckpoint">;
  pollMs: number;
  log: Logger;
}

export class AdminFollower {
  readonly #abort = new AbortController();
  readonly #stopped = new Set<string>();
  #running: Promise<void> | undefined;
  #failing = false;
  readonly #startedAt = Date.now();
  #syncedAt: number | undefined;

  constructor(private readonly o: AdminFollowerOptions) {}

  /** Seconds since the last pass that completed against the source (or since the start, before the first). */
  lagSec(nowMs: number): number {
    return Math.max(0, Math.floor((nowMs - (this.#syncedAt ?? this.#startedAt)) / 1000));
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops the loop and waits for a pass in progress to end. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  async #loop(): Promise<void> {
    let wait = this.o.pollMs;
    while (!this.#abort.signal.aborted) {
      let moved = 0;
      try {
        moved = await this.pass();
        this.#syncedAt = Date.now();
        if (this.#failing) this.o.log.info("admin source reachable again", { url: this.o.source.url });
        this.#failing = false;
      } catch (e) {
        if (this.#abort.signal.aborted) return;
        if (!this.#failing) {
          this.o.log.warn("admin source pull failed; retrying", { url: this.o.source.url, error: String(e) });
        }
        this.#failing = true;
      }
      wait = moved > 0 ? this.o.pollMs : Math.min(wait * 2, this.o.pollMs * 8);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        this.#abort.signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
  }

  /** One pass over the admin labels; returns the entries and checkpoints stored. */
  async pass(): Promise<number> {
    const key = await this.o.source.key();
    let moved = 0;
    for (const s of this.o.streams) {
      const label = toHex(s.label);
      if (this.#stopped.has(label) || this.#abort.signal.aborted) continue;
      const head = this.o.store.head(s.label)?.seq ?? 0;
      // From the head itself: the intake compares the entry both hold there (equivocation) before it appends.
      const page = await this.#get(`/stream?label=${label}&from=${Math.max(1, head)}&limit=${PAGE_ITEMS}`);
      if (head > 0 && (page === undefined || page.length === 0)) {
        this.#stop(s, `this hub holds ${head} entries, its admin source fewer`);
        continue;
      }
      if (page !== undefined && page.length > 0) {
        try {
          const r = await this.o.replication.intake(key, page);
          moved += r.appended;
          if (r.appended > 0) {
            this.o.log.info("admin source entries replicated", {
              stream: s.name,
              appended: r.appended,
              seq: r.seq,
            });
          }
        } catch (e) {
          if (!(e instanceof VeenError && e.code === "E.SEQ" && e.detail.startsWith("Equivocation"))) throw e;
          this.#stop(s, e.detail);
          continue;
        }
      }
      moved += await this.#checkpoint(s, key);
    }
    return moved;
  }

  /** Stops following `s` (the intake logged both RECEIPTs of an equivocation); nothing is overwritten. */
  #stop(s: AdminStreamIds, detail: string): void {
    this.#stopped.add(toHex(s.label));
    this.o.log.error("admin label stopped: this hub and its admin source hold different entries", {
      stream: s.name,
      detail,
    });
  }

  /** Stores the source's latest CHECKPOINT of `s` when this hub holds its upto_seq and has an older one. */
  async #checkpoint(s: AdminStreamIds, key: Uint8Array): Promise<number> {
    const cp = await this.#get(`/checkpoint_latest?label=${toHex(s.label)}`);
    if (cp === undefined) return 0;
    const upto = decodeCheckpoint(cp).uptoSeq;
    const mine = await this.o.store.latestCheckpoint(s.label);
    if (upto > (this.o.store.head(s.label)?.seq ?? 0)) return 0;
    if (mine !== undefined && decodeCheckpoint(mine).uptoSeq >= upto) return 0;
    const { stored } = await this.o.replication.intakeCheckpoints(key, cp);
    if (stored > 0) this.o.log.info("admin source checkpoint stored", { stream: s.name, upto_seq: upto });
    return stored;
  }

  /** GET `path` from the source: the body, or undefined on 404 (E.UNAVAILABLE for anything else). */
  async #get(path: string): Promise<Uint8Array | undefined> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
    const r = await fetch(this.o.source.url + path, { signal });
    const body = new Uint8Array(await r.arrayBuffer());
    if (r.status === 404) return undefined;
    if (r.status !== 200) {
      throw new VeenError("E.UNAVAILABLE", `Admin source answered ${r.status} to ${path.split("?")[0]}`);
    }
    return body;
  }
}
