import assert from "node:assert/strict";
import { authRef, Ht, issueCapToken, signingKeyFromSeed, toHex, u64be } from "../core/mod.ts";
import type { OverlayEntry } from "./fold.ts";
import { encodeIdBody, ID_DEVICE, ID_REVOKE } from "./identity_bodies.ts";
import { authenticateCtx } from "./identity_auth.ts";
import { principalFold } from "./identity_fold.ts";
import { ctxIdFor, deviceIdFor, orgIdFor } from "./identity_ids.ts";

const principal = signingKeyFromSeed(new Uint8Array(32).fill(1));
const org = signingKeyFromSeed(new Uint8Array(32).fill(2));
const device = signingKeyFromSeed(new Uint8Array(32).fill(3));
const realm = new Uint8Array(32).fill(9);
const app = new Uint8Array(32).fill(7);

const entry = (seq: number, schema: Uint8Array, body: Uint8Array): OverlayEntry => ({
  seq,
  msgId: Ht("t", u64be(seq)),
  clientId: device.public,
  hubTs: 0,
  hdr: { schema },
  body,
});

function principalState(extra: OverlayEntry[] = [], expiresAt?: number) {
  const f = principalFold(principal.public);
  const s = f.empty();
  const dev = encodeIdBody(ID_DEVICE, {
    principal_pk: principal.public,
    device_id: deviceIdFor(device.public),
    device_pk: device.public,
    dh_pk: new Uint8Array(32).fill(4),
    created_at: 1,
    expires_at: expiresAt,
  });
  for (const e of [entry(1, ID_DEVICE.schemaId, dev), ...extra]) assert.equal(f.apply(s, e), "applied");
  return s;
}

const cap = (issuer = principal, subject = device.public) =>
  issueCapToken({
    issuerSecret: issuer.secret,
    issuerPk: issuer.public,
    subjectPk: subject,
    streamIds: [app],
    ttl: 100,
  });

const base = { devicePk: device.public, realmId: realm, streamIds: [app], issuedAt: 1000, now: 1100 };

Deno.test("auth path: a principal's cap to an ACTIVE device binds the session to ctx_id (spec 001 ID §9.2)", () => {
  const s = authenticateCtx({ ...base, token: cap(), principal: principalState() });
  assert.deepEqual(s, {
    kind: "principal",
    principal_pk: toHex(principal.public),
    ctx_id: toHex(ctxIdFor(principal.public, realm)),
    realm_id: toHex(realm),
    device_id: toHex(deviceIdFor(device.public)),
  });
  const o = authenticateCtx({ ...base, token: cap(org), orgPk: org.public });
  assert.equal(o.kind === "org" && o.org_id, toHex(orgIdFor(org.public)));
});

Deno.test("auth path refuses: another subject, a stream not allowed, an expired ttl, a foreign issuer (E.CAP)", () => {
  const p = principalState();
  assert.throws(
    () => authenticateCtx({ ...base, token: cap(principal, org.public), principal: p }),
    /E\.CAP|subject_pk/,
  );
  assert.throws(
    () => authenticateCtx({ ...base, streamIds: [new Uint8Array(32).fill(8)], token: cap(), principal: p }),
    /does not allow stream/,
  );
  assert.throws(() => authenticateCtx({ ...base, now: 1101, token: cap(), principal: p }), /expired at 1100/);
  assert.throws(() => authenticateCtx({ ...base, token: cap(org) }), /neither the principal nor the org/);
  const forged = { ...cap(), issuerPk: org.public };
  assert.throws(() => authenticateCtx({ ...base, token: forged, orgPk: org.public }), /does not verify/);
});

Deno.test("auth path refuses an inactive device, a revoked auth_ref and a revoked ctx_id (E.AUTH)", () => {
  assert.throws(
    () => authenticateCtx({ ...base, token: cap(), principal: principalState([], 1099) }),
    /is not ACTIVE/,
  );
  assert.doesNotThrow(() => authenticateCtx({ ...base, token: cap(), principal: principalState([], 1100) }));
  const t = cap();
  const rev = (rec: Record<string, unknown>) =>
    entry(
      2,
      ID_REVOKE.schemaId,
      encodeIdBody(ID_REVOKE, { principal_pk: principal.public, ...rec, ts: 5 } as never),
    );
  assert.throws(
    () =>
      authenticateCtx({
        ...base,
        token: t,
        principal: principalState([rev({ revoked_auth_ref: authRef(t) })]),
      }),
    /E\.AUTH|is revoked/,
  );
  const ctx = ctxIdFor(principal.public, realm);
  assert.throws(
    () =>
      authenticateCtx({
        ...base,
        token: t,
        principal: principalState([rev({ realm_id: realm, ctx_id: ctx })]),
      }),
    /ctx_id [0-9a-f]{64} is revoked/,
  );
  assert.throws(
    () =>
      authenticateCtx({
        ...base,
        token: t,
        principal: principalState([rev({ device_id: deviceIdFor(device.public) })]),
      }),
    /is not ACTIVE/,
  );
});
