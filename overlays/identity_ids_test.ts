import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { toHex } from "../core/mod.ts";
import {
  ctxIdFor,
  ctxStreamId,
  deviceIdFor,
  groupIdFor,
  handleStreamId,
  orgIdFor,
  orgStreamId,
  principalIdFor,
  principalStreamId,
  scopedOrgIdFor,
} from "./identity_ids.ts";
import { realmIdFor } from "../core/mod.ts";

/** The independent implementation: node:crypto SHA-256 of `tag || 0x00 || parts` (spec 001 §1). */
function ht(tag: string, ...parts: (Uint8Array | string)[]): string {
  const h = createHash("sha256").update(tag, "utf8").update(new Uint8Array([0]));
  for (const p of parts) h.update(typeof p === "string" ? Buffer.from(p, "utf8") : p);
  return h.digest("hex");
}

const pk = (b: number) => new Uint8Array(32).fill(b);

Deno.test("ID identifiers equal Ht over node:crypto SHA-256 (spec 001 ID §3-4)", () => {
  const principal = pk(1), device = pk(2), org = pk(3);
  const realm = realmIdFor("example-app");
  assert.equal(toHex(realm), ht("id/realm", "example-app"));
  assert.equal(toHex(principalIdFor(principal)), ht("id/principal", principal));
  const ctx = ctxIdFor(principal, realm);
  assert.equal(toHex(ctx), ht("id/ctx", principal, realm));
  assert.equal(toHex(deviceIdFor(device)), ht("id/device", device));
  const orgId = orgIdFor(org);
  assert.equal(toHex(orgId), ht("id/org", org));
  assert.equal(toHex(scopedOrgIdFor(orgId, realm)), ht("id/org/realm", orgId, realm));
  assert.equal(toHex(groupIdFor(orgId, "editors-é")), ht("id/group", orgId, "editors-é"));
  assert.equal(toHex(principalStreamId(principal)), ht("id/stream/principal", principal));
  assert.equal(toHex(ctxStreamId(ctx, realm)), ht("id/stream/ctx", ctx, realm));
  assert.equal(toHex(orgStreamId(orgId)), ht("id/stream/org", orgId));
  assert.equal(toHex(handleStreamId(realm)), ht("id/stream/handle", realm));
});

Deno.test("ID identifiers: a fixed vector, and ctx_id differs per realm (spec 001 ID §3.3)", () => {
  const principal = pk(1);
  assert.equal(
    toHex(realmIdFor("example-app")),
    "b96ac967daa5dc5fd77efff16628298b34a2b0edfa40c0a2e258256e43f92d05",
  );
  assert.equal(
    toHex(ctxIdFor(principal, realmIdFor("example-app"))),
    "ab9cbfe0429e39c736790727926cf3a5c96b385a92c3fb7b77b7896aa9b6d2c9",
  );
  assert.notEqual(
    toHex(ctxIdFor(principal, realmIdFor("a"))),
    toHex(ctxIdFor(principal, realmIdFor("b"))),
  );
});

Deno.test("ID identifiers refuse keys that are not 32 bytes with E.SIZE", () => {
  assert.throws(() => deviceIdFor(new Uint8Array(31)), /E\.SIZE|32 bytes/);
  assert.throws(() => ctxIdFor(pk(1), new Uint8Array(33)), /realm_id must be 32 bytes/);
});
