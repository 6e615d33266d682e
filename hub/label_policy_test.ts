/** LCLASS0 effects: class_rates parsing, the class gate in front of the capability's, and the retention minimum. */
import assert from "node:assert/strict";
import { VeenError } from "../core/mod.ts";
import { LABEL_CLASS, LabelClassView } from "../overlays/mod.ts";
import { LabelPolicy, parseClassRates, retentionPolicyText } from "./label_policy.ts";
import type { RateGate } from "./rate_limit.ts";

const label = (b: number) => new Uint8Array(32).fill(b);

function policy(rates: string[], records: [number, string, number?][]): LabelPolicy {
  const classes = new LabelClassView();
  records.forEach(([b, cls, hint], i) =>
    classes.apply({
      stream: "label_class",
      seq: i + 1,
      codec: LABEL_CLASS,
      body: { label: label(b), class: cls, ...(hint === undefined ? {} : { retention_hint: hint }) },
    })
  );
  return new LabelPolicy({ classes, rates: parseClassRates(rates), padBlock: 256 });
}

const rateCode = (f: () => void): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as VeenError).code;
  }
};

Deno.test("parseClassRates: CLASS=RATE/BURST, burst at least 1, each class once", () => {
  assert.deepEqual([...parseClassRates(["bulk=10/20", " admin=1000/2000 "])], [
    ["bulk", { perSec: 10, burst: 20 }],
    ["admin", { perSec: 1000, burst: 2000 }],
  ]);
  for (const bad of [["bulk"], ["bulk=10"], ["bulk=1/0"], ["bulk=-1/2"], ["=1/2"], ["a=1/2", "a=2/3"]]) {
    assert.throws(() => parseClassRates(bad), /class_rates/);
  }
});

Deno.test("class gate: burst MSGs per label, then E.RATE; a capability refusal gives the class token back", () => {
  const p = policy(["bulk=1/2"], [[1, "bulk"], [2, "user"]]);
  const cap: RateGate = { take: () => {} };
  assert.equal(p.gate(p.classOf(label(2)), cap), cap, "a class without a rate leaves the cap gate alone");
  assert.equal(p.gate(undefined, undefined), undefined);
  const g = p.gate(p.classOf(label(1)), undefined)!;
  assert.equal(rateCode(() => g.take(label(1), 0)), undefined);
  assert.equal(rateCode(() => g.take(label(1), 0)), undefined);
  assert.equal(rateCode(() => g.take(label(1), 0)), "E.RATE");
  assert.equal(rateCode(() => g.take(label(1), 1000)), undefined, "one token a second");

  const q = policy(["bulk=1/1"], [[1, "bulk"]]);
  const refusing: RateGate = {
    take: () => {
      throw new VeenError("E.RATE", "cap");
    },
  };
  assert.equal(rateCode(() => q.gate(q.classOf(label(1)), refusing)!.take(label(1), 0)), "E.RATE");
  // The class token was refunded: the next MSG (with a cap that admits it) passes at the same instant.
  assert.equal(rateCode(() => q.gate(q.classOf(label(1)), cap)!.take(label(1), 0)), undefined);
});

Deno.test("retention minimum: retention_hint holds a segment until its newest entry is that old; long_term forever", () => {
  const p = policy([], [[1, "audit", 100], [2, "long_term"], [3, "user"]]);
  assert.equal(p.holds([label(3)], 1000, 5000), false);
  assert.equal(p.holds([label(3), label(1)], 1000, 1099), true);
  assert.equal(p.holds([label(1)], 1000, 1100), false, "at exactly lastHubTs + hint it may go");
  assert.equal(p.holds([label(2)], 0, Number.MAX_SAFE_INTEGER), true);
  assert.equal(policy([], []).holds([label(1)], 0, 0), false);
  const keepAll = { receiptsDays: null, payloadsDays: 7, checkpointsDays: null };
  assert.equal(retentionPolicyText(undefined, keepAll), "hub: receipts forever, payloads 7 days");
  assert.equal(
    p.effective(label(2), keepAll).retention_policy,
    "long_term: never dropped (hub: receipts forever, payloads 7 days)",
  );
  assert.equal(p.effective(label(9), keepAll).class, null);
});
