import assert from "node:assert/strict";
import { b32, idEntry } from "./testing/id_entries.ts";
import { toHex } from "../core/mod.ts";
import type { Fold, OverlayEntry } from "./fold.ts";
import {
  ID_DEVICE,
  ID_EXTERNAL,
  ID_GROUP,
  ID_HANDLEMAP,
  ID_ORG_PROFILE,
  ID_REVOKE,
  ID_ROLE,
} from "./identity_bodies.ts";
import { ctxRoles, deviceActive, groupMembers, handleFold, orgFold, principalFold } from "./identity_fold.ts";
import { deviceIdFor, groupIdFor, orgIdFor } from "./identity_ids.ts";

const b = b32;
const P = b(1);

const entry = idEntry;

function foldAll<S>(fold: Fold<S>, es: readonly OverlayEntry[]): { s: S; results: string[] } {
  const s = fold.empty();
  return { s, results: es.map((e) => fold.apply(s, e)) };
}

const device = (seq: number, pk: Uint8Array, extra: Record<string, unknown> = {}) =>
  entry(seq, ID_DEVICE, {
    principal_pk: P,
    device_id: deviceIdFor(pk),
    device_pk: pk,
    dh_pk: b(7),
    created_at: 100,
    ...extra,
  });

Deno.test("device ACTIVE: still active at now == expires_at, inactive one second later (spec 001 ID §6.2)", () => {
  const f = principalFold(P);
  const { s } = foldAll(f, [device(1, b(2), { expires_at: 500 })]);
  assert.equal(deviceActive(s, deviceIdFor(b(2)), 499), true);
  assert.equal(deviceActive(s, deviceIdFor(b(2)), 500), true);
  assert.equal(deviceActive(s, deviceIdFor(b(2)), 501), false);
  assert.equal(deviceActive(s, deviceIdFor(b(3)), 1), false, "an unknown device is not active");
});

Deno.test("device: the last record by stream_seq sets flags and expiry; a revocation is permanent", () => {
  const f = principalFold(P);
  const id = deviceIdFor(b(2));
  const { s } = foldAll(f, [device(1, b(2)), device(2, b(2), { flags: new Map([["disabled", true]]) })]);
  assert.equal(deviceActive(s, id, 0), false);
  f.apply(s, device(3, b(2), { flags: new Map([["disabled", false]]) }));
  assert.equal(deviceActive(s, id, 0), true, "re-enabled by a later record");
  assert.equal(f.apply(s, entry(4, ID_REVOKE, { principal_pk: P, device_id: id, ts: 5 })), "applied");
  assert.equal(deviceActive(s, id, 0), false);
  f.apply(s, device(5, b(2)));
  assert.equal(deviceActive(s, id, 0), false, "a later device record does not undo a revocation");
});

Deno.test("principal fold rejects another principal_pk and a device_id that is not Ht(id/device, device_pk)", () => {
  const f = principalFold(P);
  const other = entry(1, ID_DEVICE, {
    principal_pk: b(5),
    device_id: deviceIdFor(b(2)),
    device_pk: b(2),
    dh_pk: b(7),
    created_at: 1,
  });
  const forged = entry(2, ID_DEVICE, {
    principal_pk: P,
    device_id: b(4),
    device_pk: b(2),
    dh_pk: b(7),
    created_at: 1,
  });
  const { s, results } = foldAll(f, [other, forged]);
  assert.deepEqual(results, ["rejected", "rejected"]);
  assert.equal(s.devices.size, 0);
});

/** A small deterministic PRNG for the property tests. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Property: folding in one pass equals merging the summaries of every split into adjacent ranges. */
function checkSplits<S>(fold: Fold<S>, es: OverlayEntry[]): void {
  const whole = JSON.stringify(fold.toJson(foldAll(fold, es).s));
  for (let cut = 0; cut <= es.length; cut++) {
    const l = foldAll(fold, es.slice(0, cut)).s, r = foldAll(fold, es.slice(cut)).s;
    assert.equal(JSON.stringify(fold.toJson(fold.merge(l, r))), whole, `split at ${cut}`);
  }
  assert.equal(
    JSON.stringify(fold.toJson(fold.fromJson(JSON.parse(whole)))),
    whole,
    "toJson/fromJson round-trip",
  );
}

Deno.test("property: principal, handle and org folds are monoids (any split merges to the whole fold)", () => {
  const realm = b(8), org = b(6), orgId = orgIdFor(org), g = groupIdFor(orgId, "eds");
  for (let seed = 1; seed <= 25; seed++) {
    const rnd = prng(seed);
    const pick = (n: number) => Math.floor(rnd() * n);
    const pe: OverlayEntry[] = [], he: OverlayEntry[] = [], oe: OverlayEntry[] = [];
    for (let seq = 1; seq <= 12; seq++) {
      const dev = b(20 + pick(3));
      pe.push(
        pick(4) === 0
          ? entry(seq, ID_REVOKE, { principal_pk: P, device_id: deviceIdFor(dev), ts: seq })
          : device(seq, dev, { expires_at: pick(50), flags: new Map([["disabled", pick(2) === 0]]) }),
      );
      he.push(
        entry(seq, ID_HANDLEMAP, {
          realm_id: realm,
          handle: `@h${pick(3)}`,
          target_type: "ctx",
          target_id: b(30 + pick(5)),
          ts: pick(4),
        }),
      );
      const ctx = b(40 + pick(4));
      oe.push(
        [
          () =>
            entry(seq, ID_GROUP, {
              org_id: orgId,
              group_id: g,
              name: `n${pick(3)}`,
              members_add: [ctx],
              updated_at: pick(4),
            }),
          () =>
            entry(seq, ID_GROUP, {
              org_id: orgId,
              group_id: g,
              name: "x",
              members_remove: [ctx],
              updated_at: pick(4),
            }),
          () => entry(seq, ID_ROLE, { org_id: orgId, role: `r${pick(3)}`, targets_group: [g], ts: seq }),
          () =>
            entry(seq, ID_ORG_PROFILE, {
              org_id: orgId,
              display_name: `d${pick(3)}`,
              created_at: 1,
              updated_at: pick(4),
            }),
        ][pick(4)]!(),
      );
    }
    checkSplits(principalFold(P), pe);
    checkSplits(handleFold(realm), he);
    checkSplits(orgFold(orgId), oe);
    for (const [f, es] of [[principalFold(P), pe], [handleFold(realm), he], [orgFold(orgId), oe]] as const) {
      assert.ok(foldAll(f as Fold<unknown>, es).results.every((r) => r === "applied"), `seed ${seed}`);
    }
  }
});

Deno.test("property: a handle's LWW winner is (ts, stream_seq, leaf_hash) whatever the order entries arrive in", () => {
  const realm = b(8);
  for (let seed = 1; seed <= 25; seed++) {
    const rnd = prng(seed);
    const es = Array.from(
      { length: 8 },
      (_, i) =>
        entry(i + 1, ID_HANDLEMAP, {
          realm_id: realm,
          handle: "@a",
          target_type: "org",
          target_id: b(50 + i),
          ts: Math.floor(rnd() * 3),
        }),
    );
    const f = handleFold(realm);
    const want = JSON.stringify(f.toJson(foldAll(f, es).s));
    const shuffled = [...es].sort(() => rnd() - 0.5);
    assert.equal(JSON.stringify(f.toJson(foldAll(f, shuffled).s)), want, `seed ${seed}`);
    const maxTs = Math.max(...es.map((e) => foldAll(f, [e]).s.get("@a")!.ts));
    const winner = foldAll(f, es).s.get("@a")!;
    assert.equal(winner.ts, maxTs);
    assert.equal(
      winner.seq,
      Math.max(...es.filter((e) => foldAll(f, [e]).s.get("@a")!.ts === maxTs).map((e) => e.seq)),
    );
  }
  const f = handleFold(realm);
  const s = f.empty();
  assert.equal(
    f.apply(
      s,
      entry(1, ID_HANDLEMAP, { realm_id: b(9), handle: "@a", target_type: "ctx", target_id: b(1), ts: 1 }),
    ),
    "rejected",
  );
});

Deno.test("group membership: OR-set per (org, group) with re-add; roles are additive through groups (spec 001 ID §8)", () => {
  const org = b(6), orgId = orgIdFor(org), g = groupIdFor(orgId, "eds"), alice = b(41), bob = b(42);
  const f = orgFold(orgId);
  const grp = (seq: number, rec: Record<string, unknown>) =>
    entry(seq, ID_GROUP, { org_id: orgId, group_id: g, name: "Editors", ...rec, updated_at: seq });
  const { s } = foldAll(f, [
    grp(1, { members_add: [alice, bob] }),
    entry(2, ID_ROLE, { org_id: orgId, role: "editor", targets_group: [g], ts: 2 }),
    entry(3, ID_ROLE, { org_id: orgId, role: "admin", targets_ctx: [bob], ts: 3 }),
    grp(4, { members_remove: [alice] }),
  ]);
  assert.deepEqual(groupMembers(s, orgId, g), [toHex(bob)]);
  assert.deepEqual(ctxRoles(s, orgId, alice), []);
  assert.deepEqual(ctxRoles(s, orgId, bob), ["admin", "editor"]);
  f.apply(s, grp(5, { members_add: [alice] }));
  assert.deepEqual(groupMembers(s, orgId, g), [toHex(alice), toHex(bob)].sort(), "re-added after a remove");
  assert.deepEqual(ctxRoles(s, orgId, alice), ["editor"]);
  assert.equal(f.apply(s, grp(6, { members_add: [bob], members_remove: [bob] })), "rejected");
  assert.equal(
    f.apply(s, entry(7, ID_GROUP, { org_id: b(3), group_id: g, name: "x", updated_at: 1 })),
    "rejected",
  );
});

Deno.test("property: the org profile, group names, roles and org links are order-insensitive; expiry boundary at now", () => {
  const orgId = orgIdFor(b(6)), g = groupIdFor(orgId, "eds");
  for (let seed = 1; seed <= 25; seed++) {
    const rnd = prng(seed);
    const pick = (n: number) => Math.floor(rnd() * n);
    const es = Array.from({ length: 12 }, (_, i) => {
      const seq = i + 1;
      return [
        () =>
          entry(seq, ID_ORG_PROFILE, {
            org_id: orgId,
            display_name: `d${pick(3)}`,
            created_at: 1,
            updated_at: pick(4),
          }),
        () => entry(seq, ID_GROUP, { org_id: orgId, group_id: g, name: `n${pick(3)}`, updated_at: pick(4) }),
        () =>
          entry(seq, ID_ROLE, {
            org_id: orgId,
            role: `r${pick(3)}`,
            targets_ctx: [b(40 + pick(3))],
            ts: pick(4),
          }),
        () =>
          entry(seq, ID_EXTERNAL, {
            realm_id: b(8),
            org_id: orgId,
            provider: "idp",
            external_sub: `s${pick(2)}`,
            ts: pick(4),
          }),
      ][pick(4)]!();
    });
    const f = orgFold(orgId);
    const view = (xs: OverlayEntry[]) => {
      const { s, results } = foldAll(f, xs);
      assert.ok(results.every((r) => r === "applied"));
      const j = f.toJson(s) as Record<string, unknown>;
      // Members are an OR-set in stream order (§8.2: "later remove events"), so only the group names count here.
      return JSON.stringify([
        j.profile,
        (j.groups as unknown[][]).map((x) => x.slice(0, 2)),
        j.roles,
        j.links,
      ]);
    };
    const shuffled = [...es].sort(() => rnd() - 0.5);
    assert.equal(view(shuffled), view(es), `seed ${seed}`);
    checkSplits(f, es);
  }
  // A device whose expires_at is exactly now is ACTIVE; a JWT whose exp is exactly now is not (cli/jwt_gateway.ts).
  const f = principalFold(P);
  const { s } = foldAll(f, [device(1, b(2), { expires_at: 1_800_000_000 })]);
  assert.equal(deviceActive(s, deviceIdFor(b(2)), 1_800_000_000), true);
});
