/**
 * The wallet ledger of paid operations (spec-3 §2.3, §7; CLI goals 3 §6.1; overlay decisions "Identity, wallet and
 * operations"): in stream order each paid.operation.v1 debits payer_account and credits payee_account by amount; a
 * map account_id → signed balance. A paid operation sequenced after its payload_hdr.expires_at (set by `op paid
 * --ttl-seconds` to the sender's time + ttl_seconds) is skipped and recorded, as is one sent under an access grant's
 * auth_ref whose amount or currency_code the grant does not cover (overlays/access_grant.ts `paidOutOfBounds`; the
 * bounds are resolved before the fold, `grants`). Identities remapped by a recovery
 * (overlays/recovery_timeline.ts) are folded under the new identity.
 *
 * The balances are sums, so a ledger of a range merges with the next by adding balances (a commutative monoid).
 * state.checkpoint.v1 of class `wallet.ledger`: the state of state_id is the ledger over the paid operations where
 * state_id is payer or payee, `serialized_state` the deterministic CBOR of its balances (a map bstr(32) → int in
 * RFC 8949 §4.2.1 key order), `state_hash = Ht("veen/state-wallet.ledger", serialized_state)` (§7.4).
 */
import { concat, encodeCbor, fromHex, Ht, toHex, writeCborHead } from "../core/mod.ts";
import { type GrantLookup, NO_GRANTS, paidOutOfBounds } from "./access_grant.ts";
import type { OperationRecord } from "./operation_log.ts";

export interface Ledger {
  /** account hex → signed balance. */
  balances: Map<string, bigint>;
  /** Paid operations applied. */
  applied: number;
  /** Paid operations skipped: (stream_seq, why). */
  skipped: { seq: number; reason: string }[];
}

export const emptyLedger = (): Ledger => ({ balances: new Map(), applied: 0, skipped: [] });

/**
 * Adds the paid operations of `records` (stream order) to `l`; `remap` names the account an identity became,
 * `grants` the bounds of the access grant an auth_ref names.
 */
export function applyPaid(
  l: Ledger,
  records: readonly OperationRecord[],
  remap: (account: string) => string = (a) => a,
  grants: GrantLookup = NO_GRANTS,
): Ledger {
  for (const r of records) {
    if (r.codec.name !== "paid.operation.v1") continue;
    if (r.expiresAt !== undefined && r.hubTs > r.expiresAt) {
      l.skipped.push({ seq: r.seq, reason: `sequenced at ${r.hubTs}, after its expiry ${r.expiresAt}` });
      continue;
    }
    const out = r.authRef === undefined
      ? undefined
      : paidOutOfBounds(grants(r.authRef), r.body.amount as number, r.body.currency_code as string);
    if (out !== undefined) {
      l.skipped.push({ seq: r.seq, reason: out });
      continue;
    }
    const amount = BigInt(r.body.amount as number);
    const payer = remap(toHex(r.body.payer_account as Uint8Array));
    const payee = remap(toHex(r.body.payee_account as Uint8Array));
    l.balances.set(payer, (l.balances.get(payer) ?? 0n) - amount);
    l.balances.set(payee, (l.balances.get(payee) ?? 0n) + amount);
    l.applied++;
  }
  return l;
}

/** The ledger monoid: balances add, counts add, skips concatenate. */
export function mergeLedgers(a: Ledger, b: Ledger): Ledger {
  const balances = new Map(a.balances);
  for (const [k, v] of b.balances) balances.set(k, (balances.get(k) ?? 0n) + v);
  return { balances, applied: a.applied + b.applied, skipped: [...a.skipped, ...b.skipped] };
}

const safe = (v: bigint): number => {
  if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new RangeError(`Balance ${v} is beyond 2^53-1`);
};

/** Balances as JSON numbers when safe, else decimal strings; accounts sorted. */
export function balancesJson(l: Ledger): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const k of [...l.balances.keys()].sort()) {
    const v = l.balances.get(k)!;
    out[k] = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  }
  return out;
}

/** The state classes `snapshot verify` and `op state-checkpoint` can fold. */
export const STATE_CLASSES = ["wallet.ledger"] as const;

/** serialized_state of class `wallet.ledger` for `stateId` over `records` up to `upto` (inclusive). */
export function ledgerStateBytes(
  records: readonly OperationRecord[],
  stateId: Uint8Array,
  upto: number,
  grants: GrantLookup = NO_GRANTS,
): Uint8Array {
  const id = toHex(stateId);
  const relevant = records.filter((r) =>
    r.seq <= upto && r.codec.name === "paid.operation.v1" &&
    (toHex(r.body.payer_account as Uint8Array) === id || toHex(r.body.payee_account as Uint8Array) === id)
  );
  const l = applyPaid(emptyLedger(), relevant, undefined, grants);
  // Keys of one length: RFC 8949 §4.2.1 order is the bytewise order, which is the order of their hex.
  const keys = [...l.balances.keys()].sort();
  const head = new Uint8Array(9);
  const n = writeCborHead(head, 0, 5, keys.length);
  return concat(
    head.subarray(0, n),
    ...keys.flatMap((k) => [encodeCbor(fromHex(k, 32)), encodeCbor(safe(l.balances.get(k)!))]),
  );
}

/** `state_hash = Ht("veen/state-" || state_class, serialized_state)` (spec-3 §7.4). */
export function stateHash(stateClass: string, serialized: Uint8Array): Uint8Array {
  return Ht(`veen/state-${stateClass}`, serialized);
}
