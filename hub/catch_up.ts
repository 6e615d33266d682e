/**
 * Catch-up after an authority flip (overlay decisions "FED1 / AUTH1", docs/replication.md "After a flip"): when
 * the record deciding a label now makes this hub primary and the record before it named another hub, client
 * submits on the label get 503 E.UNAVAILABLE `catching up` until this hub holds as many entries as the old
 * primary (asked through `peer_hubs`: GET /info for its hub_id, GET /healthz?label for its last seq). `veen hub
 * promote --stream` (DIR/promotions.json) forces the cutover when the old primary is gone. Once caught up, a
 * label stays so for that record (in memory; a restart asks again).
 */
import { bytesEqual, fromHex, toHex, VeenError } from "../core/mod.ts";
import type { AuthorityRecord, AuthorityView } from "../overlays/mod.ts";
import type { HubStore } from "./store.ts";

/** `DIR/promotions.json`: `{stream_id hex: {promoted_at, label, local_seq, old_primary_seq}}` (hub/promote.ts). */
export const PROMOTIONS_FILE = "promotions.json";
/** An old primary's answer is reused for this long before it is asked again. */
const ASK_EVERY_MS = 1000;
const ASK_TIMEOUT_MS = 2000;

export interface CatchUpContext {
  authority: AuthorityView;
  hubId: Uint8Array;
  store: HubStore;
  streamIdOf: (label: Uint8Array) => Uint8Array | undefined;
  /** `peer_hubs`: URLs of the other hubs of the set. */
  peers: readonly string[];
  dataDir: string;
  now: () => number;
}

export interface Promotion {
  promoted_at: number;
  label: string;
  local_seq: number;
  old_primary_seq: number | null;
}

/** Reads DIR/promotions.json (empty when missing). */
export async function readPromotions(dataDir: string): Promise<Record<string, Promotion>> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dataDir}/${PROMOTIONS_FILE}`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw new VeenError("E.UNAVAILABLE", `Cannot read ${PROMOTIONS_FILE}: ${(e as Error).message}`);
  }
}

/** An old primary's last seq of a label, from its /healthz (undefined when it cannot be asked). */
export async function lastSeqAt(url: string, label: Uint8Array): Promise<number | undefined> {
  try {
    const r = await fetch(`${url.replace(/\/+$/, "")}/healthz?label=${toHex(label)}`, {
      signal: AbortSignal.timeout(ASK_TIMEOUT_MS),
    });
    const j = await r.json() as { last_stream_seq?: unknown };
    return typeof j.last_stream_seq === "number" ? j.last_stream_seq : undefined;
  } catch {
    return undefined;
  }
}

export class CatchUp {
  /** label hex → the deciding record's seq for which the label needs no (more) catching up. */
  readonly #settled = new Map<string, number>();
  /** hub_id hex → URL, learnt from the peers' /info. */
  readonly #peerUrls = new Map<string, string>();
  readonly #asked = new Map<string, { at: number; seq: Promise<number | undefined> }>();

  constructor(private readonly c: CatchUpContext) {}

  /** Undefined when client submits on `label` may go on now; else a promise that rejects with 503 while catching up. */
  check(label: Uint8Array, nowSec: number): Promise<void> | undefined {
    if (this.c.authority.size === 0) return undefined;
    const streamId = this.c.streamIdOf(label);
    const rec = streamId === undefined ? undefined : this.c.authority.deciding(streamId, nowSec);
    if (rec === undefined || !bytesEqual(rec.primaryHub, this.c.hubId)) return undefined;
    const hex = toHex(label);
    if (this.#settled.get(hex) === rec.seq) return undefined;
    const old = this.previousPrimary(rec);
    if (old === undefined) {
      this.#settled.set(hex, rec.seq);
      return undefined;
    }
    return this.catchingUp(label, hex, rec, old);
  }

  /**
   * The primary the flip took the label from: the primary_hub of the record that decided the stream just before
   * `rec` took effect (same precedence rule, AuthorityView.deciding), when that is another hub. None when the
   * stream was unspecified then (nothing to catch up with).
   */
  private previousPrimary(rec: AuthorityRecord): Uint8Array | undefined {
    const prev = this.c.authority.deciding(rec.streamId, rec.ts - 1);
    return prev === undefined || bytesEqual(prev.primaryHub, this.c.hubId) ? undefined : prev.primaryHub;
  }

  private async catchingUp(
    label: Uint8Array,
    hex: string,
    rec: AuthorityRecord,
    old: Uint8Array,
  ): Promise<void> {
    const promoted = (await readPromotions(this.c.dataDir))[toHex(rec.streamId)];
    if (promoted !== undefined && promoted.promoted_at >= rec.ts) {
      this.#settled.set(hex, rec.seq);
      return;
    }
    const local = this.c.store.head(label)?.seq ?? 0;
    const oldSeq = await this.ask(old, label);
    if (oldSeq !== undefined && local >= oldSeq) {
      this.#settled.set(hex, rec.seq);
      return;
    }
    throw new VeenError(
      "E.UNAVAILABLE",
      oldSeq === undefined
        ? `catching up: the old primary ${toHex(old)} of label ${hex} cannot be asked (peer_hubs); ` +
          `"veen hub promote --stream" forces the cutover`
        : `catching up: this hub holds ${local} of the old primary's ${oldSeq} entries of label ${hex}`,
      { retryAfter: 1 },
    );
  }

  /** The old primary's last seq of `label`, asked at most once per second (concurrent callers share one ask). */
  private ask(oldId: Uint8Array, label: Uint8Array): Promise<number | undefined> {
    const key = toHex(oldId) + toHex(label);
    const prior = this.#asked.get(key);
    const now = this.c.now();
    if (prior !== undefined && now - prior.at < ASK_EVERY_MS) return prior.seq;
    const seq = this.urlOf(oldId).then((url) => url === undefined ? undefined : lastSeqAt(url, label));
    this.#asked.set(key, { at: now, seq });
    return seq;
  }

  private async urlOf(hubId: Uint8Array): Promise<string | undefined> {
    const id = toHex(hubId);
    if (!this.#peerUrls.has(id)) {
      for (const url of this.c.peers) {
        try {
          const r = await fetch(`${url.replace(/\/+$/, "")}/info`, {
            signal: AbortSignal.timeout(ASK_TIMEOUT_MS),
          });
          const info = await r.json() as { hub_id?: unknown };
          if (typeof info.hub_id === "string") {
            this.#peerUrls.set(toHex(fromHex(info.hub_id, 32, "hub_id")), url);
          }
        } catch { /* unreachable now: asked again next time */ }
      }
    }
    return this.#peerUrls.get(id);
  }
}
