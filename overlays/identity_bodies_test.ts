import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeCborInOrder, encodeCbor, toHex } from "../core/mod.ts";
import {
  checkIdBody,
  decodeIdBody,
  encodeIdBody,
  ID_CODECS,
  ID_DEVICE,
  ID_EXTERNAL,
  ID_HANDLEMAP,
  ID_REVOKE,
} from "./identity_bodies.ts";
import { deviceIdFor } from "./identity_ids.ts";

const b = (x: number) => new Uint8Array(32).fill(x);

Deno.test("id.* schema ids are H(utf8(name)) over node:crypto SHA-256 (spec 001 ID §5)", () => {
  const names = [
    "id.principal.v1",
    "id.device.v1",
    "id.ctx.profile.v1",
    "id.org.profile.v1",
    "id.group.v1",
    "id.role.v1",
    "id.handlemap.v1",
    "id.external.v1",
    "id.revoke.v1",
  ];
  assert.deepEqual(ID_CODECS.map((c) => c.name), names);
  for (const c of ID_CODECS) {
    assert.equal(toHex(c.schemaId), createHash("sha256").update(c.name, "utf8").digest("hex"), c.name);
  }
});

Deno.test("id.device.v1 encodes its keys in spec order with optional keys omitted, and round-trips", () => {
  const rec = {
    principal_pk: b(1),
    device_id: deviceIdFor(b(2)),
    device_pk: b(2),
    dh_pk: b(3),
    created_at: 10,
    expires_at: 20,
    flags: new Map([["disabled", true]]),
  };
  const bytes = encodeIdBody(ID_DEVICE, rec);
  const m = decodeCborInOrder(bytes, "t") as Map<string, unknown>;
  assert.deepEqual([...m.keys()], [
    "principal_pk",
    "device_id",
    "device_pk",
    "dh_pk",
    "created_at",
    "expires_at",
    "flags",
  ]);
  assert.deepEqual(decodeIdBody(ID_DEVICE, bytes), rec);
  // the same map in another key order is refused
  const swapped = encodeCbor(
    new Map<string, unknown>([["device_id", rec.device_id], ["principal_pk", b(1)]]) as never,
  );
  assert.throws(() => decodeIdBody(ID_DEVICE, swapped), /E\.SIZE|out of order|missing/);
});

Deno.test("id.* rules beyond the codec: flags, target_type, external and revocation targets", () => {
  const dev = { principal_pk: b(1), device_id: b(4), device_pk: b(2), dh_pk: b(3), created_at: 1 };
  assert.throws(
    () => encodeIdBody(ID_DEVICE, { ...dev, flags: new Map([["admin", true]]) }),
    /unknown key "admin"/,
  );
  assert.throws(
    () => encodeIdBody(ID_DEVICE, { ...dev, flags: new Map([["disabled", 1]]) }),
    /must be a boolean/,
  );
  assert.throws(
    () =>
      encodeIdBody(ID_HANDLEMAP, {
        realm_id: b(1),
        handle: "@a",
        target_type: "user",
        target_id: b(2),
        ts: 1,
      }),
    /must be one of "ctx", "org"/,
  );
  assert.throws(
    () => encodeIdBody(ID_EXTERNAL, { realm_id: b(1), provider: "github", external_sub: "42", ts: 1 }),
    /must name a ctx_id or an org_id/,
  );
  assert.throws(() => encodeIdBody(ID_REVOKE, { principal_pk: b(1), ts: 1 }), /must name a device_id/);
  const ok = ID_REVOKE.encode({ principal_pk: b(1), device_id: b(2), ts: 1 });
  assert.equal(toHex(ok), toHex(encodeIdBody(ID_REVOKE, { principal_pk: b(1), device_id: b(2), ts: 1 })));
  // a decoded body gets the same checks
  assert.throws(() => decodeIdBody(ID_REVOKE, ID_REVOKE.encode({ principal_pk: b(1), ts: 1 })), /must name/);
  assert.throws(
    () => checkIdBody(ID_EXTERNAL, { realm_id: b(1), ctx_id: b(2), attributes: 3 }),
    /must be a map/,
  );
});
