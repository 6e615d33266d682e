/**
 * Attachments (spec 004 §6): attachment i (0-based) is sealed as
 * `c_i = XChaCha20-Poly1305(k_att_i, nonce_i, aad = empty, plaintext_i)` with
 * `k_att_i = HPKE.Export(ctx, utf8("veen/att-k") || u64be(i), 32)` (done in payload.ts, which owns the HPKE context)
 * and `nonce_i = Trunc24(Ht("veen/att-nonce", msg_id_for_nonce || u64be(i)))`; its id is `coid_i = H(c_i)`.
 * `att_root` is an MMR-style root over the coids, carried in payload_hdr.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesEqual, concat, u64be, utf8 } from "./bytes.ts";
import { VeenError } from "./errors.ts";
import { H, Ht, trunc24 } from "./hash.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

const EMPTY = new Uint8Array(0);

function checkIndex(i: number, max: number = DEFAULT_LIMITS.maxAttachmentsPerMsg): void {
  if (!Number.isSafeInteger(i) || i < 0 || i >= max) {
    throw new VeenError("E.SIZE", `Attachment index ${i} is outside 0..${max - 1}`);
  }
}

/** HPKE exporter context for attachment i: `utf8("veen/att-k") || u64be(i)`. */
export function attKeyContext(i: number): Uint8Array {
  checkIndex(i);
  return concat(utf8("veen/att-k"), u64be(i));
}

/**
 * The one place the attachment nonce is derived: `Trunc24(Ht("veen/att-nonce", msgIdForNonce || u64be(i)))`.
 * What `msgIdForNonce` is (payload.ts currently passes 32 zero bytes) is a single switchable decision.
 */
export function attNonce(msgIdForNonce: Uint8Array, i: number): Uint8Array {
  if (msgIdForNonce.length !== 32) throw new VeenError("E.SIZE", "msgIdForNonce must be 32 bytes");
  checkIndex(i);
  return trunc24(Ht("veen/att-nonce", msgIdForNonce, u64be(i)));
}

/** Encrypts attachment i under its exported key; the AAD is empty. */
export function encryptAttachment(
  kAtt: Uint8Array,
  msgIdForNonce: Uint8Array,
  i: number,
  plaintext: Uint8Array,
): Uint8Array {
  if (kAtt.length !== 32) throw new VeenError("E.SIZE", "k_att must be 32 bytes");
  return xchacha20poly1305(kAtt, attNonce(msgIdForNonce, i), EMPTY).encrypt(plaintext);
}

/** Decrypts attachment i; a ciphertext that does not authenticate is E.AUTH (see payload.ts on that code). */
export function decryptAttachment(
  kAtt: Uint8Array,
  msgIdForNonce: Uint8Array,
  i: number,
  ciphertext: Uint8Array,
): Uint8Array {
  if (kAtt.length !== 32) throw new VeenError("E.SIZE", "k_att must be 32 bytes");
  const nonce = attNonce(msgIdForNonce, i);
  if (ciphertext.length < 16) throw new VeenError("E.SIZE", "Attachment ciphertext is shorter than its tag");
  try {
    return xchacha20poly1305(kAtt, nonce, EMPTY).decrypt(ciphertext);
  } catch {
    throw new VeenError("E.AUTH", `Attachment ${i} does not authenticate under this message's key`);
  }
}

/** `coid = H(c)`. */
export function coidOf(attachmentCiphertext: Uint8Array): Uint8Array {
  return H(attachmentCiphertext);
}

/** Internal MMR node `Ht("veen/att-node", L || R)`. */
export function attNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  return Ht("veen/att-node", left, right);
}

/**
 * The peaks of the MMR over `coids` (leaves in index order), in ascending height, i.e. newest/smallest first.
 * n leaves decompose into perfect subtrees of the binary digits of n, oldest (largest) on the left.
 */
export function attPeaks(coids: readonly Uint8Array[]): Uint8Array[] {
  const stack: Array<{ height: number; hash: Uint8Array }> = [];
  for (const c of coids) {
    if (c.length !== 32) throw new VeenError("E.SIZE", "coid must be 32 bytes");
    let node = { height: 0, hash: c };
    while (stack.length > 0 && stack[stack.length - 1]!.height === node.height) {
      const left = stack.pop()!;
      node = { height: node.height + 1, hash: attNode(left.hash, node.hash) };
    }
    stack.push(node);
  }
  return stack.reverse().map((p) => p.hash);
}

/** `att_root = Ht("veen/att-root", concat(peaks))`, peaks ascending in height, also for a single peak. */
export function attRoot(
  coids: readonly Uint8Array[],
  maxAttachments: number = DEFAULT_LIMITS.maxAttachmentsPerMsg,
): Uint8Array {
  if (coids.length === 0) throw new VeenError("E.SIZE", "att_root needs at least one attachment");
  if (coids.length > maxAttachments) {
    throw new VeenError("E.SIZE", `${coids.length} attachments exceed the limit of ${maxAttachments}`);
  }
  return Ht("veen/att-root", ...attPeaks(coids));
}

/**
 * True when `attachmentCiphertext` hashes to `coids[index]` and `coids` hash to `expectedRoot` (the payload_hdr's
 * att_root). False for any mismatch, a missing root, or an index outside `coids`.
 */
export function verifyAttachment(
  expectedRoot: Uint8Array | undefined,
  coids: readonly Uint8Array[],
  index: number,
  attachmentCiphertext: Uint8Array,
): boolean {
  if (expectedRoot === undefined || !Number.isSafeInteger(index) || index < 0 || index >= coids.length) {
    return false;
  }
  const want = coids[index]!;
  if (!bytesEqual(coidOf(attachmentCiphertext), want)) return false;
  try {
    return bytesEqual(attRoot(coids), expectedRoot);
  } catch {
    return false;
  }
}
