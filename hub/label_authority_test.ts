import assert from "node:assert/strict";
import { labelFor, toHex, VeenError } from "../core/mod.ts";
import { AuthorityView, FED_AUTHORITY } from "../overlays/mod.ts";
import { LabelAuthority, type LabelAuthorityOptions, NO_AUTHORITY, NOT_PRIMARY } from "./label_authority.ts";
import { Metrics } from "./metrics.ts";

const SELF = new Uint8Array(32).fill(7);
const ROUTING = new Uint8Array([1, 2, 3]);
const stream = (n: number) => new Uint8Array(32).fill(n);
const labelOf = (n: number) => labelFor(stream(n), ROUTING, 0);

/** An AuthorityView that counts the calls the label index and the check make. */
class CountingView extends AuthorityView {
  indexed = 0;
  lookups = 0;
  override streamIds(): Uint8Array[] {
    this.indexed++;
    return super.streamIds();
  }
  override deciding(streamId: Uint8Array, now: number) {
    this.lookups++;
    return super.deciding(streamId, now);
  }
}

let seq = 0;
function publish(
  v: AuthorityView,
  s: number,
  primary: Uint8Array,
  ts: number,
  ttl: number,
  policy = "single-primary",
) {
  const body = FED_AUTHORITY.decode(FED_AUTHORITY.encode({
    realm_id: new Uint8Array(32),
    stream_id: stream(s),
    primary_hub: primary,
    replica_hubs: [],
    policy,
    ts,
    ttl,
  }));
  v.apply({ stream: "fed_admin", seq: ++seq, codec: FED_AUTHORITY, body });
}

function authority(o: Partial<LabelAuthorityOptions> = {}) {
  const view = new CountingView();
  const metrics = new Metrics();
  const a = new LabelAuthority({
    view,
    realmId: new Uint8Array(32),
    routingKey: ROUTING,
    hubId: SELF,
    role: "standalone",
    unspecifiedPolicy: "",
    metrics,
    ...o,
  });
  return { a, view, metrics };
}

const refusal = (f: () => void): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof VeenError && e.code === "E.AUTH", String(e));
    return e.detail;
  }
};

Deno.test("LabelAuthority: no authority record costs no lookup; the label index is rebuilt only for new streams", () => {
  const { a, view } = authority();
  for (let i = 0; i < 100; i++) a.check(labelOf(1), 1000);
  assert.deepEqual([view.indexed, view.lookups], [0, 0]);
  publish(view, 1, new Uint8Array(32), 1000, 10);
  assert.equal(refusal(() => a.check(labelOf(1), 1000)), NOT_PRIMARY);
  for (let i = 0; i < 100; i++) a.check(labelOf(2), 1000);
  assert.equal(view.indexed, 1, "one index build for 101 checks");
  publish(view, 1, SELF, 1001, 10);
  assert.equal(view.indexed, 1, "a newer record for a known stream keeps the index");
  publish(view, 2, new Uint8Array(32), 1000, 10);
  assert.equal(refusal(() => a.check(labelOf(2), 1005)), NOT_PRIMARY);
  assert.equal(view.indexed, 2);
  assert.equal(toHex(a.streamIdFor(labelOf(2))!), toHex(stream(2)));
  assert.equal(a.streamIdFor(labelOf(3)), undefined);
});

Deno.test("LabelAuthority: active on [ts, ts+ttl), single-primary refuses other hubs, multi-primary is counted", () => {
  const { a, view, metrics } = authority();
  publish(view, 1, new Uint8Array(32), 1000, 10);
  publish(view, 2, new Uint8Array(32), 1000, 10, "multi-primary");
  assert.equal(refusal(() => a.check(labelOf(1), 999)), undefined);
  assert.equal(refusal(() => a.check(labelOf(1), 1000)), NOT_PRIMARY);
  assert.equal(refusal(() => a.check(labelOf(1), 1009)), NOT_PRIMARY);
  assert.equal(refusal(() => a.check(labelOf(1), 1010)), undefined);
  assert.equal(a.ofLabel(labelOf(1), 1010).policy, "unspecified");
  assert.equal(refusal(() => a.check(labelOf(2), 1000)), undefined);
  assert.deepEqual([metrics.authorityRefused, metrics.multiPrimaryAccepted], [2, 1]);
});

Deno.test("LabelAuthority: unspecified labels follow unspecified_policy, then the role; unsafe_skip_authority skips", () => {
  const cases: [Partial<LabelAuthorityOptions>, string | undefined][] = [
    [{}, undefined],
    [{ role: "primary" }, undefined],
    [{ role: "replica" }, NO_AUTHORITY],
    [{ role: "replica", unspecifiedPolicy: "accept" }, undefined],
    [{ unspecifiedPolicy: "reject" }, NO_AUTHORITY],
    [{ role: "replica", unsafeSkip: true }, undefined],
  ];
  for (const [o, want] of cases) {
    const { a } = authority(o);
    assert.equal(refusal(() => a.check(labelOf(1), 1000)), want, JSON.stringify(o));
  }
  const { a, view } = authority({ unsafeSkip: true });
  publish(view, 1, new Uint8Array(32), 1000, 10);
  assert.equal(refusal(() => a.check(labelOf(1), 1000)), undefined);
  assert.equal(a.enforced, false);
});
