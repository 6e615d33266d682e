/** The wallet ledger fold: the sequential ledger of the operation log, a monoid, and a bounded summary. */
import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import type { GrantBounds, GrantLookup } from "./access_grant.ts";
import { LEDGER_FOLD, ledgerFold, remapLedger } from "./ledger_fold.ts";
import { OPERATION_LOG } from "./operation_log.ts";
import { PAID_OPERATION, RECOVERY_REQUEST } from "./operation_profiles.ts";
import { applyPaid, balancesJson, emptyLedger } from "./paid_ledger.ts";
import { prng } from "../tests/util.ts";
import { checkMergeLaws, entry, foldAll, sequence } from "./testing/laws.ts";
import type { OverlayEntry } from "./fold.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);
const paid = (payer: number, payee: number, amount: number, expiresAt?: number) => (seq: number) =>
  entry(
    seq,
    PAID_OPERATION.schemaId,
    PAID_OPERATION.encode({
      operation_type: "t",
      operation_args: null,
      payer_account: b32(payer),
      payee_account: b32(payee),
      amount,
      currency_code: "c",
    }),
    b32(1),
    expiresAt === undefined ? {} : { expiresAt },
  );
const other = (seq: number) =>
  entry(
    seq,
    RECOVERY_REQUEST.schemaId,
    RECOVERY_REQUEST.encode({ target_identity: b32(1), requested_new_identity: b32(2) }),
  );
const broken = (seq: number) => entry(seq, PAID_OPERATION.schemaId, new Uint8Array([0xa0]));

function randomOps(seed: number): OverlayEntry[] {
  const r = prng(seed);
  return sequence(Array.from({ length: 20 + r.int(30) }, () => {
    const k = r.int(10);
    if (k === 0) return other;
    if (k === 1) return broken;
    // entry seq s has hub_ts 1000 + s: an expiry of 1000 skips every one.
    return paid(1 + r.int(4), 1 + r.int(4), r.int(1000), k === 2 ? 1000 : undefined);
  }));
}

const ledgerOf = (entries: readonly OverlayEntry[]) => foldAll(LEDGER_FOLD, entries);

Deno.test("ledger fold merge is associative with an identity and equals the sequential fold (property)", () => {
  for (let seed = 1; seed <= 10; seed++) checkMergeLaws(LEDGER_FOLD, randomOps(seed), seed);
});

Deno.test("ledger fold: the ledger of the operation log, with the remap applied when read", () => {
  for (let seed = 1; seed <= 5; seed++) {
    const entries = randomOps(seed);
    const log = foldAll(OPERATION_LOG, entries);
    const remap = (a: string) => a === toHex(b32(1)) ? toHex(b32(3)) : a;
    const want = applyPaid(emptyLedger(), log.records, remap);
    const got = remapLedger(ledgerOf(entries), remap);
    assert.deepEqual(balancesJson(got), balancesJson(want));
    assert.equal(got.applied, want.applied);
    assert.deepEqual(got.skipped, want.skipped);
  }
});

Deno.test("ledger fold: the summary does not grow with the operations, only with the accounts", () => {
  const size = (n: number) =>
    JSON.stringify(LEDGER_FOLD.toJson(ledgerOf(sequence(Array.from({ length: n }, () => paid(1, 2, 1))))))
      .length;
  assert.equal(size(999), size(100)); // same accounts, counts and balances of the same number of digits
  assert.equal(LEDGER_FOLD.apply(LEDGER_FOLD.empty(), broken(1)), "rejected");
  assert.equal(LEDGER_FOLD.apply(LEDGER_FOLD.empty(), other(1)), "ignored");
});

Deno.test("ledger fold: a damaged summary is refused", () => {
  for (
    const bad of [
      { balances: { zz: "1" }, applied: 0, skipped: [] },
      { balances: { [toHex(b32(1))]: 1 }, applied: 0, skipped: [] },
      { balances: {}, applied: -1, skipped: [] },
      { balances: {}, applied: 0, skipped: [{ seq: 1 }] },
    ]
  ) assert.throws(() => LEDGER_FOLD.fromJson(bad));
});

// Grants by auth_ref: 7 bounds the amount to 500, 8 names another currency, 9 is no grant.
const GRANTS = new Map<string, GrantBounds>([
  [toHex(b32(7)), { maximumAmount: 500 }],
  [toHex(b32(8)), { currencyCode: "other" }],
]);
const grants: GrantLookup = (ref) => GRANTS.get(toHex(ref));
const BOUNDED = ledgerFold(grants);

function randomGranted(seed: number): OverlayEntry[] {
  const r = prng(seed);
  return sequence(Array.from({ length: 20 + r.int(30) }, () => {
    const op = paid(1 + r.int(4), 1 + r.int(4), r.int(1000));
    const k = r.int(4);
    return k === 0 ? op : (seq: number) => ({ ...op(seq), authRef: b32(6 + k) });
  }));
}

Deno.test("ledger fold under grants: out-of-bounds operations skipped, still a monoid, as the log's ledger", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const entries = randomGranted(seed);
    checkMergeLaws(BOUNDED, entries, seed);
    const got = foldAll(BOUNDED, entries);
    const want = applyPaid(emptyLedger(), foldAll(OPERATION_LOG, entries).records, undefined, grants);
    assert.deepEqual(balancesJson(got), balancesJson(want));
    assert.deepEqual(got.skipped, want.skipped);
    const out = entries.filter((e) => {
      const ref = e.authRef?.[0];
      return ref === 8 || (ref === 7 && (PAID_OPERATION.decode(e.body).amount as number) > 500);
    });
    assert.deepEqual(got.skipped.map((s) => s.seq), out.map((e) => e.seq));
    assert.equal(got.applied, entries.length - out.length);
    // With no grant known, nothing is skipped.
    assert.equal(foldAll(LEDGER_FOLD, entries).applied, entries.length);
  }
});
