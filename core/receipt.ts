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
  return receiptDigestOf(encodeUnsignedReceipt(r));
}

/** CBOR of the first 6 fields: what the hub signs, and the head of CBOR(RECEIPT) (`receiptBytes`). */
export function encodeUnsignedReceipt(r: UnsignedReceipt): Uint8Array {
  return encodeFlatArray(unsignedArray(r));
}

/** The signing digest from `encodeUnsignedReceipt`'s bytes. */
export function receiptDigestOf(unsigned: Uint8Array): Uint8Array {
  return Ht("veen/sig", unsigned);
}

/**
 * CBOR(RECEIPT) from `encodeUnsignedReceipt`'s bytes and hub_sig, without encoding the fields again: the array
 * head becomes 7 (0x86 → 0x87) and hub_sig follows as a 64-byte bstr (0x58 0x40).
 */
export function receiptBytes(unsigned: Uint8Array, hubSig: Uint8Array): Uint8Array {
  if (unsigned[0] !== 0x86 || hubSig.length !== 64) {
    throw new VeenError("E.SIZE", "receiptBytes needs the 6-field head and a 64-byte hub_sig");
  }
  const out = new Uint8Array(unsigned.length + 66);
  out.set(unsigned);
  out[0] = 0x87;
  out[unsigned.length] = 0x58;
  out[unsigned.length + 1] = 64;
  out.set(hubSig, unsigned.length + 2);
  return out;
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
