import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { FED_AUTHORITY } from "./admin_records.ts";
import { authorityActive, AuthorityView } from "./admin_views.ts";

const S = new Uint8Array(32).fill(5);
const hub = (n: number) => new Uint8Array(32).fill(n);

function record(v: AuthorityView, seq: number, primary: number, ts: number, ttl: number, stream = S) {
  const body = FED_AUTHORITY.decode(FED_AUTHORITY.encode({
    realm_id: hub(1),
    stream_id: stream,
    primary_hub: hub(primary),
    replica_hubs: [],
    policy: "single-primary",
    ts,
    ttl,
  }));
  return v.apply({ stream: "fed_admin", seq, codec: FED_AUTHORITY, body });
}

const primaryAt = (v: AuthorityView, now: number) => {
  const r = v.deciding(S, now);
  return r === undefined ? undefined : r.primaryHub[0];
};

Deno.test("authority view: the newest active record decides; on a tie of ts the lower primary_hub; expiry falls back", () => {
  const v = new AuthorityView();
  assert.equal(primaryAt(v, 100), undefined);
  record(v, 1, 9, 100, 1000); // [100, 1100)
  record(v, 2, 7, 200, 100); // [200, 300): newer
  record(v, 3, 8, 200, 500); // same ts as seq 2: primary 7 < 8 decides
  assert.equal(primaryAt(v, 99), undefined, "before ts nothing is active");
  assert.equal(primaryAt(v, 100), 9);
  assert.equal(primaryAt(v, 200), 7);
  assert.equal(primaryAt(v, 299), 7);
  assert.equal(primaryAt(v, 300), 8, "at ts+ttl seq 2 has expired: the next newest active record decides");
  assert.equal(primaryAt(v, 700), 9);
  assert.equal(primaryAt(v, 1100), undefined, "all expired: unspecified");
  assert.equal(v.deciding(hub(6), 150), undefined, "another stream has no record");
  assert.ok(authorityActive({ ts: 5, ttl: 1 }, 5) && !authorityActive({ ts: 5, ttl: 1 }, 6));
});

Deno.test("authority view: persisted rows reload to the same answers", () => {
  const v = new AuthorityView();
  const rows = [...record(v, 1, 9, 100, 1000), ...record(v, 2, 7, 200, 100)];
  const w = new AuthorityView();
  for (const r of rows) w.load(r);
  for (const t of [99, 100, 250, 300, 1100]) assert.equal(primaryAt(w, t), primaryAt(v, t), `at ${t}`);
  assert.deepEqual(w.list().map((r) => [r.seq, toHex(r.primaryHub).slice(0, 2)]), [[1, "09"], [2, "07"]]);
});
