/**
 * The authentication path for ctx_id (spec 001 ID §9.1-9.2), for an application that holds the cap_token behind a
 * MSG's auth_ref and the folded principal stream: the chain verifies under issuer_pk, subject_pk is the MSG's
 * client_id (device_pk), allow.stream_ids covers the streams asked for, the ttl holds (expired when
 * `now > issued_at + ttl`, as the hub's admission), and the auth_ref is not revoked. A principal-issued cap also
 * needs the device ACTIVE for that principal, and binds the session to `Ht("id/ctx", principal_pk || realm_id)`;
 * an org-issued cap binds to the org_id. ctx_id is computed here and never sent on the wire. Rate is admission's.
 */
import {
  authRef,
  bytesEqual,
  capExpiresAt,
  type CapToken,
  toHex,
  VeenError,
  verifyCapChain,
} from "../core/mod.ts";
import { deviceActive, type PrincipalState } from "./identity_fold.ts";
import { ctxIdFor, deviceIdFor, orgIdFor } from "./identity_ids.ts";

export interface CtxAuthInput {
  token: CapToken;
  /** MSG.client_id of the message being authenticated. */
  devicePk: Uint8Array;
  realmId: Uint8Array;
  /** Streams the session needs; each must be in allow.stream_ids. */
  streamIds: readonly Uint8Array[];
  /** When the cap was authorized (hub time, Unix seconds). */
  issuedAt: number;
  now: number;
  /** The folded stream_id_principal of the issuer, for a principal-issued cap. */
  principal?: PrincipalState;
  /** The org's key, when the cap may be org-issued. */
  orgPk?: Uint8Array;
}

export type CtxSession =
  | { kind: "principal"; principal_pk: string; ctx_id: string; realm_id: string; device_id: string }
  | { kind: "org"; org_id: string; subject_pk: string; realm_id: string };

/** Authenticates per §9.2; E.CAP for a bad, foreign, narrow or expired cap, E.AUTH for a revoked or inactive one. */
export function authenticateCtx(a: CtxAuthInput): CtxSession {
  const t = a.token;
  verifyCapChain(t);
  if (!bytesEqual(t.subjectPk, a.devicePk)) {
    throw new VeenError("E.CAP", `cap_token subject_pk is not the client_id ${toHex(a.devicePk)}`);
  }
  for (const s of a.streamIds) {
    if (!t.allow.streamIds.some((x) => bytesEqual(x, s))) {
      throw new VeenError("E.CAP", `cap_token does not allow stream ${toHex(s)}`);
    }
  }
  const expiresAt = capExpiresAt(a.issuedAt, t.allow.ttl);
  if (a.now > expiresAt) throw new VeenError("E.CAP", `Capability expired at ${expiresAt} (now ${a.now})`);
  const ref = toHex(authRef(t));
  const realm = toHex(a.realmId);
  if (a.orgPk !== undefined && bytesEqual(t.issuerPk, a.orgPk)) {
    return { kind: "org", org_id: toHex(orgIdFor(a.orgPk)), subject_pk: toHex(t.subjectPk), realm_id: realm };
  }
  if (a.principal === undefined) {
    throw new VeenError(
      "E.CAP",
      `cap_token issuer ${toHex(t.issuerPk)} is neither the principal nor the org`,
    );
  }
  if (a.principal.revoked.auth_ref.has(ref)) throw new VeenError("E.AUTH", `auth_ref ${ref} is revoked`);
  const deviceId = deviceIdFor(a.devicePk);
  if (!deviceActive(a.principal, deviceId, a.now)) {
    throw new VeenError(
      "E.AUTH",
      `Device ${toHex(deviceId)} is not ACTIVE for principal ${toHex(t.issuerPk)}`,
    );
  }
  const ctxId = ctxIdFor(t.issuerPk, a.realmId);
  if (a.principal.revoked.ctx.has(toHex(ctxId))) {
    throw new VeenError("E.AUTH", `ctx_id ${toHex(ctxId)} is revoked`);
  }
  return {
    kind: "principal",
    principal_pk: toHex(t.issuerPk),
    ctx_id: toHex(ctxId),
    realm_id: realm,
    device_id: toHex(deviceId),
  };
}
