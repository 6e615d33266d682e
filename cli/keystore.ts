/**
 * The client key store `keystore.enc` (CLI-GOALS-1 §4): the long-term signing key id_sign, the long-term X25519
 * key id_dh, the current client_id signing key, the current HPKE prekey (signed by id_sign in the identity card),
 * and the retired client keys and prekeys (kept to decrypt older messages after `id rotate`).
 *
 * File format (JSON, mode 0600):
 * ```
 * {"format":"veen-keystore","version":1,"encrypted":true,
 *  "kdf":{"name":"scrypt","N":32768,"r":8,"p":1,"salt":HEX16},
 *  "aead":"xchacha20poly1305","nonce":HEX24,"ciphertext":HEX}     // passphrase given
 * {"format":"veen-keystore","version":1,"encrypted":false,"keys":{...}}   // no passphrase: unencrypted, marked
 * ```
 * The encrypted form seals the JSON of `keys` with XChaCha20-Poly1305 under `scrypt(passphrase, salt)` with
 * AAD `veen-keystore-v1`. `keys` = `{"id_sign_seed","id_dh_secret","client_seed","prekey_secret","prekey_expires_at",
 * "previous":[{"client_seed","prekey_secret","retired_at"}]}` (hex strings, Unix seconds).
 */
import { scryptSync } from "node:crypto";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  defaultRandom,
  fromHex,
  type HpkeKeyPair,
  hpkePublicFromSecret,
  type RandomFn,
  type SigningKey,
  signingKeyFromSeed,
  toHex,
  utf8,
  VeenError,
} from "../core/mod.ts";
import { type CommandError, usageError } from "../cmd/mod.ts";
import { writeFileAtomic } from "./files.ts";

export const KEYSTORE_FILE = "keystore.enc";
/** Lifetime of a fresh HPKE prekey (KEX0.2: prekeys carry expiry times). */
export const PREKEY_LIFETIME_SEC = 30 * 24 * 3600;
const AAD = utf8("veen-keystore-v1");
const SCRYPT = { N: 32768, r: 8, p: 1 } as const;

export interface RetiredKeys {
  client: SigningKey;
  prekey: HpkeKeyPair;
  retiredAt: number;
}

export interface ClientKeys {
  idSign: SigningKey;
  idDh: HpkeKeyPair;
  /** The current MSG.client_id key (equal to id_sign until the first `id rotate`). */
  client: SigningKey;
  /** The current HPKE recipient key (prekey). */
  prekey: HpkeKeyPair;
  prekeyExpiresAt: number;
  previous: RetiredKeys[];
}

function hpkePair(secret: Uint8Array): HpkeKeyPair {
  return { secret, public: hpkePublicFromSecret(secret) };
}

/** Fresh keys; the first client_id is the id_sign key. */
export function generateClientKeys(nowSec: number, random: RandomFn = defaultRandom): ClientKeys {
  const idSign = signingKeyFromSeed(random(32));
  return {
    idSign,
    idDh: hpkePair(random(32)),
    client: idSign,
    prekey: hpkePair(random(32)),
    prekeyExpiresAt: nowSec + PREKEY_LIFETIME_SEC,
    previous: [],
  };
}

/** KEX0.2 rotation: a new client_id key and a new prekey; the old ones are retired (kept for decryption). */
export function rotateClientKeys(
  keys: ClientKeys,
  nowSec: number,
  random: RandomFn = defaultRandom,
): ClientKeys {
  return {
    ...keys,
    client: signingKeyFromSeed(random(32)),
    prekey: hpkePair(random(32)),
    prekeyExpiresAt: nowSec + PREKEY_LIFETIME_SEC,
    previous: [...keys.previous, { client: keys.client, prekey: keys.prekey, retiredAt: nowSec }],
  };
}

/** Every HPKE secret that may open a message sealed to this client, newest first. */
export function decryptionSecrets(keys: ClientKeys): Uint8Array[] {
  return [
    keys.prekey.secret,
    ...keys.previous.slice().reverse().map((p) => p.prekey.secret),
    keys.idDh.secret,
  ];
}

function keysToJson(k: ClientKeys): Record<string, unknown> {
  return {
    id_sign_seed: toHex(k.idSign.secret),
    id_dh_secret: toHex(k.idDh.secret),
    client_seed: toHex(k.client.secret),
    prekey_secret: toHex(k.prekey.secret),
    prekey_expires_at: k.prekeyExpiresAt,
    previous: k.previous.map((p) => ({
      client_seed: toHex(p.client.secret),
      prekey_secret: toHex(p.prekey.secret),
      retired_at: p.retiredAt,
    })),
  };
}

function bad(detail: string): CommandError {
  return usageError(`Keystore is damaged: ${detail}`);
}

function hex32(o: Record<string, unknown>, k: string): Uint8Array {
  const v = o[k];
  if (typeof v !== "string" || !/^[0-9a-f]{64}$/.test(v)) throw bad(`${k} is not 32 bytes of hex`);
  return fromHex(v, 32);
}

function uint(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw bad(`${k} is not an unsigned integer`);
  }
  return v;
}

function keysFromJson(v: unknown): ClientKeys {
  if (typeof v !== "object" || v === null) throw bad("keys is not an object");
  const o = v as Record<string, unknown>;
  const prev = o.previous;
  if (!Array.isArray(prev)) throw bad("previous is not a list");
  return {
    idSign: signingKeyFromSeed(hex32(o, "id_sign_seed")),
    idDh: hpkePair(hex32(o, "id_dh_secret")),
    client: signingKeyFromSeed(hex32(o, "client_seed")),
    prekey: hpkePair(hex32(o, "prekey_secret")),
    prekeyExpiresAt: uint(o, "prekey_expires_at"),
    previous: prev.map((p: unknown) => {
      if (typeof p !== "object" || p === null) throw bad("previous entry is not an object");
      const r = p as Record<string, unknown>;
      return {
        client: signingKeyFromSeed(hex32(r, "client_seed")),
        prekey: hpkePair(hex32(r, "prekey_secret")),
        retiredAt: uint(r, "retired_at"),
      };
    }),
  };
}

function kdf(passphrase: string, salt: Uint8Array, p: { N: number; r: number; p: number }): Uint8Array {
  return new Uint8Array(
    scryptSync(utf8(passphrase), salt, 32, { ...p, maxmem: 256 * p.N * p.r + 1024 * 1024 }),
  );
}

/** Serializes `keys`, encrypted when `passphrase` is given. */
export function encodeKeystore(
  keys: ClientKeys,
  passphrase: string | undefined,
  random: RandomFn = defaultRandom,
): string {
  const keysJson = keysToJson(keys);
  if (passphrase === undefined) {
    const doc = { format: "veen-keystore", version: 1, encrypted: false, keys: keysJson };
    return JSON.stringify(doc, null, 2) + "\n";
  }
  const salt = random(16);
  const nonce = random(24);
  const ct = xchacha20poly1305(kdf(passphrase, salt, SCRYPT), nonce, AAD).encrypt(
    utf8(JSON.stringify(keysJson)),
  );
  return JSON.stringify(
    {
      format: "veen-keystore",
      version: 1,
      encrypted: true,
      kdf: { name: "scrypt", ...SCRYPT, salt: toHex(salt) },
      aead: "xchacha20poly1305",
      nonce: toHex(nonce),
      ciphertext: toHex(ct),
    },
    null,
    2,
  ) + "\n";
}

/** Parses a keystore; an encrypted one needs the passphrase (usage error without it, E.AUTH when it is wrong). */
export function decodeKeystore(
  text: string,
  passphrase: string | undefined,
): { keys: ClientKeys; encrypted: boolean } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad("not JSON");
  }
  if (o.format !== "veen-keystore" || o.version !== 1) throw bad("unknown format");
  if (o.encrypted === false) return { keys: keysFromJson(o.keys), encrypted: false };
  if (o.encrypted !== true) throw bad("encrypted flag missing");
  if (passphrase === undefined) {
    throw usageError("Keystore is encrypted: set VEEN_PASSPHRASE or name a variable with --passphrase-env");
  }
  const k = o.kdf as Record<string, unknown> | undefined;
  if (typeof k !== "object" || k === null || k.name !== "scrypt" || o.aead !== "xchacha20poly1305") {
    throw bad("unsupported kdf or aead");
  }
  const params = { N: uint(k, "N"), r: uint(k, "r"), p: uint(k, "p") };
  if (params.N > 1 << 20 || params.r > 32 || params.p > 16) throw bad("scrypt parameters out of range");
  const salt = typeof k.salt === "string" ? fromHex(k.salt, 16, "salt") : new Uint8Array(0);
  const nonce = typeof o.nonce === "string" ? fromHex(o.nonce, 24, "nonce") : new Uint8Array(0);
  const ct = typeof o.ciphertext === "string"
    ? fromHex(o.ciphertext, undefined, "ciphertext")
    : new Uint8Array(0);
  let plain: Uint8Array;
  try {
    plain = xchacha20poly1305(kdf(passphrase, salt, params), nonce, AAD).decrypt(ct);
  } catch {
    throw new VeenError("E.AUTH", "Wrong passphrase for keystore (or the keystore was modified)");
  }
  return { keys: keysFromJson(JSON.parse(new TextDecoder().decode(plain))), encrypted: true };
}

/** The passphrase from `--passphrase-env VAR` (which must be set) or `VEEN_PASSPHRASE`, if any. */
export function passphraseFrom(
  varName: string | undefined,
  env: (k: string) => string | undefined,
): string | undefined {
  if (varName !== undefined) {
    const v = env(varName);
    if (v === undefined) throw usageError(`--passphrase-env names ${varName}, which is not set`);
    return v;
  }
  return env("VEEN_PASSPHRASE");
}

export async function writeKeystore(
  dir: string,
  keys: ClientKeys,
  passphrase: string | undefined,
): Promise<void> {
  await writeFileAtomic(`${dir}/${KEYSTORE_FILE}`, encodeKeystore(keys, passphrase), 0o600);
}

/** Reads `<dir>/keystore.enc`; a missing file is a usage error (not a client directory). */
export async function readKeystore(
  dir: string,
  passphrase: string | undefined,
): Promise<{ keys: ClientKeys; encrypted: boolean }> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${KEYSTORE_FILE}`);
  } catch (e) {
    throw usageError(
      `${dir} is not a client directory (cannot read ${KEYSTORE_FILE}): ${
        e instanceof Error ? e.message : e
      }`,
    );
  }
  return decodeKeystore(text, passphrase);
}
