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
