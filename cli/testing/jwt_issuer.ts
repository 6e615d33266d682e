/** Test helper: a JWT issuer with a fresh key of each trusted algorithm, its JWKS and a token minter. */
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";

export type TestAlg = "RS256" | "ES256" | "EdDSA";

export interface TestIssuer {
  /** `{"keys": [...]}` with kid = the algorithm name. */
  jwks: { keys: Record<string, unknown>[] };
  /** A compact JWS over `claims` (header `{alg, typ: "JWT", kid: alg}` unless `header` overrides). */
  mint(alg: TestAlg, claims: Record<string, unknown>, header?: Record<string, unknown>): string;
}

const b64url = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const enc = (v: unknown) => b64url(new TextEncoder().encode(JSON.stringify(v)));

export function testIssuer(): TestIssuer {
  const pairs: Record<TestAlg, { publicKey: KeyObject; privateKey: KeyObject }> = {
    RS256: generateKeyPairSync("rsa", { modulusLength: 2048 }),
    ES256: generateKeyPairSync("ec", { namedCurve: "P-256" }),
    EdDSA: generateKeyPairSync("ed25519"),
  };
  const jwks = {
    keys: (Object.keys(pairs) as TestAlg[]).map((alg) => ({
      ...(pairs[alg].publicKey.export({ format: "jwk" }) as Record<string, unknown>),
      kid: alg,
      use: "sig",
    })),
  };
  return {
    jwks,
    mint(alg, claims, header = {}) {
      const h = enc({ alg, typ: "JWT", kid: alg, ...header });
      const p = enc(claims);
      const data = new TextEncoder().encode(`${h}.${p}`);
      const key = pairs[alg].privateKey;
      const sig = alg === "EdDSA"
        ? sign(null, data, key)
        : alg === "ES256"
        ? sign("sha256", data, { key, dsaEncoding: "ieee-p1363" })
        : sign("sha256", data, key);
      return `${h}.${p}.${b64url(new Uint8Array(sig))}`;
    },
  };
}
