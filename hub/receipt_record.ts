/**
 * The receipts record: what the receipts log keeps per entry besides the MSG, as the canonical CBOR array
 * `[label, stream_seq, leaf_hash, client_id, client_seq, auth_ref / null, hub_ts, RECEIPT]` (RECEIPT is the exact
 * wire bytes as a bstr). Where it is stored: docs/durability.md "Data directory".
 */
import { cborHeadLen, VeenError, writeCborHead } from "../core/mod.ts";
import { readCborHead } from "./frame.ts";
import type { TailFrame } from "./log_tail.ts";
import { StorageDamage } from "./storage_damage.ts";

/** What the receipts log keeps per entry besides the MSG. */
export interface ReceiptRecord {
  label: Uint8Array;
  streamSeq: number;
  leafHash: Uint8Array;
  clientId: Uint8Array;
  clientSeq: number;
  authRef: Uint8Array | null;
  hubTs: number;
  receipt: Uint8Array;
}

const bstrLen = (b: Uint8Array) => cborHeadLen(b.length) + b.length;

function checkUint(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new VeenError("E.SIZE", `${what} must be an unsigned integer`);
}

/** Length of the canonical CBOR receipts record body. */
export function receiptBodyLength(r: ReceiptRecord): number {
  return 1 + bstrLen(r.label) + cborHeadLen(r.streamSeq) + bstrLen(r.leafHash) + bstrLen(r.clientId) +
    cborHeadLen(r.clientSeq) + (r.authRef === null ? 1 : bstrLen(r.authRef)) + cborHeadLen(r.hubTs) +
    bstrLen(r.receipt);
}

function putBstr(buf: Uint8Array, off: number, b: Uint8Array): number {
  off = writeCborHead(buf, off, 2, b.length);
  buf.set(b, off);
  return off + b.length;
}

/** Writes the receipts record body at `off`; returns the offset after it. */
export function writeReceiptBody(buf: Uint8Array, off: number, r: ReceiptRecord): number {
  checkUint(r.streamSeq, "stream_seq");
  checkUint(r.clientSeq, "client_seq");
  checkUint(r.hubTs, "hub_ts");
  buf[off++] = 0x88;
  off = putBstr(buf, off, r.label);
  off = writeCborHead(buf, off, 0, r.streamSeq);
  off = putBstr(buf, off, r.leafHash);
  off = putBstr(buf, off, r.clientId);
  off = writeCborHead(buf, off, 0, r.clientSeq);
  if (r.authRef === null) buf[off++] = 0xf6;
  else off = putBstr(buf, off, r.authRef);
  off = writeCborHead(buf, off, 0, r.hubTs);
  return putBstr(buf, off, r.receipt);
}

/** Decodes a receipts record body (copies the byte fields). Throws E.UNAVAILABLE when malformed. */
export function decodeReceiptBody(body: Uint8Array): ReceiptRecord {
  const bad = (what: string): never => {
    throw new VeenError("E.UNAVAILABLE", `Malformed receipts record: ${what}`);
  };
  if (body[0] !== 0x88) bad("not an array of 8");
  let off = 1;
  const uint = (what: string): number => {
    const h = readCborHead(body, off);
    if (h === undefined || h.major !== 0 || !h.canonical) return bad(what);
    off = h.next;
    return h.n;
  };
  const bytes = (what: string, nullable = false): Uint8Array | null => {
    if (nullable && body[off] === 0xf6) {
      off++;
      return null;
    }
    const h = readCborHead(body, off);
    if (h === undefined || h.major !== 2 || !h.canonical || h.next + h.n > body.length) return bad(what);
    off = h.next + h.n;
    return body.slice(h.next, off);
  };
  const label = bytes("label")!;
  const streamSeq = uint("stream_seq");
  const leafHash = bytes("leaf_hash")!;
  const clientId = bytes("client_id")!;
  const clientSeq = uint("client_seq");
  const authRef = bytes("auth_ref", true);
  const hubTs = uint("hub_ts");
  const receipt = bytes("receipt")!;
  if (off !== body.length) bad("trailing bytes");
  return { label, streamSeq, leafHash, clientId, clientSeq, authRef, hubTs, receipt };
}

/** Decodes receipts records read as frames of `file`; one that does not decode is {@link StorageDamage}. */
export function decodeReceiptFrames(file: string, frames: readonly TailFrame[]): ReceiptRecord[] {
  return frames.map((d) => {
    try {
      return decodeReceiptBody(d.body);
    } catch (e) {
      throw new StorageDamage(file, d.offset, `record does not decode: ${String(e)}`);
    }
  });
}
