/**
 * Access grants (spec-3 §3; overlay decisions, "Identity, wallet and operations"): access.grant.v1 and
 * access.revoke.v1 are admin records on stream_fed_admin, sealed to the realm admin key, so the hub can enforce
 * them (A2: admission derives from the current grants and revokes plus the bootstrapped capabilities).
 *
 * - A grant admits MSGs whose client_id equals `subject_identity` to the epoch-0 labels of `allowed_stream_ids`
 *   until `expiry_time` (inclusive, as a cap's expiry), at `maximum_rate_per_second` / `maximum_burst` when set,
 *   under the derived `auth_ref = Ht("veen/cap", CBOR(grant body))` (§3.3).
 * - A revoke with `target_capability_reference` removes that grant (when it is the subject's); without one it
 *   removes every grant of `subject_identity` folded so far. A later grant is not affected by an earlier revoke.
 * - Only admin authors can write them (A1): the admin plane's author check.
 * - `maximum_amount` and `currency_code` bound the paid operations sent under the grant's auth_ref (§3.2). The hub
 *   cannot read paid bodies (sealed end to end), so the bound is the client's: `op paid` refuses before sending and
 *   the ledger skips an operation out of bounds (`paidOutOfBounds`). The bound is the grant body, which auth_ref
 *   commits to: a later revoke does not change it, so operations applied before a revoke stay applied.
 */
import { type CborValue, Ht, toHex } from "../core/mod.ts";
import { BodyCodec, type BodyRecord } from "./body_codec.ts";
import type { AdminRecordEntry, AdminView, ViewRow } from "./admin_views.ts";

const PARENT = { name: "parent_operation_id", type: "bytes32", optional: true } as const;

/** access.grant.v1 (§3.2). */
export const ACCESS_GRANT = new BodyCodec("access.grant.v1", [
  { name: "subject_identity", type: "bytes32" },
  { name: "subject_label", type: "text", optional: true },
  { name: "allowed_stream_ids", type: "bytes32[]" },
  { name: "expiry_time", type: "uint" },
  { name: "maximum_rate_per_second", type: "uint", optional: true },
  { name: "maximum_burst", type: "uint", optional: true },
  { name: "maximum_amount", type: "uint", optional: true },
  { name: "currency_code", type: "text", optional: true },
  { name: "reason", type: "text", optional: true },
  PARENT,
]);

/** access.revoke.v1 (§3.2). */
export const ACCESS_REVOKE = new BodyCodec("access.revoke.v1", [
  { name: "subject_identity", type: "bytes32" },
  { name: "target_capability_reference", type: "bytes32", optional: true },
  { name: "reason", type: "text", optional: true },
  PARENT,
]);

/** The derived `auth_ref = Ht("veen/cap", CBOR(grant body))` of a grant (its canonical body bytes). */
export function grantAuthRef(grantBody: Uint8Array): Uint8Array {
  return Ht("veen/cap", grantBody);
}

/** What a grant bounds a paid operation by (§3.2): at most maximum_amount, in currency_code when named. */
export interface GrantBounds {
  maximumAmount?: number;
  currencyCode?: string;
}

/** The bounds of a decoded access.grant.v1 body. */
export function grantBoundsOf(b: BodyRecord): GrantBounds {
  return {
    ...(b.maximum_amount === undefined ? {} : { maximumAmount: b.maximum_amount as number }),
    ...(b.currency_code === undefined ? {} : { currencyCode: b.currency_code as string }),
  };
}

/** The bounds of the grant whose derived auth_ref is `authRef`, undefined when it names no grant. */
export type GrantLookup = (authRef: Uint8Array) => GrantBounds | undefined;

/** No grant known (every auth_ref binds nothing). */
export const NO_GRANTS: GrantLookup = () => undefined;

/**
 * Why a paid operation of `amount` in `currency` is outside the grant bounds `b` (E.CAP: the capability it was sent
 * under does not cover it), or undefined when it is within them (an amount equal to maximum_amount is within).
 */
export function paidOutOfBounds(
  b: GrantBounds | undefined,
  amount: number | bigint,
  currency: string,
): string | undefined {
  if (b === undefined) return undefined;
  if (b.maximumAmount !== undefined && BigInt(amount) > BigInt(b.maximumAmount)) {
    return `amount ${amount} is over the access grant's maximum_amount ${b.maximumAmount} (E.CAP)`;
  }
  if (b.currencyCode !== undefined && currency !== b.currencyCode) {
    return `currency_code "${currency}" is not the access grant's "${b.currencyCode}" (E.CAP)`;
  }
  return undefined;
}

export interface AccessGrant extends GrantBounds {
  authRef: Uint8Array;
  subject: Uint8Array;
  streamIds: Uint8Array[];
  expiryTime: number;
  perSec?: number;
  burst?: number;
  /** stream_seq of the grant on stream_fed_admin. */
  seq: number;
  /** stream_seq of the revoke that removed it, if any. */
  revokedSeq?: number;
}

function grantOf(body: Uint8Array, seq: number, revokedSeq: number | null): AccessGrant {
  const b = ACCESS_GRANT.decode(body);
  return {
    authRef: grantAuthRef(body),
    subject: b.subject_identity as Uint8Array,
    streamIds: b.allowed_stream_ids as Uint8Array[],
    expiryTime: b.expiry_time as number,
    seq,
    ...(b.maximum_rate_per_second === undefined ? {} : { perSec: b.maximum_rate_per_second as number }),
    ...(b.maximum_burst === undefined ? {} : { burst: b.maximum_burst as number }),
    ...grantBoundsOf(b),
    ...(revokedSeq === null ? {} : { revokedSeq }),
  };
}

/**
 * Grants by derived auth_ref. A persisted row is `[stream_seq, grant body bytes, revoke stream_seq | null]`: the
 * record itself through its codec, and whether a revoke removed it. Lookups are O(1); a revoke without target is
 * O(grants of the subject).
 */
export class GrantView implements AdminView {
  readonly name = "access_grants";
  readonly stream = "fed_admin";
  #rows = new Map<string, { grant: AccessGrant; body: Uint8Array }>();
  #bySubject = new Map<string, Set<string>>();

  get size(): number {
    return this.#rows.size;
  }

  #put(key: string, grant: AccessGrant, body: Uint8Array): ViewRow {
    this.#rows.set(key, { grant, body });
    const s = toHex(grant.subject);
    const set = this.#bySubject.get(s) ?? new Set();
    set.add(key);
    this.#bySubject.set(s, set);
    return [key, [grant.seq, body, grant.revokedSeq ?? null]];
  }

  apply(e: AdminRecordEntry): ViewRow[] {
    if (e.codec === ACCESS_GRANT) {
      const body = ACCESS_GRANT.encode(e.body);
      const key = toHex(grantAuthRef(body));
      if (this.#rows.has(key)) return []; // the same body again derives the same auth_ref: the first one stands
      return [this.#put(key, grantOf(body, e.seq, null), body)];
    }
    if (e.codec !== ACCESS_REVOKE) return [];
    const subject = toHex(e.body.subject_identity as Uint8Array);
    const target = e.body.target_capability_reference as Uint8Array | undefined;
    const keys = target === undefined ? [...(this.#bySubject.get(subject) ?? [])] : [toHex(target)];
    const out: ViewRow[] = [];
    for (const key of keys) {
      const row = this.#rows.get(key);
      if (row === undefined || row.grant.revokedSeq !== undefined || toHex(row.grant.subject) !== subject) {
        continue;
      }
      out.push(this.#put(key, { ...row.grant, revokedSeq: e.seq }, row.body));
    }
    return out;
  }

  load([key, v]: ViewRow): void {
    const [seq, body, revoked] = v as [number, Uint8Array, number | null];
    this.#put(key, grantOf(body, seq, revoked), body);
  }

  clear(): void {
    this.#rows.clear();
    this.#bySubject.clear();
  }

  /** The grant whose derived auth_ref is `authRef` (revoked or not), if any. O(1). */
  get(authRef: Uint8Array): AccessGrant | undefined {
    return this.#rows.get(toHex(authRef))?.grant;
  }

  /** The grant body (CBOR, as its auth_ref derives from) of `authRef`, if any. O(1). */
  body(authRef: Uint8Array): Uint8Array | undefined {
    return this.#rows.get(toHex(authRef))?.body;
  }

  /** Every grant, in stream order. */
  list(): AccessGrant[] {
    return [...this.#rows.values()].map((r) => r.grant).sort((a, b) => a.seq - b.seq);
  }
}

/** A grant as JSON (routes and CLI). */
export function grantJson(g: AccessGrant, now: number): Record<string, CborValue> {
  return {
    auth_ref: toHex(g.authRef),
    subject_identity: toHex(g.subject),
    allowed_stream_ids: g.streamIds.map(toHex),
    expiry_time: g.expiryTime,
    maximum_rate_per_second: g.perSec ?? null,
    maximum_burst: g.burst ?? null,
    maximum_amount: g.maximumAmount ?? null,
    currency_code: g.currencyCode ?? null,
    stream_seq: g.seq,
    revoked: g.revokedSeq !== undefined,
    active: g.revokedSeq === undefined && now <= g.expiryTime,
  };
}
