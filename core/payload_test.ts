import assert from "node:assert/strict";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  aadFor,
  attachmentMsgIdForNonce,
  bodyNonce,
  hpkeSetupRecipient,
  hpkeSetupSender,
  type OpenParams,
  openPayload,
  type SealContext,
  type SealParams,
  sealPayload,
  splitPayloadCiphertext,
} from "./payload.ts";
import { attNonce, attRoot, verifyAttachment } from "./attachments.ts";
import { concat, readU32be, toHex, u64be, utf8, ZERO32 } from "./bytes.ts";
import { type ErrorCode, VeenError } from "./errors.ts";
import { H, Ht } from "./hash.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { encodePayloadHdr } from "./payload_hdr.ts";
import { DEFAULT_PROFILE_ID } from "./profile.ts";
import { generateHpkeKeyPair, hpkePublicFromSecret } from "./x25519.ts";
import { hex, prng, rejectsCode } from "../tests/util.ts";

const SK = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const PK = hpkePublicFromSecret(SK);
const SEED = new Uint8Array(32).fill(0x42);
const SCHEMA = H(utf8("schema"));
const CTX: SealContext = {
  profileId: DEFAULT_PROFILE_ID,
  label: H(utf8("label")),
  clientId: H(utf8("client")),
  clientSeq: 7,
  prevAck: 3,
  padBlock: 256,
};
const CTX0: SealContext = { ...CTX, padBlock: 0 };

function seal(over: Partial<SealParams> = {}) {
  return sealPayload({
    ctx: CTX,
    recipientPk: PK,
    hdr: { schema: SCHEMA },
    body: utf8("hello, veen"),
    ...over,
  });
}

function open(ciphertext: Uint8Array, over: Partial<OpenParams> = {}) {
  return openPayload({ ctx: CTX, recipientSk: SK, ciphertext, ...over });
}

/** Asserts that `p` rejects with a VeenError (with `code` when given). */
async function rejectsVeen(p: () => Promise<unknown>, code?: ErrorCode, what = ""): Promise<VeenError> {
  try {
    await p();
  } catch (e) {
    assert.ok(e instanceof VeenError, `${what}: expected VeenError, got ${String(e)}`);
    if (code !== undefined) assert.equal(e.code, code, `${what}: ${e.message}`);
    return e;
  }
  assert.fail(`${what}: expected a VeenError, nothing was thrown`);
}

// ---- round trips ----

for (const padBlock of [0, 256]) {
  Deno.test(`seal/open round trip without attachments, pad_block ${padBlock}`, async () => {
    const ctx = { ...CTX, padBlock };
    const body = prng(padBlock + 1).bytes(1000);
    const s = await seal({ ctx, body, hdr: { schema: SCHEMA, capRef: H(utf8("cap")), expiresAt: 99 } });
    assert.deepEqual(s.ctHash, H(s.ciphertext));
    assert.deepEqual(s.attachmentCiphertexts, []);
    assert.deepEqual(s.coids, []);
    assert.equal(s.hdr.attRoot, undefined);
    if (padBlock > 0) assert.equal(s.ciphertext.length % padBlock, 0);
    const o = await open(s.ciphertext, { ctx });
    assert.deepEqual(o.body, body);
    assert.deepEqual(o.hdr, { schema: SCHEMA, capRef: H(utf8("cap")), expiresAt: 99 });
    await rejectsCode(() => o.openAttachment(0, new Uint8Array(32)), "E.SIZE");
  });

  Deno.test(`seal/open round trip with attachments, pad_block ${padBlock}`, async () => {
    const ctx = { ...CTX, padBlock };
    const r = prng(padBlock + 2);
    const atts = [r.bytes(10), new Uint8Array(0), r.bytes(5000)];
    const s = await seal({ ctx, attachments: atts });
    assert.equal(s.attachmentCiphertexts.length, 3);
    assert.deepEqual(s.coids, s.attachmentCiphertexts.map((c) => H(c)));
    assert.deepEqual(s.hdr.attRoot, attRoot(s.coids));
    const o = await open(s.ciphertext, { ctx });
    assert.deepEqual(o.hdr, s.hdr);
    assert.deepEqual(o.body, utf8("hello, veen"));
    for (let i = 0; i < 3; i++) {
      const c = s.attachmentCiphertexts[i]!;
      assert.equal(verifyAttachment(o.hdr.attRoot, s.coids, i, c), true);
      assert.deepEqual(await o.openAttachment(i, c), atts[i]);
    }
    await rejectsCode(() => o.openAttachment(1, s.attachmentCiphertexts[0]!), "E.AUTH");
    await rejectsCode(() => o.openAttachment(1024, s.attachmentCiphertexts[0]!), "E.SIZE");
    assert.equal((await o.attachmentKey(0)).length, 32);
  });
}

Deno.test("ciphertext length is the smallest multiple of 256 holding the frame", async () => {
  for (const n of [0, 1, 100, 155, 156, 157, 400, 1000]) {
    const s = await seal({ body: new Uint8Array(n) });
    const unpadded = 40 + readU32be(s.ciphertext, 32) + readU32be(s.ciphertext, 36);
    assert.equal(s.ciphertext.length % 256, 0);
    assert.equal(s.ciphertext.length, Math.ceil(unpadded / 256) * 256);
    assert.deepEqual((await open(s.ciphertext)).body, new Uint8Array(n));
  }
});

Deno.test("pad_block 0 adds no padding", async () => {
  const s = await seal({ ctx: CTX0 });
  assert.equal(s.ciphertext.length, 40 + readU32be(s.ciphertext, 32) + readU32be(s.ciphertext, 36));
  assert.equal(readU32be(s.ciphertext, 36), 11 + 16);
});

Deno.test("an empty attachment list is the same as none", async () => {
  const s = await seal({ attachments: [], ephemeralSeed: SEED });
  const t = await seal({ ephemeralSeed: SEED });
  assert.equal(s.hdr.attRoot, undefined);
  assert.deepEqual(s.ciphertext, t.ciphertext);
});

Deno.test("seal replaces a caller-supplied att_root with the one over the sealed attachments", async () => {
  const s = await seal({ hdr: { schema: SCHEMA, attRoot: ZERO32 }, attachments: [utf8("x")] });
  assert.deepEqual(s.hdr.attRoot, attRoot(s.coids));
  assert.deepEqual((await open(s.ciphertext)).hdr.attRoot, attRoot(s.coids));
});

Deno.test("authRef null and absent both mean 32 zero bytes; a set authRef round-trips", async () => {
  assert.deepEqual(aadFor({ ...CTX, authRef: null }), aadFor(CTX));
  assert.deepEqual(aadFor({ ...CTX, authRef: ZERO32 }), aadFor(CTX));
  const ctx = { ...CTX, authRef: H(utf8("auth")) };
  const s = await seal({ ctx });
  assert.deepEqual((await open(s.ciphertext, { ctx })).body, utf8("hello, veen"));
});

Deno.test("fresh ephemeral keys make each seal different; an injected random source is used", async () => {
  const a = await seal();
  const b = await seal();
  assert.notDeepEqual(a.ciphertext.subarray(0, 32), b.ciphertext.subarray(0, 32));
  const c = await seal({ random: (n) => new Uint8Array(n).fill(0x42) });
  const d = await seal({ ephemeralSeed: SEED });
  assert.deepEqual(c.ciphertext, d.ciphertext);
});

// ---- layout, independently of openPayload ----

Deno.test("ciphertext layout, AAD and body nonce follow the spec formulas", async () => {
  const ctx = { ...CTX, authRef: H(utf8("auth")) };
  const s = await seal({ ctx, ephemeralSeed: SEED });
  const aad = H(
    concat(
      utf8("veen/aad"),
      new Uint8Array([0]),
      ctx.profileId,
      ctx.label,
      ctx.clientId,
      u64be(7),
      u64be(3),
      ctx.authRef,
    ),
  );
  assert.deepEqual(aadFor(ctx), aad);
  const aadNoAuth = H(
    concat(
      utf8("veen/aad"),
      new Uint8Array([0]),
      CTX.profileId,
      CTX.label,
      CTX.clientId,
      u64be(7),
      u64be(3),
      new Uint8Array(32),
    ),
  );
  assert.deepEqual(aadFor(CTX), aadNoAuth);
  const nonce = H(
    concat(utf8("veen/nonce"), new Uint8Array([0]), ctx.label, u64be(3), ctx.clientId, u64be(7)),
  ).slice(0, 24);
  assert.deepEqual(bodyNonce(ctx), nonce);

  const ct = s.ciphertext;
  const enc = ct.slice(0, 32);
  const hdrLen = readU32be(ct, 32);
  const bodyLen = readU32be(ct, 36);
  const hdrCt = ct.slice(40, 40 + hdrLen);
  const bodyCt = ct.slice(40 + hdrLen, 40 + hdrLen + bodyLen);
  assert.ok(ct.slice(40 + hdrLen + bodyLen).every((b) => b === 0));
  const r = await hpkeSetupRecipient(SK, enc);
  assert.deepEqual(new Uint8Array(await r.open(hdrCt, aad)), encodePayloadHdr({ schema: SCHEMA }));
  const kBody = new Uint8Array(await r.export(utf8("veen/body-k"), 32));
  assert.deepEqual(xchacha20poly1305(kBody, nonce, aad).decrypt(bodyCt), utf8("hello, veen"));

  const f = splitPayloadCiphertext(ct, 256);
  assert.deepEqual([f.enc, f.hpkeCtHdr, f.aeadCtBody, f.unpaddedLength], [
    enc,
    hdrCt,
    bodyCt,
    40 + hdrLen + bodyLen,
  ]);
});

Deno.test("attachment keys and nonces follow the spec formulas (nonce base = 32 zero bytes)", async () => {
  const s = await seal({ ctx: CTX0, attachments: [utf8("a0"), utf8("a1")], ephemeralSeed: SEED });
  assert.deepEqual(attachmentMsgIdForNonce(), ZERO32);
  const r = await hpkeSetupRecipient(SK, s.ciphertext.slice(0, 32));
  for (const i of [0, 1]) {
    const k = new Uint8Array(await r.export(concat(utf8("veen/att-k"), u64be(i)), 32));
    const nonce = Ht("veen/att-nonce", ZERO32, u64be(i)).slice(0, 24);
    assert.deepEqual(attNonce(ZERO32, i), nonce);
    assert.deepEqual(
      xchacha20poly1305(k, nonce, new Uint8Array(0)).decrypt(s.attachmentCiphertexts[i]!),
      utf8(`a${i}`),
    );
  }
});

Deno.test("the HPKE suite reproduces RFC 9180 A.2.1 (X25519, HKDF-SHA256, ChaCha20Poly1305, base)", async () => {
  const skRm = hex("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb");
  const info = hex("4f6465206f6e2061204772656369616e2055726e");
  const ikmE = hex("909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b");
  const s = await hpkeSetupSender(hpkePublicFromSecret(skRm), ikmE, info);
  assert.equal(
    toHex(new Uint8Array(s.enc)),
    "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
  );
  const ct = new Uint8Array(await s.seal(utf8("Beauty is truth, truth beauty"), hex("436f756e742d30")));
  assert.equal(
    toHex(ct),
    "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
  );
  const r = await hpkeSetupRecipient(skRm, new Uint8Array(s.enc), info);
  assert.equal(
    toHex(new Uint8Array(await r.export(new Uint8Array(0), 32))),
    "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e",
  );
});

// ---- deterministic vectors (fixed recipient key, fixed ephemeral seed) ----

Deno.test("fixed-seed seal without attachments produces the recorded vector", async () => {
  // recipient sk = 01 02 .. 20, ephemeral seed = 42 * 32, default profile, label = H("label"), client_id = H("client"),
  // client_seq 7, prev_ack 3, no auth_ref, pad_block 256, hdr {1: H("schema")}, body "hello, veen".
  assert.equal(toHex(PK), "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
  const s = await seal({ ephemeralSeed: SEED });
  const want = "ae3bf1cd87c2d2ed25af4a1a239eed04a990f00e7403e4c8065927de010fd17a000000340000001b" +
    "767dc8b8934146c813d1641b56d463d8332fdb4ba73690e57d22552e9c60537dafb1ad9ce18003f3fe85311eaf17d074b4dc75b0" +
    "47447644807a437115628bd09795fc8daff14554dd6d09da79c90f" + "00".repeat(256 - 119);
  assert.equal(toHex(s.ciphertext), want);
  assert.equal(toHex(s.ctHash), "7dbb42aa8e01322244309dcfef2cbec8ea430bbee628869bb665ced4878a57c0");
  assert.deepEqual((await open(s.ciphertext)).body, utf8("hello, veen"));
});

Deno.test("fixed-seed seal with two attachments produces the recorded vector", async () => {
  // As above but auth_ref = H("auth"), pad_block 0, hdr {1: H("schema"), 5: 1234}, body "with attachments",
  // attachments ["first", "second"].
  const ctx = { ...CTX0, authRef: H(utf8("auth")) };
  const s = await seal({
    ctx,
    hdr: { schema: SCHEMA, expiresAt: 1234 },
    body: utf8("with attachments"),
    attachments: [utf8("first"), utf8("second")],
    ephemeralSeed: SEED,
  });
  assert.equal(
    toHex(s.ciphertext),
    "ae3bf1cd87c2d2ed25af4a1a239eed04a990f00e7403e4c8065927de010fd17a0000005b00000020" +
      "747dc8b8934146c813d1641b56d463d8332fdb4ba73690e57d22552e9c60537dafb1ad9cd4e4daaf5c43b5a087eb2d5a0771ea37" +
      "ba55202513ab1e0b942670cb7ed36fe8b128397e20c23bb70ca9ac6868732744b3ca4e80c41cb958486e40cf37177311648d7237" +
      "53232f1d56b9625ac0d586c3cc43e279adc7ac",
  );
  assert.equal(toHex(s.ctHash), "96d3321487e1dab5a9ebc75a815b02d2a132d377afe752cfcb9edd806c66b40e");
  assert.deepEqual(s.attachmentCiphertexts.map(toHex), [
    "fb7eed7d7dbdb0f7c0fb78c33aefa5557fdfe8ee35",
    "1f1d1f6a47523884c7efb41e746826581a541f5eb170",
  ]);
  assert.deepEqual(s.coids.map(toHex), [
    "9b0e086b995426a082fdeb2d23d80f85311f6703a82d4269a7735c0658b7604d",
    "d5feb96ef74eeffc67cfe2f69729c1b0c8157947f0bc618ab19315b9f7701fb7",
  ]);
  assert.equal(toHex(s.hdr.attRoot!), "8d32b0980234a74187075b2a10fb950d8bdaa30dec319eb6c9fa781955f2c0ac");
  const o = await open(s.ciphertext, { ctx });
  assert.deepEqual(await o.openAttachment(1, s.attachmentCiphertexts[1]!), utf8("second"));
});

// ---- tampering ----

Deno.test("any single flipped byte makes open fail with VeenError (E.AUTH in ciphertexts, E.SIZE in padding)", async () => {
  const s = await seal({ ephemeralSeed: SEED });
  const ct = s.ciphertext;
  const hdrLen = readU32be(ct, 32);
  const used = 40 + hdrLen + readU32be(ct, 36);
  assert.ok(used < ct.length);
  for (let i = 0; i < ct.length; i++) {
    for (const mask of [0x01, 0x80]) {
      const bad = ct.slice();
      bad[i] = bad[i]! ^ mask;
      const region = i < 32
        ? "enc"
        : i < 40
        ? "lengths"
        : i < 40 + hdrLen
        ? "hdr"
        : i < used
        ? "body"
        : "padding";
      const code: ErrorCode | undefined = region === "lengths"
        ? undefined
        : region === "padding"
        ? "E.SIZE"
        : "E.AUTH";
      await rejectsVeen(() => open(bad), code, `${region} byte ${i} ^ ${mask}`);
    }
  }
});

Deno.test("changing any AAD field makes open fail with E.AUTH", async () => {
  const ctx = { ...CTX, authRef: H(utf8("auth")) };
  const s = await seal({ ctx });
  const variants: Array<[string, SealContext]> = [
    ["profile_id", { ...ctx, profileId: H(ctx.profileId) }],
    ["label", { ...ctx, label: H(ctx.label) }],
    ["client_id", { ...ctx, clientId: H(ctx.clientId) }],
    ["client_seq", { ...ctx, clientSeq: 8 }],
    ["prev_ack", { ...ctx, prevAck: 4 }],
    ["auth_ref changed", { ...ctx, authRef: H(ctx.authRef) }],
    ["auth_ref absent", CTX],
    ["auth_ref null", { ...ctx, authRef: null }],
  ];
  for (const [what, v] of variants) await rejectsVeen(() => open(s.ciphertext, { ctx: v }), "E.AUTH", what);
  const plain = await seal();
  await rejectsVeen(() => open(plain.ciphertext, { ctx }), "E.AUTH", "auth_ref added");
});

Deno.test("a different pad_block at open is E.SIZE", async () => {
  const s = await seal();
  await rejectsCode(() => open(s.ciphertext, { ctx: CTX0 }), "E.SIZE");
  await rejectsCode(() => open(s.ciphertext, { ctx: { ...CTX, padBlock: 512 } }), "E.SIZE");
});

Deno.test("the wrong recipient key cannot open", async () => {
  const s = await seal();
  await rejectsCode(() => open(s.ciphertext, { recipientSk: generateHpkeKeyPair().secret }), "E.AUTH");
  await rejectsCode(() => open(s.ciphertext, { recipientSk: new Uint8Array(31) }), "E.SIZE");
});

Deno.test("truncated input is E.SIZE", async () => {
  for (const ctx of [CTX, CTX0]) {
    const s = await seal({ ctx, attachments: [utf8("x")] });
    for (let n = 0; n < s.ciphertext.length; n++) {
      await rejectsVeen(() => open(s.ciphertext.slice(0, n), { ctx }), "E.SIZE", `truncated to ${n}`);
    }
  }
});

Deno.test("non-zero padding and over-long padding are E.SIZE", async () => {
  const s = await seal();
  const last = s.ciphertext.slice();
  last[last.length - 1] = 1;
  await rejectsCode(() => open(last), "E.SIZE");
  await rejectsCode(() => open(concat(s.ciphertext, new Uint8Array(256))), "E.SIZE");
  await rejectsCode(() => open(concat(s.ciphertext, new Uint8Array(1))), "E.SIZE");
  const s0 = await seal({ ctx: CTX0 });
  await rejectsCode(() => open(concat(s0.ciphertext, new Uint8Array(1)), { ctx: CTX0 }), "E.SIZE");
  await rejectsCode(
    () => open(concat(s0.ciphertext, new Uint8Array(256 - (s0.ciphertext.length % 256))), { ctx: CTX0 }),
    "E.SIZE",
  );
});

Deno.test("out-of-bounds encoded lengths are E.SIZE before any decryption", async () => {
  const s = await seal({ ctx: CTX0 });
  const set = (off: number, v: number) => {
    const b = s.ciphertext.slice();
    new DataView(b.buffer).setUint32(off, v);
    return b;
  };
  for (const v of [0, 16, 16384 + 17, 0xffffffff]) {
    await rejectsCode(() => open(set(32, v), { ctx: CTX0 }), "E.SIZE");
  }
  for (const v of [0, 15, 1048320 + 17, 0xffffffff]) {
    await rejectsCode(() => open(set(36, v), { ctx: CTX0 }), "E.SIZE");
  }
});

Deno.test("attachments from another message do not open", async () => {
  const a = await seal({ attachments: [utf8("mine")] });
  const b = await seal({ attachments: [utf8("theirs")] });
  const o = await open(a.ciphertext);
  await rejectsCode(() => o.openAttachment(0, b.attachmentCiphertexts[0]!), "E.AUTH");
  assert.equal(verifyAttachment(o.hdr.attRoot, a.coids, 0, b.attachmentCiphertexts[0]!), false);
});

// ---- limits and bad input ----

Deno.test("body, attachment count, attachment size and header over their limits are E.SIZE", async () => {
  await rejectsCode(() => seal({ body: new Uint8Array(DEFAULT_LIMITS.maxBodyBytes + 1) }), "E.SIZE");
  const big = await seal({ body: new Uint8Array(DEFAULT_LIMITS.maxBodyBytes) });
  assert.equal((await open(big.ciphertext)).body.length, DEFAULT_LIMITS.maxBodyBytes);
  await rejectsCode(
    () => seal({ attachments: Array.from({ length: 1025 }, () => new Uint8Array(0)) }),
    "E.SIZE",
  );
  const small = {
    ...DEFAULT_LIMITS,
    maxBodyBytes: 10,
    maxAttachmentsPerMsg: 2,
    maxAttachmentBytes: 4,
    maxHdrBytes: 40,
  };
  await rejectsCode(() => seal({ body: new Uint8Array(11), limits: small }), "E.SIZE");
  await rejectsCode(
    () =>
      seal({
        body: new Uint8Array(1),
        attachments: [new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)],
        limits: small,
      }),
    "E.SIZE",
  );
  await rejectsCode(
    () => seal({ body: new Uint8Array(1), attachments: [new Uint8Array(5)], limits: small }),
    "E.SIZE",
  );
  await rejectsCode(
    () => seal({ body: new Uint8Array(1), hdr: { schema: SCHEMA, capRef: SCHEMA }, limits: small }),
    "E.SIZE",
  );
  const ok = await seal({ body: new Uint8Array(11) });
  await rejectsCode(() => open(ok.ciphertext, { limits: small }), "E.SIZE");
});

Deno.test("malformed seal inputs are rejected with VeenError", async () => {
  await rejectsCode(() => seal({ recipientPk: new Uint8Array(31) }), "E.SIZE");
  await rejectsCode(() => seal({ ephemeralSeed: new Uint8Array(16) }), "E.SIZE");
  await rejectsCode(() => seal({ ctx: { ...CTX, label: new Uint8Array(31) } }), "E.SIZE");
  await rejectsCode(() => seal({ ctx: { ...CTX, authRef: new Uint8Array(33) } }), "E.SIZE");
  await rejectsCode(() => seal({ ctx: { ...CTX, clientSeq: -1 } }), "E.SIZE");
  await rejectsCode(() => seal({ ctx: { ...CTX, padBlock: -1 } }), "E.PROFILE");
  await rejectsCode(() => seal({ hdr: { schema: new Uint8Array(1) } }), "E.SIZE");
});

Deno.test("a low-order enc (all zero) is rejected as E.AUTH", async () => {
  const s = await seal();
  const bad = s.ciphertext.slice();
  bad.fill(0, 0, 32);
  await rejectsCode(() => open(bad), "E.AUTH");
});

// ---- fuzz ----

Deno.test("fuzz: 2000 random and mutated inputs to openPayload raise only VeenError", async () => {
  const r = prng(0x5eed);
  const seeds = [
    (await seal({ ephemeralSeed: SEED })).ciphertext,
    (await seal({ attachments: [utf8("a")], body: r.bytes(300) })).ciphertext,
  ];
  let opened = 0;
  for (let n = 0; n < 2000; n++) {
    let input: Uint8Array;
    const kind = n % 4;
    if (kind === 0) {
      input = r.bytes(r.int(600));
    } else if (kind === 1) {
      // random bytes with plausible lengths, so parsing reaches HPKE
      input = r.bytes(256);
      const dv = new DataView(input.buffer);
      dv.setUint32(32, 17 + r.int(100));
      dv.setUint32(36, 16 + r.int(100));
      input.fill(0, 40 + dv.getUint32(32) + dv.getUint32(36));
    } else {
      input = seeds[r.int(seeds.length)]!.slice();
      const edits = 1 + r.int(3);
      for (let e = 0; e < edits; e++) {
        const op = r.int(4);
        if (op === 0 && input.length > 0) {
          const i = r.int(input.length);
          input[i] = input[i]! ^ (1 << r.int(8));
        } else if (op === 1) {
          input = input.slice(0, r.int(input.length + 1));
        } else if (op === 2) {
          input = concat(input, r.bytes(1 + r.int(300)));
        } else if (input.length >= 40) {
          new DataView(input.buffer, input.byteOffset).setUint32(32 + 4 * r.int(2), r.int(400));
        }
      }
    }
    try {
      await open(input);
      opened++;
    } catch (e) {
      assert.ok(e instanceof VeenError, `non-VeenError for ${toHex(input).slice(0, 120)}: ${String(e)}`);
    }
  }
  assert.ok(opened < 50);
});
