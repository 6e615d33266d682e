/** The grant view: derived auth_ref, revokes by target and by subject, later grants untouched, rows reload. */
import assert from "node:assert/strict";
import { Ht, toHex } from "../core/mod.ts";
import {
  ACCESS_GRANT,
  ACCESS_REVOKE,
  grantAuthRef,
  grantBoundsOf,
  grantJson,
  GrantView,
  paidOutOfBounds,
} from "./access_grant.ts";
import type { ViewRow } from "./admin_views.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);
const grant = (subject: number, expiry: number) => ({
  subject_identity: b32(subject),
  allowed_stream_ids: [b32(9)],
  expiry_time: expiry,
  maximum_rate_per_second: 2,
});

Deno.test('GrantView: auth_ref = Ht("veen/cap", CBOR(grant body)); revoke one, revoke all, reload rows', () => {
  const v = new GrantView();
  const rows: ViewRow[] = [];
  const put = (r: ViewRow[]) => rows.push(...r);
  const at = (seq: number, codec: typeof ACCESS_GRANT, body: Record<string, unknown>) =>
    put(v.apply({ stream: "fed_admin", seq, codec, body: body as never }));
  const g1 = grant(1, 100);
  const g2 = grant(1, 200);
  const ref1 = grantAuthRef(ACCESS_GRANT.encode(g1));
  assert.equal(toHex(ref1), toHex(Ht("veen/cap", ACCESS_GRANT.encode(g1))));
  at(1, ACCESS_GRANT, g1);
  at(2, ACCESS_GRANT, g2);
  at(3, ACCESS_GRANT, grant(2, 100));
  assert.equal(v.get(ref1)?.perSec, 2);
  at(4, ACCESS_REVOKE, { subject_identity: b32(2), target_capability_reference: ref1 }); // not the subject's
  assert.equal(v.get(ref1)?.revokedSeq, undefined);
  at(5, ACCESS_REVOKE, { subject_identity: b32(1), target_capability_reference: ref1 });
  assert.equal(v.get(ref1)?.revokedSeq, 5);
  assert.equal(v.get(grantAuthRef(ACCESS_GRANT.encode(g2)))?.revokedSeq, undefined);
  at(6, ACCESS_REVOKE, { subject_identity: b32(1) });
  assert.equal(v.get(grantAuthRef(ACCESS_GRANT.encode(g2)))?.revokedSeq, 6);
  assert.equal(v.get(grantAuthRef(ACCESS_GRANT.encode(grant(2, 100))))?.revokedSeq, undefined);
  at(7, ACCESS_GRANT, grant(1, 300)); // a later grant is not touched by the earlier revoke
  const reloaded = new GrantView();
  for (const r of rows) reloaded.load(r);
  assert.deepEqual(reloaded.list(), v.list());
  assert.equal(reloaded.list().at(-1)?.revokedSeq, undefined);
});

Deno.test("grant bounds: maximum_amount inclusive, currency_code when named; the view serves the body", () => {
  const body = { ...grant(1, 100), maximum_amount: 10, currency_code: "credits" };
  const bytes = ACCESS_GRANT.encode(body);
  const b = grantBoundsOf(ACCESS_GRANT.decode(bytes));
  assert.deepEqual(b, { maximumAmount: 10, currencyCode: "credits" });
  assert.equal(paidOutOfBounds(b, 10, "credits"), undefined);
  assert.match(paidOutOfBounds(b, 11, "credits")!, /amount 11 is over .* maximum_amount 10/);
  assert.match(paidOutOfBounds(b, 10n ** 30n, "credits")!, /maximum_amount/);
  assert.match(paidOutOfBounds(b, 1, "euro")!, /currency_code "euro"/);
  assert.equal(paidOutOfBounds({ maximumAmount: 5 }, 5, "any"), undefined);
  assert.equal(paidOutOfBounds({ currencyCode: "x" }, 10n ** 30n, "x"), undefined);
  assert.equal(paidOutOfBounds(undefined, 1e9, "any"), undefined);
  assert.deepEqual(grantBoundsOf(ACCESS_GRANT.decode(ACCESS_GRANT.encode(grant(1, 100)))), {});
  const v = new GrantView();
  v.apply({ stream: "fed_admin", seq: 1, codec: ACCESS_GRANT, body: body as never });
  const ref = grantAuthRef(bytes);
  assert.deepEqual(v.body(ref), bytes);
  assert.equal(v.body(b32(3)), undefined);
  const json = grantJson(v.get(ref)!, 50);
  assert.deepEqual([json.maximum_amount, json.currency_code, json.active], [10, "credits", true]);
});
