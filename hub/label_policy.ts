/**
 * What the hub does with label classes (LCLASS0, spec 002 §6.2; overlay decisions "LCLASS0 and META0+"): the class
 * of a label is the last `veen.label.class.v1` record for it on stream_label_class (overlays/admin_views.ts). A
 * class may name a rate policy — the `class_rates` setting maps a class to `rate/burst` — applied per label in
 * addition to any capability rate; and its `retention_hint` is a retention minimum for COMP0 (the class
 * `long_term`, SDR0's, is never dropped). pad_block belongs to the profile (C17), so it is the same for every class.
 * docs/admin.md "Label classes" says exactly what is enforced.
 */
import { toHex, VeenError } from "../core/mod.ts";
import type { LabelClass, LabelClassView } from "../overlays/mod.ts";
import { type RateGate, RateLimiter } from "./rate_limit.ts";
import type { RetentionPolicy } from "./store.ts";

/** SDR0's class whose labels retention never drops. */
export const LONG_TERM_CLASS = "long_term";

/** The name an unclassified label is counted and shown under. */
export const UNSET_CLASS = "unset";

export interface ClassRate {
  perSec: number;
  burst: number;
}

const CLASS_RATE_RE = /^([^=\s]+)=(\d{1,9})\/(\d{1,9})$/;

/**
 * Parses `class_rates` entries `CLASS=RATE/BURST` (per second; burst at least 1); E.SIZE naming the entry when one
 * is malformed or a class is given twice.
 */
export function parseClassRates(entries: readonly string[]): Map<string, ClassRate> {
  const out = new Map<string, ClassRate>();
  for (const e of entries) {
    const m = CLASS_RATE_RE.exec(e.trim());
    if (m === null || Number(m[3]) < 1) {
      throw new VeenError(
        "E.SIZE",
        `class_rates entry "${e}" must be CLASS=RATE/BURST with BURST at least 1`,
      );
    }
    if (out.has(m[1]!)) throw new VeenError("E.SIZE", `class_rates names class "${m[1]}" twice`);
    out.set(m[1]!, { perSec: Number(m[2]), burst: Number(m[3]) });
  }
  return out;
}

/** `class_rates` back in its config spelling. */
export const classRateText = (r: ClassRate): string => `${r.perSec}/${r.burst}`;

/** Rate gates of each classified label: takes the class token, then the capability's; refunds the first on E.RATE. */
class ClassGate implements RateGate {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly cls: string,
    private readonly rate: ClassRate,
    private readonly cap: RateGate | undefined,
  ) {}

  take(label: Uint8Array, nowMs: number): void {
    const key = toHex(label);
    const wait = this.limiter.tryTake(key, this.rate.perSec, this.rate.burst, nowMs);
    if (wait > 0) {
      throw new VeenError(
        "E.RATE",
        `Rate limit of class "${this.cls}" (${classRateText(this.rate)}) exceeded`,
        { retryAfter: wait },
      );
    }
    try {
      this.cap?.take(label, nowMs);
    } catch (e) {
      this.limiter.refund(key, nowMs);
      throw e;
    }
  }
}

export interface LabelPolicyOptions {
  classes: LabelClassView;
  /** `class_rates`: class → rate/burst per label. */
  rates: Map<string, ClassRate>;
  /** The profile's pad_block (C17): pad_block_effective of every label. */
  padBlock: number;
}

/** The effective classification of a label, as `GET /admin/label-class` and `veen label-class show` print it. */
export interface EffectiveClass {
  label: string;
  class: string | null;
  sensitivity: string | null;
  retention_hint: number | null;
  pad_block_effective: number;
  retention_policy: string;
  rate_policy: string;
  stream_seq: number | null;
}

export class LabelPolicy {
  readonly #limiter = new RateLimiter();

  constructor(private readonly o: LabelPolicyOptions) {}

  /** The class record of `label`, if any: O(1), and nothing at all while no label is classified. */
  classOf(label: Uint8Array): LabelClass | undefined {
    return this.o.classes.size === 0 ? undefined : this.o.classes.get(label);
  }

  /**
   * The rate gate of a MSG on `label` of class `cls`: the capability's gate `cap`, with the class's bucket in front
   * of it when `class_rates` names the class (one bucket per label). `cap` itself when no class rate applies.
   */
  gate(cls: LabelClass | undefined, cap: RateGate | undefined): RateGate | undefined {
    if (cls === undefined || this.o.rates.size === 0) return cap;
    const rate = this.o.rates.get(cls.class);
    return rate === undefined ? cap : new ClassGate(this.#limiter, cls.class, rate, cap);
  }

  /**
   * Whether a log segment holding entries of `labels`, the newest at `lastHubTs`, must stay at `nowSec` although
   * the hub's retention would drop it: a label of class `long_term` holds it forever, a `retention_hint` of R
   * seconds until `lastHubTs + R` (every entry of the segment is then at least R seconds old).
   */
  holds(labels: readonly Uint8Array[], lastHubTs: number, nowSec: number): boolean {
    if (this.o.classes.size === 0) return false;
    for (const l of labels) {
      const c = this.o.classes.get(l);
      if (c === undefined) continue;
      if (c.class === LONG_TERM_CLASS) return true;
      if (c.retentionHint !== undefined && nowSec < lastHubTs + c.retentionHint) return true;
    }
    return false;
  }

  /** `rate_policy` of a class: the `class_rates` entry, or what applies without one. */
  ratePolicy(cls: string | undefined): string {
    const r = cls === undefined ? undefined : this.o.rates.get(cls);
    return r === undefined
      ? "default (capability rate only)"
      : `class ${cls}: ${r.perSec}/s burst ${r.burst} per label, plus any capability rate`;
  }

  /** The classification of `label` in effect, with the hub's `retention` policy (docs/admin.md). */
  effective(label: Uint8Array, retention: RetentionPolicy): EffectiveClass {
    const c = this.o.classes.get(label);
    return {
      label: toHex(label),
      class: c?.class ?? null,
      sensitivity: c?.sensitivity ?? null,
      retention_hint: c?.retentionHint ?? null,
      pad_block_effective: this.o.padBlock,
      retention_policy: retentionPolicyText(c, retention),
      rate_policy: this.ratePolicy(c?.class),
      stream_seq: c?.seq ?? null,
    };
  }
}

const days = (d: number | null) => (d === null ? "forever" : `${d} days`);

/** `retention_policy`: what keeps the label's log entries, in words. */
export function retentionPolicyText(c: LabelClass | undefined, p: RetentionPolicy): string {
  const hub = `hub: receipts ${days(p.receiptsDays)}, payloads ${days(p.payloadsDays)}`;
  if (c?.class === LONG_TERM_CLASS) return `long_term: never dropped (${hub})`;
  if (c?.retentionHint !== undefined) return `at least ${c.retentionHint} s (${hub})`;
  return hub;
}
