/** The paid ledger: signed balances, expiry skips, merge, and a state_hash that depends only on the state. */
import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { OPERATION_LOG, type OperationLog } from "./operation_log.ts";
import { PAID_OPERATION } from "./operation_profiles.ts";
import {
  applyPaid,
  balancesJson,
  emptyLedger,
  ledgerStateBytes,
  mergeLedgers,
  stateHash,
} from "./paid_ledger.ts";
import { entry } from "./testing/laws.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);
function log(ops: [payer: number, payee: number, amount: number, expiresAt?: number][]): OperationLog {
  const s = OPERATION_LOG.empty();
  ops.forEach(([a, b, amount, exp], i) =>
    OPERATION_LOG.apply(
      s,
      entry(
        i + 1,
        PAID_OPERATION.schemaId,
        PAID_OPERATION.encode({
          operation_type: "t",
          operation_args: null,
          payer_account: b32(a),
          payee_account: b32(b),
          amount,
          currency_code: "c",
        }),
        b32(1),
        exp === undefined ? {} : { expiresAt: exp },
      ),
    )
  );
  return s;
}

Deno.test("paid ledger: debit payer, credit payee; an operation sequenced after its expiry is skipped", () => {
  const l = log([[1, 2, 10], [2, 3, 4], [1, 3, 100, 1001]]); // entry 3 has hub_ts 1003 > 1001
  const ledger = applyPaid(emptyLedger(), l.records);
  assert.deepEqual(balancesJson(ledger), { [toHex(b32(1))]: -10, [toHex(b32(2))]: 6, [toHex(b32(3))]: 4 });
  assert.deepEqual(ledger.skipped.map((s) => s.seq), [3]);
  const split = mergeLedgers(
    applyPaid(emptyLedger(), l.records.slice(0, 1)),
    applyPaid(emptyLedger(), l.records.slice(1)),
  );
  assert.deepEqual(balancesJson(split), balancesJson(ledger));
  const remapped = applyPaid(emptyLedger(), l.records, (a) => a === toHex(b32(1)) ? toHex(b32(9)) : a);
  assert.equal(balancesJson(remapped)[toHex(b32(9))], -10);
});

Deno.test("wallet.ledger state: only operations of state_id up to upto; the hash changes with the state", () => {
  const l = log([[1, 2, 10], [3, 4, 5], [2, 1, 3]]);
  const at1 = ledgerStateBytes(l.records, b32(1), 1);
  assert.deepEqual(ledgerStateBytes(l.records, b32(1), 2), at1); // op 2 does not touch account 1
  assert.notDeepEqual(ledgerStateBytes(l.records, b32(1), 3), at1);
  assert.notEqual(
    toHex(stateHash("wallet.ledger", at1)),
    toHex(stateHash("wallet.ledger", ledgerStateBytes(l.records, b32(1), 3))),
  );
});

Deno.test("paid ledger under a grant: an operation over maximum_amount is skipped, also in the wallet.ledger state", () => {
  const l = log([[1, 2, 10], [1, 2, 11]]);
  const ref = b32(7);
  const records = l.records.map((r) => ({ ...r, authRef: ref }));
  const grants = (a: Uint8Array) => toHex(a) === toHex(ref) ? { maximumAmount: 10 } : undefined;
  const ledger = applyPaid(emptyLedger(), records, undefined, grants);
  assert.deepEqual(balancesJson(ledger), { [toHex(b32(1))]: -10, [toHex(b32(2))]: 10 });
  assert.deepEqual(ledger.skipped, [
    { seq: 2, reason: "amount 11 is over the access grant's maximum_amount 10 (E.CAP)" },
  ]);
  assert.deepEqual(ledgerStateBytes(records, b32(1), 2, grants), ledgerStateBytes(records, b32(1), 1));
  assert.notDeepEqual(ledgerStateBytes(records, b32(1), 2), ledgerStateBytes(records, b32(1), 1));
});
