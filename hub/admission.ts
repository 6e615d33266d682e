/**
 * Capability admission (spec 004 §11, OP0.2, 003 §6): `/authorize` installs a record keyed by auth_ref for a token
 * whose chain verifies and whose issuer the hub trusts; `/submit` then requires MSG.auth_ref to name a live record
 * whose subject is client_id and whose stream_ids map to the label. Stream scoping is enforced because the hub knows
 * the routing key: `label = Ht("veen/label", routing_key || stream_id || u64be(epoch))` with epoch 0, or, when label
 * epochs are enabled, any epoch within ±clock_skew_epochs of the hub's epoch (an epoch further out is E.TIME, §4).
 *
 * issued_at (KEX1+ §4.2, hub_ts variant: the token carries no signed time) is the hub_ts at which the hub first
 * authorized a token of the same cap root (core capRoot), and the RL0 bucket is per (cap root, label): a prefix or
 * variant of a chain shares its expiry and its bucket, so re-presenting one never extends the capability.
 */
import {
  authRef as authRefOf,
  bytesEqual,
  capExpiresAt,
  capRoot,
  type CapToken,
  decodeCapToken,
  epochOf,
  labelFor,
  Lru,
  type Msg,
  toHex,
  VeenError,
  verifyCapChain,
} from "../core/mod.ts";
import type { AdmissionRecord, HubStore } from "./store.ts";
import { Lock } from "./files.ts";
import { type RateGate, RateLimiter } from "./rate_limit.ts";

export interface AdmissionOptions {
  required: boolean;
  trustedIssuers: Uint8Array[];
  routingKey: Uint8Array;
  maxCapChain: number;
  /** Label rotation per profile epoch (off by default: one label per stream). */
  labelEpochs: boolean;
  epochSec: number;
  clockSkewEpochs: number;
  /** TEST-ONLY config key `unsafe_cap_ttl_millis`: ttl read as milliseconds (hub/config.ts). */
  unsafeCapTtlMillis?: boolean;
  /** KEX1+ `max_cap_ttl_sec`: /authorize refuses a cap_token with a longer ttl (E.CAP); null: no bound. */
  maxCapTtlSec?: number | null;
}

/** How far outside the skew window a label is still recognised (to answer E.TIME rather than E.CAP). */
const EPOCH_SEARCH = 16;

interface LiveRecord {
  rec: AdmissionRecord;
  labels: Set<string>;
  labelsEpoch: number;
  /** The record's MSG buckets; undefined when the capability sets no rate. */
  gate: RateGate | undefined;
}

/**
 * The MSG buckets of one admission record: one per (cap root, label) (OP0.3, keyed by the root rather than auth_ref
 * so that the tokens of one chain share it).
 */
class CapRootGate implements RateGate {
  private readonly root: string;

  constructor(
    private readonly limiter: RateLimiter,
    capRoot: Uint8Array,
    private readonly perSec: number,
    private readonly burst: number,
  ) {
    this.root = toHex(capRoot);
  }

  take(label: Uint8Array, nowMs: number): void {
    const wait = this.limiter.tryTake(this.root + toHex(label), this.perSec, this.burst, nowMs);
    if (wait > 0) {
      throw new VeenError("E.RATE", `Rate limit of ${this.perSec}/s exceeded`, { retryAfter: wait });
    }
  }
}

export class Admission {
  private readonly cache = new Lru<LiveRecord>(50_000);
  private readonly limiter = new RateLimiter();
  /** Installs run one at a time, so concurrent tokens of one cap root get one issued_at. */
  private readonly installs = new Lock();

  constructor(private readonly store: HubStore, private readonly opts: AdmissionOptions) {}

  get required(): boolean {
    return this.opts.required;
  }

  private trusted(issuer: Uint8Array): boolean {
    return this.opts.trustedIssuers.some((k) => bytesEqual(k, issuer));
  }

  private labelsFor(rec: AdmissionRecord, epochs: number[]): Set<string> {
    const out = new Set<string>();
    for (const e of epochs) {
      for (const s of rec.streamIds) out.add(toHex(labelFor(s, this.opts.routingKey, e)));
    }
    return out;
  }

  private window(epoch: number, radius: number): number[] {
    const out: number[] = [];
    for (let e = Math.max(0, epoch - radius); e <= epoch + radius; e++) out.push(e);
    return out;
  }

  private live(rec: AdmissionRecord): LiveRecord {
    const l: LiveRecord = {
      rec,
      labels: this.opts.labelEpochs ? new Set<string>() : this.labelsFor(rec, [0]),
      labelsEpoch: -1,
      gate: rec.perSec === null
        ? undefined
        : new CapRootGate(this.limiter, rec.capRoot, rec.perSec, rec.burst ?? rec.perSec),
    };
    this.cache.set(toHex(rec.authRef), l);
    return l;
  }

  /** POST /authorize: verifies and installs (or returns the existing) record; `now` is hub time in seconds. */
  async authorize(tokenBytes: Uint8Array, now: number): Promise<AdmissionRecord> {
    const token: CapToken = decodeCapToken(tokenBytes, this.opts.maxCapChain);
    verifyCapChain(token, this.opts.maxCapChain);
    if (!this.trusted(token.issuerPk)) {
      throw new VeenError(
        "E.CAP",
        `cap_token issuer ${toHex(token.issuerPk).slice(0, 16)}… is not trusted by this hub`,
      );
    }
    const ttl = this.opts.unsafeCapTtlMillis === true ? Math.floor(token.allow.ttl / 1000) : token.allow.ttl;
    const maxTtl = this.opts.maxCapTtlSec ?? null;
    if (maxTtl !== null && ttl > maxTtl) {
      throw new VeenError("E.CAP", `cap_token ttl ${ttl} exceeds this hub's max_cap_ttl_sec ${maxTtl}`);
    }
    const ref = authRefOf(token);
    const root = capRoot(token);
    return await this.installs.run(async () => {
      const existing = await this.liveRecord(ref);
      if (existing !== undefined) return existing.rec;
      const issuedAt = Math.min(now, (await this.store.capRootIssuedAt(root)) ?? now);
      const expiresAt = capExpiresAt(issuedAt, ttl);
      if (now > expiresAt) {
        throw new VeenError("E.CAP", `Capability expired at ${expiresAt} (hub time ${now})`);
      }
      const rec: AdmissionRecord = {
        authRef: ref,
        capToken: tokenBytes,
        subjectPk: token.subjectPk,
        streamIds: token.allow.streamIds,
        ttl: token.allow.ttl,
        perSec: token.allow.rate?.perSec ?? null,
        burst: token.allow.rate?.burst ?? null,
        issuedAt,
        expiresAt,
        capRoot: root,
      };
      await this.store.putAdmission(rec);
      return this.live(rec).rec;
    });
  }

  /** The installed admission record for `ref`, if any. */
  async record(ref: Uint8Array): Promise<AdmissionRecord | undefined> {
    return (await this.liveRecord(ref))?.rec;
  }

  private async liveRecord(ref: Uint8Array): Promise<LiveRecord | undefined> {
    const hit = this.cache.get(toHex(ref));
    if (hit !== undefined) return hit;
    const rec = await this.store.getAdmission(ref);
    if (rec === undefined) return undefined;
    // A record installed before issued_at was bound to the cap root may be later than its root's.
    const rootAt = await this.store.capRootIssuedAt(rec.capRoot);
    if (rootAt === undefined || rootAt >= rec.issuedAt) return this.live(rec);
    return this.live({ ...rec, issuedAt: rootAt, expiresAt: rootAt + rec.ttl });
  }

  /**
   * The capability stage of /submit (OP0.1 step 4, OP0.2): MSG.auth_ref must name an installed record (E.AUTH) whose
   * subject is client_id, that has not expired and that allows the label (E.CAP; E.TIME for a label epoch outside
   * the skew window). Resolves with the record's rate gate for the sequencer (undefined when the capability sets no
   * rate or admission is not required); `now` is hub time in seconds.
   */
  async check(msg: Msg, now: number): Promise<RateGate | undefined> {
    if (!this.opts.required) return undefined;
    if (msg.authRef === null) {
      throw new VeenError("E.AUTH", "This hub requires admission: MSG.auth_ref is missing");
    }
    const live = await this.liveRecord(msg.authRef);
    if (live === undefined) {
      throw new VeenError("E.AUTH", "No admission record for auth_ref; POST /authorize first");
    }
    const { rec } = live;
    if (!bytesEqual(rec.subjectPk, msg.clientId)) {
      throw new VeenError("E.CAP", "client_id is not the capability's subject");
    }
    if (now > rec.expiresAt) {
      throw new VeenError("E.CAP", `Capability expired at ${rec.expiresAt} (hub time ${now})`);
    }
    const label = toHex(msg.label);
    if (this.opts.labelEpochs) {
      const epoch = epochOf(now, this.opts.epochSec);
      if (live.labelsEpoch !== epoch) {
        live.labels = this.labelsFor(rec, this.window(epoch, this.opts.clockSkewEpochs));
        live.labelsEpoch = epoch;
      }
      if (!live.labels.has(label)) {
        const wide = this.labelsFor(rec, this.window(epoch, this.opts.clockSkewEpochs + EPOCH_SEARCH));
        if (wide.has(label)) {
          throw new VeenError("E.TIME", "Label epoch is outside the accepted clock-skew window");
        }
      }
    }
    if (!live.labels.has(label)) throw new VeenError("E.CAP", "Label is not allowed by the capability");
    return live.gate;
  }

  /**
   * POST /attachments (docs/protocol.md "Attachments"): when admission is required, `ref` (the `veen-auth-ref`
   * header) must name an installed record (E.AUTH) that has not expired (E.CAP), and each upload takes one token
   * from the record's attachment bucket, separate from its per-label MSG buckets (E.RATE with Retry-After).
   * Without admission an upload needs nothing here.
   */
  async checkUpload(ref: Uint8Array | null, now: number, nowMs: number): Promise<void> {
    if (!this.opts.required) return;
    if (ref === null) {
      throw new VeenError("E.AUTH", "This hub requires admission: the veen-auth-ref header is missing");
    }
    const rec = (await this.liveRecord(ref))?.rec;
    if (rec === undefined) {
      throw new VeenError("E.AUTH", "No admission record for auth_ref; POST /authorize first");
    }
    if (now > rec.expiresAt) {
      throw new VeenError("E.CAP", `Capability expired at ${rec.expiresAt} (hub time ${now})`);
    }
    if (rec.perSec === null) return;
    const wait = this.limiter.tryTake(
      toHex(rec.capRoot) + "/attachments",
      rec.perSec,
      rec.burst ?? rec.perSec,
      nowMs,
    );
    if (wait > 0) {
      throw new VeenError("E.RATE", `Rate limit of ${rec.perSec}/s exceeded`, { retryAfter: wait });
    }
  }
}
