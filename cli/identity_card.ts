/**
 * The public identity card `identity_card.pub` (CLI-GOALS-1 §4.1: the public portion), written 0600 like every file
 * of the client directory (docs/operations.md); a card a client directory holds under the old name
 * `identity_card.json` is still read. The content is JSON:
 * ```
 * {"format":"veen-identity-card","version":1,"client_id":HEX32,"id_sign_public":HEX32,"id_dh_public":HEX32,
 *  "hpke_pk":HEX32,"prekey_expires_at":UNIX_SEC,"prekey_sig":HEX64}
 * ```
 * `hpke_pk` is the current prekey, the key `send --to CARD` seals to; `prekey_sig` is id_sign's Ed25519 signature
 * over `Ht("veen/prekey", hpke_pk || u64be(prekey_expires_at))` (KEX0.2: prekeys signed by id_sign with expiry).
 */
import { ed25519Sign, ed25519Verify, fromHex, Ht, toHex, u64be, VeenError } from "../core/mod.ts";
import { usageError } from "../cmd/mod.ts";
import { exists, writeFileAtomic } from "./files.ts";
import type { ClientKeys } from "./keystore.ts";

export const IDENTITY_CARD_FILE = "identity_card.pub";
/** The card's name before it followed the spec; read when a client directory has no `identity_card.pub`. */
const LEGACY_IDENTITY_CARD_FILE = "identity_card.json";

export interface IdentityCard {
  clientId: Uint8Array;
  idSignPublic: Uint8Array;
  idDhPublic: Uint8Array;
  hpkePk: Uint8Array;
  prekeyExpiresAt: number;
  prekeySig: Uint8Array;
}

export function prekeyDigest(hpkePk: Uint8Array, expiresAt: number): Uint8Array {
  return Ht("veen/prekey", hpkePk, u64be(expiresAt));
}

export function identityCardOf(keys: ClientKeys): IdentityCard {
  return {
    clientId: keys.client.public,
    idSignPublic: keys.idSign.public,
    idDhPublic: keys.idDh.public,
    hpkePk: keys.prekey.public,
    prekeyExpiresAt: keys.prekeyExpiresAt,
    prekeySig: ed25519Sign(keys.idSign.secret, prekeyDigest(keys.prekey.public, keys.prekeyExpiresAt)),
  };
}

export function encodeIdentityCard(c: IdentityCard): string {
  return JSON.stringify(
    {
      format: "veen-identity-card",
      version: 1,
      client_id: toHex(c.clientId),
      id_sign_public: toHex(c.idSignPublic),
      id_dh_public: toHex(c.idDhPublic),
      hpke_pk: toHex(c.hpkePk),
      prekey_expires_at: c.prekeyExpiresAt,
      prekey_sig: toHex(c.prekeySig),
    },
    null,
    2,
  ) + "\n";
}

export function decodeIdentityCard(text: string, where: string): IdentityCard {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw usageError(`${where} is not a JSON identity card`);
  }
  const h = (k: string, n: number): Uint8Array => {
    const v = o[k];
    if (typeof v !== "string" || v.length !== 2 * n || !/^[0-9a-fA-F]+$/.test(v)) {
      throw usageError(`${where}: ${k} must be ${n} bytes of hex`);
    }
    return fromHex(v, n);
  };
  const exp = o.prekey_expires_at;
  if (typeof exp !== "number" || !Number.isSafeInteger(exp) || exp < 0) {
    throw usageError(`${where}: prekey_expires_at must be an unsigned integer`);
  }
  return {
    clientId: h("client_id", 32),
    idSignPublic: h("id_sign_public", 32),
    idDhPublic: h("id_dh_public", 32),
    hpkePk: h("hpke_pk", 32),
    prekeyExpiresAt: exp,
    prekeySig: h("prekey_sig", 64),
  };
}

/** Checks the prekey signature (E.SIG) and its expiry against `nowSec` (E.TIME). */
export function checkPrekey(c: IdentityCard, nowSec: number): void {
  if (!ed25519Verify(c.idSignPublic, prekeyDigest(c.hpkePk, c.prekeyExpiresAt), c.prekeySig)) {
    throw new VeenError("E.SIG", "Identity card prekey signature does not verify under id_sign_public");
  }
  if (c.prekeyExpiresAt < nowSec) {
    throw new VeenError("E.TIME", `Identity card prekey expired at ${c.prekeyExpiresAt}`);
  }
}

export async function writeIdentityCard(dir: string, c: IdentityCard): Promise<void> {
  await writeFileAtomic(`${dir}/${IDENTITY_CARD_FILE}`, encodeIdentityCard(c), 0o600);
}

/** Reads an identity card from a card file or a client directory (`identity_card.pub`, else the legacy name). */
export async function readIdentityCard(pathOrDir: string): Promise<IdentityCard> {
  let path = pathOrDir;
  try {
    if ((await Deno.stat(pathOrDir)).isDirectory) {
      path = `${pathOrDir}/${IDENTITY_CARD_FILE}`;
      const legacy = `${pathOrDir}/${LEGACY_IDENTITY_CARD_FILE}`;
      if (!(await exists(path)) && (await exists(legacy))) path = legacy;
    }
    return decodeIdentityCard(await Deno.readTextFile(path), path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      throw usageError(`Cannot read identity card "${path}"`);
    }
    throw e;
  }
}
