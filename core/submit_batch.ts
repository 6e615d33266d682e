/**
 * The bulk submit wire format (wire decisions "Bulk submit", docs/protocol.md "POST /submit_batch"): the request is
 * an RFC 8742 CBOR sequence of CBOR(MSG) items, at most `max_batch_items` of them and `max_batch_bytes` in all; the
 * answer is a CBOR sequence with exactly one item per MSG, in order: CBOR(RECEIPT) when admitted, else the error
 * body map `{code, detail?, retry_after?}`.
 *
 * Splitting only finds where each item ends (definite lengths, at most {@link MAX_SPLIT_DEPTH} levels); each item
 * is then decoded as a MSG on its own, so a malformed MSG is refused alone while a sequence that cannot be split is
 * refused whole (E.SIZE), before anything is admitted.
 */
import { decodeErrorBody, encodeErrorBody } from "./error_body.ts";
import { concatAll } from "./bytes.ts";
import { VeenError } from "./errors.ts";
import { decodeReceipt, type Receipt } from "./receipt.ts";

/** Default `max_batch_items`: MSGs in one `/submit_batch` request. */
export const DEFAULT_MAX_BATCH_ITEMS = 256;
/** Default `max_batch_bytes`: bytes of one `/submit_batch` request body. */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Nesting a split follows at most (a MSG is one array of byte strings and integers: depth 2). */
export const MAX_SPLIT_DEPTH = 8;

/**
 * The items of a CBOR sequence as views into `bytes`, in order. E.SIZE when an item is truncated, uses an
 * indefinite length or nests deeper than {@link MAX_SPLIT_DEPTH}, or when there are more than `maxItems` items.
 */
export function splitCborSeq(bytes: Uint8Array, maxItems: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (out.length >= maxItems) {
      throw new VeenError("E.SIZE", `Batch holds more than ${maxItems} items`);
    }
    const end = itemEnd(bytes, off, 0);
    out.push(bytes.subarray(off, end));
    off = end;
  }
  return out;
}

/** The offset just past the CBOR item at `off`. */
function itemEnd(b: Uint8Array, off: number, depth: number): number {
  if (depth > MAX_SPLIT_DEPTH) throw new VeenError("E.SIZE", "Batch item nests too deeply");
  if (off >= b.length) throw new VeenError("E.SIZE", "Batch item is truncated");
  const ib = b[off]!;
  const major = ib >> 5;
  const info = ib & 31;
  let n: number;
  let p = off + 1;
  if (info < 24) n = info;
  else if (info <= 27) {
    const len = 1 << (info - 24);
    if (p + len > b.length) throw new VeenError("E.SIZE", "Batch item is truncated");
    n = 0;
    for (let i = 0; i < len; i++) n = n * 256 + b[p + i]!;
    p += len;
  } else {
    throw new VeenError("E.SIZE", "Batch item uses an indefinite or reserved length");
  }
  switch (major) {
    case 0:
    case 1:
    case 7:
      return p;
    case 2:
    case 3:
      if (n > b.length - p) throw new VeenError("E.SIZE", "Batch item is truncated");
      return p + n;
    case 4:
    case 5: {
      const count = major === 5 ? n * 2 : n;
      if (count > b.length - p) throw new VeenError("E.SIZE", "Batch item is truncated");
      for (let i = 0; i < count; i++) p = itemEnd(b, p, depth + 1);
      return p;
    }
    default: // 6: tags are never part of a MSG
      return itemEnd(b, p, depth + 1);
  }
}

/** One answer of a batch: the RECEIPT bytes of an admitted MSG, or the error of a refused one. */
export type BatchResult = Uint8Array | VeenError;

/** The answer body: each RECEIPT as is, each refusal as its error body map. */
export function encodeBatchResponse(results: readonly BatchResult[]): Uint8Array {
  return concatAll(results.map((r) => r instanceof VeenError ? encodeErrorBody(r) : r));
}

/** A decoded answer item: the RECEIPT and its exact bytes, or the hub's refusal. */
export type BatchAnswer = { receipt: Receipt; bytes: Uint8Array } | { error: VeenError };

/**
 * Decodes an answer to a batch of `count` MSGs: E.SIZE unless it holds exactly `count` items, each a canonical
 * RECEIPT or a well-formed error body.
 */
export function decodeBatchResponse(bytes: Uint8Array, count: number): BatchAnswer[] {
  const items = splitCborSeq(bytes, count);
  if (items.length !== count) {
    throw new VeenError("E.SIZE", `Batch answer holds ${items.length} items for ${count} MSGs`);
  }
  return items.map((item, i) => {
    if (item[0] === 0x87) return { receipt: decodeReceipt(item), bytes: item.slice() };
    const error = decodeErrorBody(item);
    if (error === undefined) {
      throw new VeenError("E.SIZE", `Batch answer item ${i} is neither RECEIPT nor error`);
    }
    return { error };
  });
}
