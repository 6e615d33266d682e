/**
 * The external-login gateway of the ID layer (spec 001 ID §10.2, "ID v0.0.1 External": "a gateway validates the
 * external token ... emits or updates an external_link binding external_sub to ctx_id"). Providers are OpenID
 * Connect style issuers of signed JWTs (RFC 7519, JWS RFC 7515); this is the trust policy:
 *
 * - A provider is trusted exactly when the caller names its issuer, the audience and its public keys (a JWKS
 *   file, RFC 7517): nothing is fetched. Keys are chosen by the header's `kid`, or, without one, the only key of
 *   the algorithm's type. A key's own `alg` and `use` (when present) must fit.
 * - Algorithms: RS256 (RSA of at least 2048 bits), ES256 (P-256, raw r||s signatures) and EdDSA (Ed25519).
 *   `none`, HMAC and every other algorithm are refused, as is any `crit` header.
 * - Claims: `iss` equals the issuer, `aud` (text or list) contains the audience, `sub` is a non-empty text of at
 *   most 4096 bytes, `exp` is required and the token is refused at and after it (`now >= exp + leeway`), `nbf`
 *   when present must be reached (`now + leeway >= nbf`). The leeway defaults to 0.
 *
 * Failures: an undecodable token E.SIZE, an untrusted algorithm, key, issuer or audience E.AUTH, a bad signature
 * E.SIG, a token outside its validity window E.TIME.
 */
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { utf8, VeenError } from "../core/mod.ts";

/** The JWS algorithms the gateway accepts. */
export const TRUSTED_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;
export type JwtAlgorithm = typeof TRUSTED_ALGORITHMS[number];

/** Longest token accepted (bytes). */
export const MAX_TOKEN_BYTES = 16 * 1024;

export interface JwtPolicy {
  issuer: string;
  audience: string;
  /** Unix seconds. */
  now: number;
  leewaySec?: number;
}

export interface VerifiedJwt {
  alg: JwtAlgorithm;
  kid?: string;
  iss: string;
  sub: string;
  exp: number;
  claims: Record<string, unknown>;
}

type Jwk = Record<string, unknown>;

const KTY: Record<JwtAlgorithm, { kty: string; crv?: string }> = {
  RS256: { kty: "RSA" },
  ES256: { kty: "EC", crv: "P-256" },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
};

function b64url(part: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new VeenError("E.SIZE", `JWT ${what} is not base64url`);
  const std = part.replace(/-/g, "+").replace(/_/g, "/");
  try {
    return Uint8Array.from(atob(std + "=".repeat((4 - std.length % 4) % 4)), (c) => c.charCodeAt(0));
  } catch {
    throw new VeenError("E.SIZE", `JWT ${what} is not base64url`);
  }
}

function jsonPart(part: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b64url(part, what)));
  } catch (e) {
    if (e instanceof VeenError) throw e;
    throw new VeenError("E.SIZE", `JWT ${what} is not a JSON object`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new VeenError("E.SIZE", `JWT ${what} is not a JSON object`);
  }
  return v as Record<string, unknown>;
}

/** The keys of a JWKS document (`{"keys": [...]}`) or of a single JWK. */
export function parseJwks(text: string): Jwk[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new VeenError("E.SIZE", "JWKS is not JSON");
  }
  const o = v as Record<string, unknown>;
  const keys = Array.isArray(o?.keys) ? o.keys : typeof o?.kty === "string" ? [o] : undefined;
  if (keys === undefined || !keys.every((k) => typeof k === "object" && k !== null && !Array.isArray(k))) {
    throw new VeenError("E.SIZE", 'JWKS must be {"keys": [JWK, ...]} or one JWK');
  }
  return keys as Jwk[];
}

/** The key that verifies `alg` with header `kid`: E.AUTH when none or several fit. */
function pickKey(keys: readonly Jwk[], alg: JwtAlgorithm, kid: string | undefined): KeyObject {
  const want = KTY[alg];
  const fits = (k: Jwk) =>
    k.kty === want.kty && (want.crv === undefined || k.crv === want.crv) &&
    (k.alg === undefined || k.alg === alg) && (k.use === undefined || k.use === "sig");
  const cands = keys.filter((k) => (kid === undefined || k.kid === kid) && fits(k));
  if (cands.length !== 1) {
    throw new VeenError(
      "E.AUTH",
      cands.length === 0
        ? `No trusted ${alg} key${kid === undefined ? "" : ` with kid "${kid}"`} in the JWKS`
        : `Several ${alg} keys fit and the JWT names no kid`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: cands[0]!, format: "jwk" });
  } catch (e) {
    throw new VeenError("E.SIZE", `JWKS key is not a valid JWK: ${e instanceof Error ? e.message : e}`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (alg === "RS256" && (bits === undefined || bits < 2048)) {
    throw new VeenError("E.AUTH", `RSA key of ${bits} bits is too short (at least 2048)`);
  }
  return key;
}

/** Verifies a compact JWS JWT under the trust policy of this module; returns its checked claims. */
export function verifyJwt(token: string, keys: readonly Jwk[], policy: JwtPolicy): VerifiedJwt {
  if (utf8(token).length > MAX_TOKEN_BYTES) {
    throw new VeenError("E.SIZE", `JWT is longer than ${MAX_TOKEN_BYTES} bytes`);
  }
  const parts = token.trim().split(".");
  if (parts.length !== 3) throw new VeenError("E.SIZE", "JWT must have three parts (compact JWS)");
  const [h, p, s] = parts as [string, string, string];
  const header = jsonPart(h, "header");
  const alg = header.alg;
  if (typeof alg !== "string" || !(TRUSTED_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new VeenError(
      "E.AUTH",
      `JWT algorithm "${String(alg)}" is not trusted (${TRUSTED_ALGORITHMS.join(", ")})`,
    );
  }
  if (header.crit !== undefined) throw new VeenError("E.AUTH", "JWT crit headers are not supported");
  if (header.kid !== undefined && typeof header.kid !== "string") {
    throw new VeenError("E.SIZE", "JWT kid is not text");
  }
  const a = alg as JwtAlgorithm;
  const kid = header.kid as string | undefined;
  const key = pickKey(keys, a, kid);
  const signed = utf8(`${h}.${p}`);
  const sig = b64url(s, "signature");
  const ok = a === "EdDSA"
    ? verify(null, signed, key, sig)
    : a === "ES256"
    ? sig.length === 64 && verify("sha256", signed, { key, dsaEncoding: "ieee-p1363" }, sig)
    : verify("sha256", signed, key, sig);
  if (!ok) throw new VeenError("E.SIG", `JWT signature does not verify under the ${a} key`);

  const claims = jsonPart(p, "payload");
  if (claims.iss !== policy.issuer) {
    throw new VeenError(
      "E.AUTH",
      `JWT iss "${String(claims.iss)}" is not the trusted issuer "${policy.issuer}"`,
    );
  }
  const aud = claims.aud;
  const auds = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!auds.includes(policy.audience)) {
    throw new VeenError("E.AUTH", `JWT aud does not include "${policy.audience}"`);
  }
  const sub = claims.sub;
  if (typeof sub !== "string" || sub === "" || utf8(sub).length > 4096) {
    throw new VeenError("E.AUTH", "JWT sub must be a non-empty text of at most 4096 bytes");
  }
  const leeway = policy.leewaySec ?? 0;
  const exp = claims.exp;
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw new VeenError("E.AUTH", "JWT has no exp");
  if (policy.now >= exp + leeway) {
    throw new VeenError("E.TIME", `JWT expired at ${exp} (now ${policy.now}, leeway ${leeway})`);
  }
  const nbf = claims.nbf;
  if (nbf !== undefined) {
    if (typeof nbf !== "number" || !Number.isFinite(nbf)) {
      throw new VeenError("E.SIZE", "JWT nbf is not a number");
    }
    if (policy.now + leeway < nbf) {
      throw new VeenError("E.TIME", `JWT is not valid before ${nbf} (now ${policy.now}, leeway ${leeway})`);
    }
  }
  return { alg: a, ...(kid === undefined ? {} : { kid }), iss: policy.issuer, sub, exp, claims };
}
