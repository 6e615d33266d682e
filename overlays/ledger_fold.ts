/**
 * The wallet ledger fold (CLI goals 3 §6.1; complexity contract, spec 001 L151-203): its summary is the ledger
 * itself (overlays/paid_ledger.ts: signed balances per account, the count of paid operations applied and the
 * expired ones and those out of their access grant's bounds skipped), not the operations, so a warm `wallet
 * ledger` folds only the items after its summary and reads a summary whose size depends on the accounts, not on
 * the length of the stream.
 *
 * merge adds the balances and counts of adjacent ranges and concatenates their skips (`mergeLedgers`): associative,
 * identity the empty ledger; `rangeMonoid` applies it to adjacent ranges only, so each (label, stream_seq) is
 * applied once (P1). Identities are folded as sent: a recovery's identity remap is applied when the ledger is read
 * (`remapLedger`), since the remap depends on the recovery policy of the read.
 *
 * `ledgerFold(grants)` skips a paid operation outside the bounds of the access grant its auth_ref names; `grants`
 * is a synchronous lookup the reader fills before each entry is applied (cli/operation_reader.ts), so apply stays
 * pure. A grant body is immutable (auth_ref commits to it), so the answer does not depend on when it is looked up.
 * LEDGER_FOLD is the same fold with no grant known.
 */
import { damaged, type Fold, jsonArray, jsonObject, jsonUint } from "./fold.ts";
import { type GrantLookup, NO_GRANTS } from "./access_grant.ts";
import { applyOperation } from "./operation_log.ts";
import { applyPaid, emptyLedger, type Ledger, mergeLedgers } from "./paid_ledger.ts";

/** The ledger fold whose paid operations keep the bounds `grants` gives for their auth_ref. */
export const ledgerFold = (grants: GrantLookup): Fold<Ledger> => ({
  /** Not "veen.operations": a ledger summary never replaces an operation log summary. */
  kind: "veen.operations.ledger",
  schema: new Uint8Array(32),
  ranges: true,
  empty: emptyLedger,
  merge: mergeLedgers,
  apply: applyOperation(
    (name) => name === "paid.operation.v1",
    (s, r) => applyPaid(s, [r], undefined, grants),
  ),
  toJson: (s) => ({
    balances: Object.fromEntries(
      [...s.balances.keys()].sort().map((k) => [k, s.balances.get(k)!.toString()]),
    ),
    applied: s.applied,
    skipped: s.skipped,
  }),
  fromJson(v: unknown): Ledger {
    const o = jsonObject(v, "ledger");
    const balances = new Map<string, bigint>();
    for (const [k, b] of Object.entries(jsonObject(o.balances, "balances"))) {
      if (!/^[0-9a-f]{64}$/.test(k)) damaged(`balances key "${k}" is not 32 bytes of hex`);
      if (typeof b !== "string" || !/^-?[0-9]+$/.test(b)) damaged(`balances["${k}"] is not an integer`);
      balances.set(k, BigInt(b));
    }
    return {
      balances,
      applied: jsonUint(o.applied, "applied"),
      skipped: jsonArray(o.skipped, "skipped").map((x) => {
        const r = jsonObject(x, "skipped[]");
        if (typeof r.reason !== "string") damaged("skipped[].reason is not text");
        return { seq: jsonUint(r.seq, "skipped[].seq"), reason: r.reason };
      }),
    };
  },
});

export const LEDGER_FOLD: Fold<Ledger> = ledgerFold(NO_GRANTS);

/** The ledger with each account's balance moved to the identity `remap` names (balances of merged ones add). */
export function remapLedger(l: Ledger, remap: (account: string) => string): Ledger {
  const balances = new Map<string, bigint>();
  for (const [k, v] of l.balances) {
    const to = remap(k);
    balances.set(to, (balances.get(to) ?? 0n) + v);
  }
  return { balances, applied: l.applied, skipped: l.skipped };
}
