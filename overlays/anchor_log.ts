/**
 * The record format of the file anchor backend (ANCHOR0.1): an append-only, hash-chained log of fixed-size
 * records, so record `pos` lives at byte offset `pos * ANCHOR_RECORD_LEN` and a lookup is one read.
 *
 * Record (160 bytes, integers big-endian):
 * ```
 * off  len  field
 *   0    4  magic "VAN1"
 *   4    1  version = 1
 *   5    1  nonce_len (0..32)
 *   6    2  reserved = 0
 *   8    8  pos         0-based position in the log
 *  16   32  root        the anchored mmr_root
 *  48    8  epoch
 *  56    8  ts          Unix seconds given by the publisher
 *  64   32  nonce       nonce_len bytes, then zeros
 *  96   32  prev        digest of record pos-1 (32 zero bytes for pos 0)
 * 128   32  digest      Ht("veen/anchor-record", bytes 0..128): the record's checksum and its identity
 * ```
 * `anchor_ref = u64be(pos) || digest` (40 bytes). It binds the log position, root, epoch, ts and nonce, and through
 * `prev` the whole log before it: rewriting any earlier record changes every later digest.
 *
 * `anchor_verify(root, anchor_ref)` holds when record `pos` is intact (checksum, magic, padding), carries `pos`,
 * `root` and the ref's digest, and its `prev` is the digest of record `pos - 1`.
 */
import { bytesEqual, concat, Ht, u64be, utf8, VeenError, ZERO32 } from "../core/mod.ts";

export const ANCHOR_RECORD_LEN = 160;
export const ANCHOR_REF_LEN = 40;
export const ANCHOR_NONCE_MAX = 32;
const MAGIC = utf8("VAN1");
const BODY_LEN = 128;

export interface AnchorRecord {
  pos: number;
  root: Uint8Array;
  epoch: number;
  ts: number;
  nonce: Uint8Array;
  /** Digest of the previous record (zeros for the first). */
  prev: Uint8Array;
}

function readU64(b: Uint8Array, off: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VeenError("E.SIZE", "anchor record integer exceeds 2^53-1");
  }
  return Number(v);
}

function checkFields(r: AnchorRecord): void {
  if (r.root.length !== 32) throw new VeenError("E.SIZE", "anchor root must be 32 bytes");
  if (r.prev.length !== 32) throw new VeenError("E.SIZE", "anchor prev must be 32 bytes");
  if (r.nonce.length > ANCHOR_NONCE_MAX) {
    throw new VeenError("E.SIZE", `anchor nonce must be at most ${ANCHOR_NONCE_MAX} bytes`);
  }
  for (const [n, v] of [["pos", r.pos], ["epoch", r.epoch], ["ts", r.ts]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new VeenError("E.SIZE", `anchor ${n} must be a uint`);
  }
}

function body(r: AnchorRecord): Uint8Array {
  checkFields(r);
  const b = new Uint8Array(BODY_LEN);
  b.set(MAGIC, 0);
  b[4] = 1;
  b[5] = r.nonce.length;
  b.set(u64be(r.pos), 8);
  b.set(r.root, 16);
  b.set(u64be(r.epoch), 48);
  b.set(u64be(r.ts), 56);
  b.set(r.nonce, 64);
  b.set(r.prev, 96);
  return b;
}

/** The record's digest (checksum). */
export function anchorDigest(r: AnchorRecord): Uint8Array {
  return Ht("veen/anchor-record", body(r));
}

/** The 160 record bytes and the record's digest, hashed once (what a publisher appends and returns). */
export function buildAnchorRecord(r: AnchorRecord): { bytes: Uint8Array; digest: Uint8Array } {
  const b = body(r);
  const digest = Ht("veen/anchor-record", b);
  return { bytes: concat(b, digest), digest };
}

/** The 160 record bytes. */
export function encodeAnchorRecord(r: AnchorRecord): Uint8Array {
  return buildAnchorRecord(r).bytes;
}

/** Decodes and checks one record (length, magic, version, padding, checksum); E.SIZE or E.SIG otherwise. */
export function decodeAnchorRecord(bytes: Uint8Array): { record: AnchorRecord; digest: Uint8Array } {
  if (bytes.length !== ANCHOR_RECORD_LEN) {
    throw new VeenError("E.SIZE", `anchor record must be ${ANCHOR_RECORD_LEN} bytes, got ${bytes.length}`);
  }
  const b = bytes.subarray(0, BODY_LEN);
  const digest = bytes.slice(BODY_LEN);
  if (!bytesEqual(Ht("veen/anchor-record", b), digest)) {
    throw new VeenError("E.SIG", "anchor record checksum does not match");
  }
  if (!bytesEqual(b.subarray(0, 4), MAGIC) || b[4] !== 1 || b[6] !== 0 || b[7] !== 0) {
    throw new VeenError("E.SIZE", "anchor record has a wrong magic, version or reserved field");
  }
  const nonceLen = b[5]!;
  if (nonceLen > ANCHOR_NONCE_MAX || b.subarray(64 + nonceLen, 96).some((x) => x !== 0)) {
    throw new VeenError("E.SIZE", "anchor record nonce length or padding is wrong");
  }
  return {
    record: {
      pos: readU64(b, 8),
      root: b.slice(16, 48),
      epoch: readU64(b, 48),
      ts: readU64(b, 56),
      nonce: b.slice(64, 64 + nonceLen),
      prev: b.slice(96, 128),
    },
    digest,
  };
}

/** `anchor_ref = u64be(pos) || digest`. */
export function anchorRefOf(pos: number, digest: Uint8Array): Uint8Array {
  return concat(u64be(pos), digest);
}

/** Splits an anchor_ref; E.SIZE when it is not 40 bytes. */
export function parseAnchorRef(ref: Uint8Array): { pos: number; digest: Uint8Array } {
  if (ref.length !== ANCHOR_REF_LEN) {
    throw new VeenError("E.SIZE", `anchor_ref must be ${ANCHOR_REF_LEN} bytes, got ${ref.length}`);
  }
  return { pos: readU64(ref, 0), digest: ref.slice(8) };
}

/** The record to append after a log whose last record has `prevDigest` (undefined for an empty log). */
export function nextAnchorRecord(
  pos: number,
  prevDigest: Uint8Array | undefined,
  fields: { root: Uint8Array; epoch: number; ts: number; nonce: Uint8Array },
): AnchorRecord {
  if ((pos === 0) !== (prevDigest === undefined)) {
    throw new RangeError("Only the first record has no previous digest");
  }
  return { pos, prev: prevDigest ?? ZERO32, ...fields };
}

/**
 * anchor_verify for one record: `recordBytes` is record `pos` of the log, `prevBytes` record `pos - 1` (undefined
 * for pos 0). False (never a throw) for any mismatch or damage.
 */
export function anchorRecordVerifies(
  root: Uint8Array,
  ref: Uint8Array,
  recordBytes: Uint8Array | undefined,
  prevBytes: Uint8Array | undefined,
): boolean {
  try {
    const { pos, digest } = parseAnchorRef(ref);
    if (recordBytes === undefined) return false;
    const rec = decodeAnchorRecord(recordBytes);
    if (rec.record.pos !== pos || !bytesEqual(rec.digest, digest) || !bytesEqual(rec.record.root, root)) {
      return false;
    }
    if (pos === 0) return bytesEqual(rec.record.prev, ZERO32);
    if (prevBytes === undefined) return false;
    const prev = decodeAnchorRecord(prevBytes);
    return prev.record.pos === pos - 1 && bytesEqual(prev.digest, rec.record.prev);
  } catch {
    return false;
  }
}
