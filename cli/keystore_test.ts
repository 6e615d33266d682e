import assert from "node:assert/strict";
import { throwsCode } from "../tests/util.ts";
import { prng } from "../tests/util.ts";
import { bytesEqual } from "../core/mod.ts";
import { CommandError } from "../cmd/mod.ts";
import {
  decodeKeystore,
  decryptionSecrets,
  encodeKeystore,
  generateClientKeys,
  passphraseFrom,
  readKeystore,
  rotateClientKeys,
  writeKeystore,
} from "./keystore.ts";
import { tempDir } from "./testing/run.ts";

const rnd = prng(7);

Deno.test("keystore round-trips unencrypted (marked) and encrypted with scrypt + XChaCha20-Poly1305", () => {
  const keys = generateClientKeys(1000, rnd.bytes);
  const plain = encodeKeystore(keys, undefined, rnd.bytes);
  assert.equal(JSON.parse(plain).encrypted, false);
  assert.deepEqual(decodeKeystore(plain, undefined).keys, keys);
  const enc = encodeKeystore(keys, "pw", rnd.bytes);
  const o = JSON.parse(enc);
  assert.equal(o.encrypted, true);
  assert.equal(o.kdf.name, "scrypt");
  assert.ok(!enc.includes(Array.from(keys.idSign.secret, (b) => b.toString(16).padStart(2, "0")).join("")));
  const back = decodeKeystore(enc, "pw");
  assert.equal(back.encrypted, true);
  assert.deepEqual(back.keys, keys);
});

Deno.test("an encrypted keystore needs its passphrase: usage error without, E.AUTH when wrong", () => {
  const enc = encodeKeystore(generateClientKeys(1, rnd.bytes), "right", rnd.bytes);
  assert.throws(
    () => decodeKeystore(enc, undefined),
    (e: unknown) => e instanceof CommandError && e.kind === "usage",
  );
  throwsCode(() => decodeKeystore(enc, "wrong"), "E.AUTH");
  const o = JSON.parse(enc);
  o.ciphertext = o.ciphertext.replace(/^./, (c: string) => (c === "0" ? "1" : "0"));
  throwsCode(() => decodeKeystore(JSON.stringify(o), "right"), "E.AUTH");
});

Deno.test("rotateClientKeys() replaces client_id and prekey and keeps the old ones for decryption", () => {
  const k0 = generateClientKeys(1, rnd.bytes);
  assert.ok(bytesEqual(k0.client.public, k0.idSign.public));
  const k1 = rotateClientKeys(k0, 2, rnd.bytes);
  assert.ok(!bytesEqual(k1.client.public, k0.client.public));
  assert.ok(bytesEqual(k1.idSign.public, k0.idSign.public));
  assert.equal(k1.previous.length, 1);
  const secrets = decryptionSecrets(k1);
  assert.ok(bytesEqual(secrets[0]!, k1.prekey.secret));
  assert.ok(secrets.some((s) => bytesEqual(s, k0.prekey.secret)));
  assert.deepEqual(decodeKeystore(encodeKeystore(k1, undefined), undefined).keys, k1);
});

Deno.test("writeKeystore() writes mode 0600; readKeystore() of a non-client dir is a usage error", async () => {
  const t = await tempDir();
  try {
    const keys = generateClientKeys(1, rnd.bytes);
    await writeKeystore(t.path, keys, undefined);
    assert.equal((await Deno.stat(`${t.path}/keystore.enc`)).mode! & 0o777, 0o600);
    assert.deepEqual((await readKeystore(t.path, undefined)).keys, keys);
    await assert.rejects(
      () => readKeystore(`${t.path}/nope`, undefined),
      (e: unknown) => e instanceof CommandError && e.kind === "usage",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("passphraseFrom() prefers --passphrase-env, which must be set, then VEEN_PASSPHRASE", () => {
  const env = (m: Record<string, string>) => (k: string) => m[k];
  assert.equal(passphraseFrom("PW", env({ PW: "a", VEEN_PASSPHRASE: "b" })), "a");
  assert.equal(passphraseFrom(undefined, env({ VEEN_PASSPHRASE: "b" })), "b");
  assert.equal(passphraseFrom(undefined, env({})), undefined);
  assert.throws(() => passphraseFrom("PW", env({})), CommandError);
});
