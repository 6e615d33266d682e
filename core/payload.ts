/**
 * End-to-end payload encryption (spec 004 §6, wire decisions "Payload"): HPKE (RFC 9180) base mode with
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and ChaCha20-Poly1305, one recipient, `info` = empty.
 *
 *   aad          = Ht("veen/aad", profile_id || label || client_id || u64be(client_seq) || u64be(prev_ack)
 *                                || (auth_ref or 32 zero bytes))
 *   hpke_ct_hdr  = HPKE.Seal(ctx, aad, CBOR(payload_hdr))
 *   k_body       = HPKE.Export(ctx, utf8("veen/body-k"), 32)
 *   body nonce   = Trunc24(Ht("veen/nonce", label || u64be(prev_ack) || client_id || u64be(client_seq)))
 *   aead_ct_body = XChaCha20-Poly1305(k_body, nonce, aad, body)
 *   ciphertext   = enc || u32be(len(hpke_ct_hdr)) || u32be(len(aead_ct_body)) || hpke_ct_hdr || aead_ct_body,
 *                  zero-padded to the smallest multiple of pad_block (when pad_block > 0);  ct_hash = H(ciphertext).
 *
 * Error codes: framing, length, padding and limit violations are E.SIZE. A payload that fails to decapsulate,
 * authenticate or decrypt is E.AUTH. That second code is a project choice (the spec's E.* list has no dedicated
 * "cannot decrypt" code; E.SIG is for signatures and E.CAP for capabilities) and may be changed by the lead.
 * Sealing failures inside HPKE (e.g. an unusable recipient public key) are E.SIZE: they are bad input.
 */
import {
  CipherSuite,
  DhkemX25519HkdfSha256,
  HkdfSha256,
  type RecipientContext,
  type SenderContext,
} from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { check32, concat, readU32be, u32be, u64be, utf8, ZERO32 } from "./bytes.ts";
import { VeenError } from "./errors.ts";
import { H, Ht, trunc24 } from "./hash.ts";
import { DEFAULT_LIMITS, type Limits } from "./limits.ts";
import { decodePayloadHdr, encodePayloadHdr, type PayloadHdr } from "./payload_hdr.ts";
import { isPadBlock } from "./profile.ts";
import { attKeyContext, attRoot, coidOf, decryptAttachment, encryptAttachment } from "./attachments.ts";
import { defaultRandom, type RandomFn } from "./x25519.ts";

/** The per-message fields the payload is bound to (they also appear in MSG). */
export interface SealContext {
  profileId: Uint8Array;
  label: Uint8Array;
  clientId: Uint8Array;
  clientSeq: number;
  prevAck: number;
  /** Absent (or null, as in MSG) means 32 zero bytes in the AAD. */
  authRef?: Uint8Array | null;
  /** The profile's pad_block; 0 disables padding. */
  padBlock: number;
}

/** HPKE `info` for VEEN payloads: the empty string. */
export const HPKE_INFO: Uint8Array = new Uint8Array(0);
/** Encapsulated key length (Nenc of DHKEM(X25519)). */
export const ENC_LEN = 32;
/** AEAD tag length (ChaCha20-Poly1305 and XChaCha20-Poly1305). */
const TAG_LEN = 16;
/** enc || u32be || u32be */
const FRAME_PREFIX = ENC_LEN + 8;
const BODY_K = utf8("veen/body-k");

let SUITE: CipherSuite | undefined;
function suite(): CipherSuite {
  SUITE ??= new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Chacha20Poly1305(),
  });
  return SUITE;
}

function checkPadBlock(padBlock: number): number {
  if (!isPadBlock(padBlock)) throw new VeenError("E.PROFILE", `Bad pad_block ${padBlock}`);
  return padBlock;
}

/** `aad = Ht("veen/aad", profile_id || label || client_id || u64be(client_seq) || u64be(prev_ack) || auth_ref|0^32)`. */
export function aadFor(ctx: SealContext): Uint8Array {
  const authRef = ctx.authRef === undefined || ctx.authRef === null
    ? ZERO32
    : check32(ctx.authRef, "auth_ref");
  return Ht(
    "veen/aad",
    check32(ctx.profileId, "profile_id"),
    check32(ctx.label, "label"),
    check32(ctx.clientId, "client_id"),
    u64be(ctx.clientSeq),
    u64be(ctx.prevAck),
    authRef,
  );
}

/** Body nonce `Trunc24(Ht("veen/nonce", label || u64be(prev_ack) || client_id || u64be(client_seq)))`. */
export function bodyNonce(ctx: SealContext): Uint8Array {
  return trunc24(
    Ht(
      "veen/nonce",
      check32(ctx.label, "label"),
      u64be(ctx.prevAck),
      check32(ctx.clientId, "client_id"),
      u64be(ctx.clientSeq),
    ),
  );
}

/**
 * The 32-byte value the attachment nonces are bound to (`attNonce(msgIdForNonce, i)` in attachments.ts).
 *
 * PROJECT DECISION, TO BE CONFIRMED: the natural choice, msg_id = leaf_hash, depends on ct_hash, which covers the
 * sealed payload_hdr, which carries att_root, which covers the attachment ciphertexts, which depend on the nonce,
 * so it is circular. Since k_att is unique per message (fresh HPKE ephemeral key, hence fresh exporter secret) and
 * per index, a nonce only has to be unique per key, and a constant base is safe. VEEN therefore uses 32 zero bytes
 * here, in both seal and open. This function is the single switch point should the lead reconcile it differently.
 */
export function attachmentMsgIdForNonce(): Uint8Array {
  return ZERO32.slice();
}

// ---- HPKE setup (exported so tests can check the suite against RFC 9180 vectors) ----

/**
 * Sets up an HPKE base-mode sender context to a raw 32-byte X25519 public key. The ephemeral key pair is
 * `DeriveKeyPair(ephemeralSeed)` (RFC 9180 §7.1.3), so a fixed seed gives reproducible vectors and a fresh 32-byte
 * random seed gives an ordinary random ephemeral key.
 */
export async function hpkeSetupSender(
  recipientPk: Uint8Array,
  ephemeralSeed: Uint8Array,
  info: Uint8Array = HPKE_INFO,
): Promise<SenderContext> {
  check32(recipientPk, "HPKE recipient public key");
  if (ephemeralSeed.length !== 32) throw new VeenError("E.SIZE", "HPKE ephemeral seed must be 32 bytes");
  try {
    const s = suite();
    const recipientPublicKey = await s.kem.deserializePublicKey(recipientPk.slice());
    return await s.createSenderContext({
      recipientPublicKey,
      info: info.slice(),
      ekm: ephemeralSeed.slice(),
    });
  } catch (e) {
    throw new VeenError("E.SIZE", `Cannot seal to this HPKE recipient key: ${errText(e)}`, { cause: e });
  }
}

/** Sets up the recipient context from a raw 32-byte X25519 secret key and `enc`; failures are E.AUTH. */
export async function hpkeSetupRecipient(
  recipientSk: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array = HPKE_INFO,
): Promise<RecipientContext> {
  check32(recipientSk, "HPKE recipient secret key");
  check32(enc, "HPKE enc");
  try {
    const s = suite();
    const recipientKey = await s.kem.deserializePrivateKey(recipientSk.slice());
    return await s.createRecipientContext({ recipientKey, enc: enc.slice(), info: info.slice() });
  } catch (e) {
    throw new VeenError("E.AUTH", `Cannot decapsulate the payload key: ${errText(e)}`, { cause: e });
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message || e.name : String(e);
}

async function exportKey(ctx: SenderContext | RecipientContext, context: Uint8Array): Promise<Uint8Array> {
  try {
    return new Uint8Array(await ctx.export(context, 32));
  } catch (e) {
    throw new VeenError("E.AUTH", `HPKE export failed: ${errText(e)}`, { cause: e });
  }
}

// ---- framing ----

/** The three parts of a payload ciphertext, after length, padding and limit checks (all E.SIZE). */
export interface PayloadFrame {
  enc: Uint8Array;
  hpkeCtHdr: Uint8Array;
  aeadCtBody: Uint8Array;
  /** Length before padding. */
  unpaddedLength: number;
}

function paddedLength(n: number, padBlock: number): number {
  return padBlock > 0 ? Math.ceil(n / padBlock) * padBlock : n;
}

/**
 * Splits `ciphertext` into enc, hpke_ct_hdr and aead_ct_body. Rejects (E.SIZE) input shorter than its encoded
 * lengths, lengths outside the limits, non-zero padding, and a total length other than the smallest multiple of
 * pad_block that holds the frame (padding longer than needed, or any padding when pad_block = 0).
 */
export function splitPayloadCiphertext(
  ciphertext: Uint8Array,
  padBlock: number,
  limits: Readonly<Limits> = DEFAULT_LIMITS,
): PayloadFrame {
  checkPadBlock(padBlock);
  if (ciphertext.length < FRAME_PREFIX) {
    throw new VeenError(
      "E.SIZE",
      `Payload ciphertext is ${ciphertext.length} bytes, shorter than its ${FRAME_PREFIX}-byte prefix`,
    );
  }
  const hdrLen = readU32be(ciphertext, ENC_LEN);
  const bodyLen = readU32be(ciphertext, ENC_LEN + 4);
  if (hdrLen < TAG_LEN + 1 || hdrLen > limits.maxHdrBytes + TAG_LEN) {
    throw new VeenError("E.SIZE", `hpke_ct_hdr length ${hdrLen} is out of bounds`);
  }
  if (bodyLen < TAG_LEN || bodyLen > limits.maxBodyBytes + TAG_LEN) {
    throw new VeenError("E.SIZE", `aead_ct_body length ${bodyLen} is out of bounds`);
  }
  const used = FRAME_PREFIX + hdrLen + bodyLen;
  if (used > ciphertext.length) {
    throw new VeenError(
      "E.SIZE",
      `Payload ciphertext is truncated: ${ciphertext.length} bytes, frame needs ${used}`,
    );
  }
  const want = paddedLength(used, padBlock);
  if (ciphertext.length !== want) {
    throw new VeenError(
      "E.SIZE",
      `Payload ciphertext is ${ciphertext.length} bytes; with pad_block ${padBlock} it must be ${want}`,
    );
  }
  for (let i = used; i < ciphertext.length; i++) {
    if (ciphertext[i] !== 0) throw new VeenError("E.SIZE", "Payload padding is not all zero");
  }
  return {
    enc: ciphertext.slice(0, ENC_LEN),
    hpkeCtHdr: ciphertext.slice(FRAME_PREFIX, FRAME_PREFIX + hdrLen),
    aeadCtBody: ciphertext.slice(FRAME_PREFIX + hdrLen, used),
    unpaddedLength: used,
  };
}

// ---- seal ----

export interface SealParams {
  ctx: SealContext;
  /** Raw 32-byte X25519 public key of the recipient. */
  recipientPk: Uint8Array;
  hdr: PayloadHdr;
  body: Uint8Array;
  /** Attachment plaintexts, index order; an empty list is the same as none (no att_root). */
  attachments?: readonly Uint8Array[];
  /** Fixed 32-byte HPKE ephemeral seed (tests and vectors); otherwise `random(32)`. */
  ephemeralSeed?: Uint8Array;
  random?: RandomFn;
  limits?: Readonly<Limits>;
}

export interface SealedPayload {
  /** enc || lengths || hpke_ct_hdr || aead_ct_body || zero padding. */
  ciphertext: Uint8Array;
  /** H(ciphertext), padding included. */
  ctHash: Uint8Array;
  attachmentCiphertexts: Uint8Array[];
  coids: Uint8Array[];
  /** The header that was sealed: the input with att_root set when there are attachments. */
  hdr: PayloadHdr;
}

/** Seals `body` (and attachments) to `recipientPk`, bound to `ctx` through the AAD and the body nonce. */
export async function sealPayload(p: SealParams): Promise<SealedPayload> {
  const limits = p.limits ?? DEFAULT_LIMITS;
  const padBlock = checkPadBlock(p.ctx.padBlock);
  const aad = aadFor(p.ctx);
  const nonce = bodyNonce(p.ctx);
  if (p.body.length > limits.maxBodyBytes) {
    throw new VeenError(
      "E.SIZE",
      `Body is ${p.body.length} bytes, over the ${limits.maxBodyBytes}-byte limit`,
    );
  }
  const atts = p.attachments ?? [];
  if (atts.length > limits.maxAttachmentsPerMsg) {
    throw new VeenError(
      "E.SIZE",
      `${atts.length} attachments exceed the limit of ${limits.maxAttachmentsPerMsg}`,
    );
  }
  for (const a of atts) {
    if (a.length > limits.maxAttachmentBytes) {
      throw new VeenError(
        "E.SIZE",
        `Attachment is ${a.length} bytes, over the ${limits.maxAttachmentBytes}-byte limit`,
      );
    }
  }
  const seed = p.ephemeralSeed ?? (p.random ?? defaultRandom)(32);
  const sender = await hpkeSetupSender(p.recipientPk, seed);

  const attachmentCiphertexts: Uint8Array[] = [];
  const coids: Uint8Array[] = [];
  const nonceBase = attachmentMsgIdForNonce();
  for (let i = 0; i < atts.length; i++) {
    const c = encryptAttachment(await exportKey(sender, attKeyContext(i)), nonceBase, i, atts[i]!);
    attachmentCiphertexts.push(c);
    coids.push(coidOf(c));
  }
  const hdr: PayloadHdr = { ...p.hdr };
  if (coids.length > 0) hdr.attRoot = attRoot(coids, limits.maxAttachmentsPerMsg);
  const hdrBytes = encodePayloadHdr(hdr);
  if (hdrBytes.length > limits.maxHdrBytes) {
    throw new VeenError(
      "E.SIZE",
      `payload_hdr is ${hdrBytes.length} bytes, over the ${limits.maxHdrBytes}-byte limit`,
    );
  }
  let hpkeCtHdr: Uint8Array;
  try {
    hpkeCtHdr = new Uint8Array(await sender.seal(hdrBytes, aad));
  } catch (e) {
    throw new VeenError("E.SIZE", `HPKE seal failed: ${errText(e)}`, { cause: e });
  }
  const kBody = await exportKey(sender, BODY_K);
  const aeadCtBody = xchacha20poly1305(kBody, nonce, aad).encrypt(p.body);
  const frame = concat(
    new Uint8Array(sender.enc),
    u32be(hpkeCtHdr.length),
    u32be(aeadCtBody.length),
    hpkeCtHdr,
    aeadCtBody,
  );
  const ciphertext = new Uint8Array(paddedLength(frame.length, padBlock));
  ciphertext.set(frame);
  return { ciphertext, ctHash: H(ciphertext), attachmentCiphertexts, coids, hdr };
}

// ---- open ----

export interface OpenParams {
  ctx: SealContext;
  /** Raw 32-byte X25519 secret key of the recipient. */
  recipientSk: Uint8Array;
  ciphertext: Uint8Array;
  limits?: Readonly<Limits>;
}

export interface OpenedPayload {
  hdr: PayloadHdr;
  body: Uint8Array;
  /** k_att for attachment `i` (HPKE export). */
  attachmentKey(i: number): Promise<Uint8Array>;
  /** Decrypts attachment `i`; E.SIZE when the header has no att_root, E.AUTH when it does not authenticate. */
  openAttachment(i: number, attachmentCiphertext: Uint8Array): Promise<Uint8Array>;
}

/** Opens a payload ciphertext; framing problems are E.SIZE, decryption/authentication failures E.AUTH. */
export async function openPayload(p: OpenParams): Promise<OpenedPayload> {
  const limits = p.limits ?? DEFAULT_LIMITS;
  const aad = aadFor(p.ctx);
  const nonce = bodyNonce(p.ctx);
  const frame = splitPayloadCiphertext(p.ciphertext, p.ctx.padBlock, limits);
  const recipient = await hpkeSetupRecipient(p.recipientSk, frame.enc);
  let hdrBytes: Uint8Array;
  try {
    hdrBytes = new Uint8Array(await recipient.open(frame.hpkeCtHdr, aad));
  } catch (e) {
    throw new VeenError("E.AUTH", `Payload header does not authenticate: ${errText(e)}`, { cause: e });
  }
  const hdr = decodePayloadHdr(hdrBytes, limits.maxHdrBytes);
  const kBody = await exportKey(recipient, BODY_K);
  let body: Uint8Array;
  try {
    body = xchacha20poly1305(kBody, nonce, aad).decrypt(frame.aeadCtBody);
  } catch (e) {
    throw new VeenError("E.AUTH", `Payload body does not authenticate: ${errText(e)}`, { cause: e });
  }
  const attachmentKey = (i: number): Promise<Uint8Array> => exportKey(recipient, attKeyContext(i));
  const openAttachment = async (i: number, c: Uint8Array): Promise<Uint8Array> => {
    if (hdr.attRoot === undefined) throw new VeenError("E.SIZE", "This payload carries no attachments");
    if (c.length > limits.maxAttachmentBytes + TAG_LEN) {
      throw new VeenError(
        "E.SIZE",
        `Attachment ciphertext is over the ${limits.maxAttachmentBytes}-byte limit`,
      );
    }
    return decryptAttachment(await attachmentKey(i), attachmentMsgIdForNonce(), i, c);
  };
  return { hdr, body, attachmentKey, openAttachment };
}
