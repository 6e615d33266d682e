/**
 * MSG, the submitted wire object (spec 004 §5, 003 §4.1): CBOR array of 10
 * `[ver=1, profile_id, label, client_id, client_seq, prev_ack, auth_ref|null, ct_hash, ciphertext, sig]`,
 * signed by client_id over `Ht("veen/sig", CBOR(the first 9 fields))`.
 */
import { bytesEqual, u64be } from "./bytes.ts";
import { encodeFlatArray, type FlatItem, FlatReader } from "./cbor.ts";
import { ed25519Sign, ed25519Verify } from "./ed25519.ts";
import { VeenError } from "./errors.ts";
import { H, Ht } from "./hash.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

export interface Msg {
  ver: 1;
  profileId: Uint8Array;
  label: Uint8Array;
  clientId: Uint8Array;
  clientSeq: number;
  prevAck: number;
  authRef: Uint8Array | null;
  ctHash: Uint8Array;
  ciphertext: Uint8Array;
  sig: Uint8Array;
}

export type UnsignedMsg = Omit<Msg, "sig">;

function unsignedArray(m: UnsignedMsg): FlatItem[] {
  return [m.ver, m.profileId, m.label, m.clientId, m.clientSeq, m.prevAck, m.authRef, m.ctHash, m.ciphertext];
}

/** For decoded MSGs: the encoding of the first nine fields, spliced from the received bytes (no re-encoding). */
const UNSIGNED_BYTES = new WeakMap<UnsignedMsg, Uint8Array>();

/** The signing digest `Ht("veen/sig", CBOR(MSG without sig))`. */
export function msgSigningDigest(m: UnsignedMsg): Uint8Array {
  const spliced = UNSIGNED_BYTES.get(m);
  if (spliced !== undefined) return Ht("veen/sig", ARRAY9, spliced);
  return Ht("veen/sig", encodeFlatArray(unsignedArray(m)));
}

const ARRAY9 = new Uint8Array([0x89]);

export function encodeMsg(m: Msg): Uint8Array {
  return encodeFlatArray([...unsignedArray(m), m.sig]);
}

/** Signs an unsigned MSG with the client's Ed25519 secret seed (client_id must be its public key). */
export function signMsg(m: UnsignedMsg, clientSecret: Uint8Array): Msg {
  return { ...m, sig: ed25519Sign(clientSecret, msgSigningDigest(m)) };
}

/** True when MSG.sig verifies under client_id. */
export function verifyMsgSig(m: Msg): boolean {
  return ed25519Verify(m.clientId, msgSigningDigest(m), m.sig);
}

/**
 * Decodes and structurally validates a MSG: canonical CBOR, exact field sizes, ver = 1, total size within
 * `maxMsgBytes`. All failures are E.SIZE (bounds stage, before any crypto).
 */
export function decodeMsg(bytes: Uint8Array, maxMsgBytes: number = DEFAULT_LIMITS.maxMsgBytes): Msg {
  if (bytes.length > maxMsgBytes) {
    throw new VeenError("E.SIZE", `MSG is ${bytes.length} bytes, over the ${maxMsgBytes}-byte limit`);
  }
  const r = new FlatReader(bytes, "MSG");
  r.array(10);
  if (r.uint() !== 1) throw new VeenError("E.SIZE", "MSG.ver must be 1");
  const profileId = r.bytes(32);
  const label = r.bytes(32);
  const clientId = r.bytes(32);
  const clientSeq = r.uint();
  const prevAck = r.uint();
  const authRef = r.nullOrBytes(32);
  const ctHash = r.bytes(32);
  const ciphertext = r.bytes();
  const sigAt = r.offset;
  const sig = r.bytes(64);
  r.end();
  const m: Msg = { ver: 1, profileId, label, clientId, clientSeq, prevAck, authRef, ctHash, ciphertext, sig };
  UNSIGNED_BYTES.set(m, bytes.subarray(1, sigAt));
  return m;
}

/** `leaf_hash = msg_id = Ht("veen/leaf", label || profile_id || ct_hash || client_id || u64be(client_seq))` (I2). */
export function leafHash(
  m: Pick<Msg, "label" | "profileId" | "ctHash" | "clientId" | "clientSeq">,
): Uint8Array {
  return Ht("veen/leaf", m.label, m.profileId, m.ctHash, m.clientId, u64be(m.clientSeq));
}

/** I1: `H(ciphertext) = ct_hash`. */
export function ctHashMatches(m: Pick<Msg, "ciphertext" | "ctHash">): boolean {
  return bytesEqual(H(m.ciphertext), m.ctHash);
}
