import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { VeenError } from "../core/mod.ts";
import { parseJwks, verifyJwt } from "./jwt_gateway.ts";
import { type TestAlg, testIssuer } from "./testing/jwt_issuer.ts";

const issuer = testIssuer();
const NOW = 1_800_000_000;
const policy = { issuer: "https://idp.example", audience: "veen-app", now: NOW };
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: policy.issuer,
  aud: policy.audience,
  sub: "user-42",
  exp: NOW + 60,
  ...extra,
});

function refused(
  token: string,
  code: string,
  re: RegExp,
  p: Partial<typeof policy> & { leewaySec?: number } = {},
) {
  assert.throws(
    () => verifyJwt(token, issuer.jwks.keys, { ...policy, ...p }),
    (e: unknown) => e instanceof VeenError && e.code === code && re.test(e.detail),
  );
}

Deno.test("jwt: RS256, ES256 and EdDSA tokens of the trusted issuer verify and give their sub", () => {
  for (const alg of ["RS256", "ES256", "EdDSA"] as TestAlg[]) {
    const v = verifyJwt(issuer.mint(alg, claims({ aud: ["other", "veen-app"] })), issuer.jwks.keys, policy);
    assert.equal(v.sub, "user-42");
    assert.equal(v.alg, alg);
    assert.equal(v.kid, alg);
  }
});

Deno.test("jwt: expiry is exclusive (refused at exactly now == exp) and nbf inclusive (accepted at now == nbf)", () => {
  verifyJwt(issuer.mint("EdDSA", claims({ exp: NOW + 1 })), issuer.jwks.keys, policy);
  refused(issuer.mint("EdDSA", claims({ exp: NOW })), "E.TIME", /expired/);
  verifyJwt(issuer.mint("EdDSA", claims({ exp: NOW })), issuer.jwks.keys, { ...policy, leewaySec: 1 });
  verifyJwt(issuer.mint("EdDSA", claims({ nbf: NOW })), issuer.jwks.keys, policy);
  refused(issuer.mint("EdDSA", claims({ nbf: NOW + 1 })), "E.TIME", /not valid before/);
  refused(issuer.mint("EdDSA", claims({ exp: undefined })), "E.AUTH", /no exp/);
});

Deno.test("jwt: wrong issuer, audience or sub, and an untrusted algorithm or key are refused", () => {
  refused(issuer.mint("ES256", claims({ iss: "https://evil.example" })), "E.AUTH", /iss/);
  refused(issuer.mint("ES256", claims({ aud: "someone-else" })), "E.AUTH", /aud/);
  refused(issuer.mint("ES256", claims({ sub: "" })), "E.AUTH", /sub/);
  refused(issuer.mint("ES256", claims(), { alg: "none" }), "E.AUTH", /not trusted/);
  refused(issuer.mint("ES256", claims(), { alg: "HS256" }), "E.AUTH", /not trusted/);
  refused(issuer.mint("ES256", claims(), { kid: "unknown" }), "E.AUTH", /No trusted ES256 key/);
  refused(issuer.mint("ES256", claims(), { crit: ["exp"] }), "E.AUTH", /crit/);
  // An EdDSA token whose header claims RS256: the RS256 key does not verify it.
  refused(issuer.mint("EdDSA", claims(), { alg: "RS256", kid: "RS256" }), "E.SIG", /does not verify/);
});

Deno.test("jwt: a signature over other bytes, a key of another issuer and a malformed token are refused", () => {
  const t = issuer.mint("RS256", claims());
  const [h, , s] = t.split(".");
  const forged = `${h}.${btoa(JSON.stringify(claims({ sub: "admin" }))).replace(/=+$/, "")}.${s}`;
  refused(forged, "E.SIG", /does not verify/);
  const other = testIssuer();
  refused(other.mint("EdDSA", claims()), "E.SIG", /does not verify/);
  refused("a.b", "E.SIZE", /three parts/);
  refused(`${h}.e30.***`, "E.SIZE", /signature is not base64url/);
  refused("bm90IGpzb24.e30.AA", "E.SIZE", /header is not a JSON object/);
});

Deno.test("jwt: JWKS parsing takes a key set or one key; short RSA keys are refused", () => {
  assert.equal(parseJwks(JSON.stringify(issuer.jwks)).length, 3);
  assert.equal(parseJwks(JSON.stringify(issuer.jwks.keys[0])).length, 1);
  assert.throws(() => parseJwks("[1]"), /JWKS must be/);
  assert.throws(() => parseJwks("nope"), /not JSON/);
  const weak = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const jwk = { ...(weak.publicKey.export({ format: "jwk" }) as Record<string, unknown>), kid: "RS256" };
  assert.throws(
    () => verifyJwt(issuer.mint("RS256", claims()), [jwk], policy),
    /too short/,
  );
});
