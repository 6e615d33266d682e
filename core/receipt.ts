/**
 * RECEIPT (spec 004 §5, 003 §4.3): CBOR array of 7 `[ver=1, label, stream_seq, leaf_hash, mmr_root, hub_ts, hub_sig]`,
 * signed by the hub over `Ht("veen/sig", CBOR(the first 6 fields))`.
 */
import {
  type CborValue,
  decodeCbor,
  encodeFlatArray,
  expectArray,
  expectBytes,
  expectUint,
  type FlatItem,
} from "./cbor.ts";
import { ed25519Sign, ed25519Verify } from "./ed25519.ts";
import { VeenError } from "./errors.ts";
import { Ht } from "./hash.ts";

export interface Receipt {
  ver: 1;
  label: Uint8Array;
  streamSeq: number;
  leafHash: Uint8Array;
  mmrRoot: Uint8Array;
  hubTs: number;
  hubSig: Uint8Array;
}

export type UnsignedReceipt = Omit<Receipt, "hubSig">;

function unsignedArray(r: UnsignedReceipt): FlatItem[] {
  return [r.ver, r.label, r.streamSeq, r.leafHash, r.mmrRoot, r.hubTs];
}

export function receiptSigningDigest(r: UnsignedReceipt): Uint8Array {
  return Ht("veen/sig", encodeFlatArray(unsignedArray(r)));
}

/** Bytes after the signed fields of a draft: hub_sig's bstr head (0x58 0x40) and its 64 bytes. */
const HUB_SIG_ROOM = 66;

/**
 * A RECEIPT being made, in the one buffer it ends in (the hub makes one per MSG): CBOR of the 6 signed fields
 * (array head 0x86), then room for hub_sig. `draftDigest` is its signing digest; `sealReceipt` makes the buffer
 * CBOR(RECEIPT) without encoding the fields again.
 */
export function draftReceipt(r: UnsignedReceipt): Uint8Array {
  return encodeFlatArray(unsignedArray(r), HUB_SIG_ROOM);
}

/** The signing digest of a `draftReceipt`: `Ht("veen/sig", CBOR(the 6 fields))`, hashed in place. */
export function draftDigest(draft: Uint8Array): Uint8Array {
  return Ht("veen/sig", draft.subarray(0, draft.length - HUB_SIG_ROOM));
}

/** Turns a `draftReceipt` into CBOR(RECEIPT), in place: array head 7 (0x87), hub_sig as a 64-byte bstr last. */
export function sealReceipt(draft: Uint8Array, hubSig: Uint8Array): Uint8Array {
  if (draft[0] !== 0x86 || hubSig.length !== 64) {
    throw new VeenError("E.SIZE", "sealReceipt needs an unsealed draft and a 64-byte hub_sig");
  }
  const at = draft.length - HUB_SIG_ROOM;
  draft[0] = 0x87;
  draft[at] = 0x58;
  draft[at + 1] = 64;
  draft.set(hubSig, at + 2);
  return draft;
}

export function encodeReceipt(r: Receipt): Uint8Array {
  return encodeFlatArray([...unsignedArray(r), r.hubSig]);
}

export function signReceipt(r: UnsignedReceipt, hubSecret: Uint8Array): Receipt {
  return { ...r, hubSig: ed25519Sign(hubSecret, receiptSigningDigest(r)) };
}

export function verifyReceiptSig(r: Receipt, hubPk: Uint8Array): boolean {
  return ed25519Verify(hubPk, receiptSigningDigest(r), r.hubSig);
}

export function receiptFromCbor(v: CborValue): Receipt {
  const a = expectArray(v, 7, "RECEIPT");
  if (a[0] !== 1) throw new VeenError("E.SIZE", "RECEIPT.ver must be 1");
  return {
    ver: 1,
    label: expectBytes(a[1], 32, "RECEIPT.label"),
    streamSeq: expectUint(a[2], "RECEIPT.stream_seq"),
    leafHash: expectBytes(a[3], 32, "RECEIPT.leaf_hash"),
    mmrRoot: expectBytes(a[4], 32, "RECEIPT.mmr_root"),
    hubTs: expectUint(a[5], "RECEIPT.hub_ts"),
    hubSig: expectBytes(a[6], 64, "RECEIPT.hub_sig"),
  };
}

export function decodeReceipt(bytes: Uint8Array): Receipt {
  return receiptFromCbor(decodeCbor(bytes, "RECEIPT"));
}
