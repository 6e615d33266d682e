/** Agreement status: highest version by default, last decision per party (M1), signer check, effective and expiry. */
import assert from "node:assert/strict";
import { OPERATION_LOG } from "./operation_log.ts";
import { AGREEMENT_CONFIRMATION, AGREEMENT_DEFINITION, PAID_OPERATION } from "./operation_profiles.ts";
import { AGREEMENT_FOLD, agreementStatus, agreementStatusOf } from "./agreement_status.ts";
import { prng } from "../tests/util.ts";
import { checkMergeLaws, entry, foldAll, sequence } from "./testing/laws.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);
const ID = b32(9);
const [P1, P2] = [b32(1), b32(2)];

function records(steps: ((seq: number) => ReturnType<typeof entry>)[]) {
  const s = OPERATION_LOG.empty();
  steps.forEach((f, i) => OPERATION_LOG.apply(s, f(i + 1)));
  return s.records;
}
const define = (version: number, extra: Record<string, number> = {}) => (seq: number) =>
  entry(
    seq,
    AGREEMENT_DEFINITION.schemaId,
    AGREEMENT_DEFINITION.encode({
      agreement_id: ID,
      version,
      terms_hash: b32(3),
      parties: [P1, P2],
      ...extra,
    }),
  );
const confirm = (party: Uint8Array, decision: string, version = 1, signer = party) => (seq: number) =>
  entry(
    seq,
    AGREEMENT_CONFIRMATION.schemaId,
    AGREEMENT_CONFIRMATION.encode({ agreement_id: ID, version, party_identity: party, decision }),
    signer,
  );

Deno.test("agreementStatus: active only when every party's last signed decision is accept, in its time window", () => {
  const base = [define(1), confirm(P1, "accept"), confirm(P2, "reject")];
  assert.equal(agreementStatus(records(base), ID, undefined, 0).active, false);
  const later = records([...base, confirm(P2, "accept", 1, P1), confirm(P2, "accept")]);
  const s = agreementStatus(later, ID, undefined, 0);
  assert.equal(s.active, true);
  assert.deepEqual(s.ignored.map((i) => i.reason), ["not signed by the party"]);
  assert.deepEqual(s.parties.map((p) => p.stream_seq), [2, 5]);
  // A withdraw after the accept supersedes it (M1).
  assert.equal(
    agreementStatus(records([...base, confirm(P2, "accept"), confirm(P1, "withdraw")]), ID, 1, 0).active,
    false,
  );
  // A newer version is what counts by default; its parties have not confirmed it yet.
  const v2 = records([...base, confirm(P2, "accept"), define(2)]);
  assert.equal(agreementStatus(v2, ID, undefined, 0).version, 2);
  assert.equal(agreementStatus(v2, ID, undefined, 0).active, false);
  assert.equal(agreementStatus(v2, ID, 1, 0).active, true);
  const timed = records([
    define(1, { effective_time: 100, expiry_time: 200 }),
    confirm(P1, "accept"),
    confirm(P2, "accept"),
  ]);
  assert.deepEqual([99, 100, 199, 200].map((t) => agreementStatus(timed, ID, 1, t).active), [
    false,
    true,
    true,
    false,
  ]);
  assert.equal(agreementStatus(records([]), ID, undefined, 0).defined, false);
});

const randomSteps = (seed: number) => {
  const r = prng(seed);
  const decisions = ["accept", "reject", "withdraw"];
  const party = () => [P1, P2, b32(7)][r.int(3)]!;
  return sequence(Array.from({ length: 20 + r.int(20) }, () => {
    const k = r.int(8);
    if (k === 0) return define(1 + r.int(2), r.int(2) === 0 ? {} : { effective_time: r.int(50) });
    if (k === 1) return (seq: number) => entry(seq, PAID_OPERATION.schemaId, new Uint8Array([0xa0])); // ignored
    const p = party();
    return confirm(p, decisions[r.int(3)]!, 1 + r.int(2), r.int(4) === 0 ? party() : p);
  }));
};

Deno.test("agreement fold merge is associative with an identity and equals the sequential fold (property)", () => {
  for (let seed = 1; seed <= 10; seed++) checkMergeLaws(AGREEMENT_FOLD, randomSteps(seed), seed);
});

Deno.test("agreement fold: the status from its summary is the status from the operation log", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const entries = randomSteps(seed);
    const [log, s] = [foldAll(OPERATION_LOG, entries), foldAll(AGREEMENT_FOLD, entries)];
    for (const [v, at] of [[undefined, 0], [1, 10], [2, 100]] as const) {
      assert.deepEqual(
        agreementStatusOf(s, ID, v, at),
        agreementStatus(log.records, ID, v, at),
        `seed ${seed}`,
      );
    }
  }
});
