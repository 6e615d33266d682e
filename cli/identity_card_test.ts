import assert from "node:assert/strict";
import { prng, throwsCode } from "../tests/util.ts";
import { CommandError } from "../cmd/mod.ts";
import {
  checkPrekey,
  decodeIdentityCard,
  encodeIdentityCard,
  identityCardOf,
  readIdentityCard,
  writeIdentityCard,
} from "./identity_card.ts";
import { generateClientKeys } from "./keystore.ts";
import { tempDir } from "./testing/run.ts";

const keys = generateClientKeys(1000, prng(3).bytes);

Deno.test("identity cards round-trip and carry a prekey signed by id_sign", () => {
  const card = identityCardOf(keys);
  assert.deepEqual(decodeIdentityCard(encodeIdentityCard(card), "card"), card);
  checkPrekey(card, 1000);
});

Deno.test("checkPrekey() rejects a forged prekey (E.SIG) and an expired one (E.TIME)", () => {
  const card = identityCardOf(keys);
  const forged = { ...card, hpkePk: card.idDhPublic };
  throwsCode(() => checkPrekey(forged, 1000), "E.SIG");
  throwsCode(() => checkPrekey(card, card.prekeyExpiresAt + 1), "E.TIME");
});

Deno.test("readIdentityCard() accepts a card file or a client directory", async () => {
  const t = await tempDir();
  try {
    await writeIdentityCard(t.path, identityCardOf(keys));
    const a = await readIdentityCard(t.path);
    const b = await readIdentityCard(`${t.path}/identity_card.pub`);
    assert.deepEqual(a, b);
    await Deno.rename(`${t.path}/identity_card.pub`, `${t.path}/identity_card.json`);
    assert.deepEqual(await readIdentityCard(t.path), a, "the old name is still read");
    await assert.rejects(() => readIdentityCard(`${t.path}/missing`), CommandError);
    assert.throws(() => decodeIdentityCard('{"client_id":"zz"}', "x"), CommandError);
  } finally {
    await t.cleanup();
  }
});
