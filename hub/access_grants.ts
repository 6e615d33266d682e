/**
 * The capability stage for access grants (spec-3 §3.3-3.4; overlay decisions, "Identity, wallet and operations"):
 * a MSG whose auth_ref is the derived auth_ref of a grant in the admin plane's grant view is admitted when its
 * client_id is the grant's subject_identity (E.CAP), the grant is not revoked (E.AUTH), hub time is at most
 * expiry_time (E.CAP), and its label is the epoch-0 label of one of allowed_stream_ids (E.CAP). The grant's rate
 * and burst are one token bucket per (grant, label), taken at the sequence stage like a capability's (E.RATE).
 */
import { bytesEqual, labelFor, type Msg, toHex, VeenError } from "../core/mod.ts";
import type { AccessGrant, GrantView } from "../overlays/mod.ts";
import { type RateGate, RateLimiter } from "./rate_limit.ts";

export class AccessGrants {
  readonly #limiter = new RateLimiter();
  /** Allowed labels per grant (hex auth_ref → hex labels), computed once. */
  readonly #labels = new Map<string, Set<string>>();

  constructor(private readonly view: GrantView, private readonly routingKey: Uint8Array) {}

  /**
   * The rate gate of the grant `msg.auth_ref` names, after its checks; `null` when it names no grant (the caller
   * then runs the capability admission); undefined when the grant sets no rate. `now` is hub time in seconds.
   */
  check(msg: Msg, now: number): RateGate | undefined | null {
    if (msg.authRef === null || this.view.size === 0) return null;
    const g = this.view.get(msg.authRef);
    if (g === undefined) return null;
    if (!bytesEqual(g.subject, msg.clientId)) {
      throw new VeenError("E.CAP", "client_id is not the access grant's subject_identity");
    }
    if (g.revokedSeq !== undefined) {
      throw new VeenError("E.AUTH", `Access grant revoked (stream_fed_admin seq ${g.revokedSeq})`);
    }
    if (now > g.expiryTime) {
      throw new VeenError("E.CAP", `Access grant expired at ${g.expiryTime} (hub time ${now})`);
    }
    if (!this.#labelsOf(g).has(toHex(msg.label))) {
      throw new VeenError("E.CAP", "Label is not allowed by the access grant");
    }
    if (g.perSec === undefined && g.burst === undefined) return undefined;
    const perSec = g.perSec ?? g.burst!;
    const burst = g.burst ?? perSec;
    const key = toHex(g.authRef);
    return {
      take: (label: Uint8Array, nowMs: number) => {
        const wait = this.#limiter.tryTake(key + toHex(label), perSec, burst, nowMs);
        if (wait > 0) {
          throw new VeenError("E.RATE", `Rate limit of the access grant (${perSec}/s) exceeded`, {
            retryAfter: wait,
          });
        }
      },
    };
  }

  #labelsOf(g: AccessGrant): Set<string> {
    const key = toHex(g.authRef);
    let set = this.#labels.get(key);
    if (set === undefined) {
      set = new Set(g.streamIds.map((s) => toHex(labelFor(s, this.routingKey, 0))));
      this.#labels.set(key, set);
    }
    return set;
  }
}
