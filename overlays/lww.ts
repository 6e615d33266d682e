/**
 * CRDT0.1 LWW-Register: payload_hdr.schema = H("crdt.lww.v1"), body `{key: bytes, ts: uint, value: bytes}`, keys in
 * that order ({@link BodyCodec}); key and value at most 4096 bytes.
 *
 * The register of a key holds the value of the write that is greatest in the total order `(ts, stream_seq)`:
 * application clocks order writes, stream_seq breaks ties (spec 001 "fold ordering with timestamps").
 *
 * Summary S: per key, the winning `(ts, seq, value)`. merge(L, R) keeps, per key, the greater cell; it is
 * associative, commutative and idempotent, and `apply(s, e)` = merge(s, {key: cell of e}).
 */
import { fromHex, toHex } from "../core/mod.ts";
import { BodyCodec } from "./body_codec.ts";
import {
  type ApplyResult,
  damaged,
  decodeEntry,
  type Fold,
  jsonArray,
  jsonHex,
  jsonUint,
  type OverlayEntry,
  sortedEntries,
} from "./fold.ts";

export const LWW_KIND = "crdt.lww.v1";

/** crdt.lww.v1 body in CRDT0.1's order. */
export const LWW_BODY = new BodyCodec(LWW_KIND, [
  { name: "key", type: "bytes" },
  { name: "ts", type: "uint" },
  { name: "value", type: "bytes" },
]);
export const LWW_SCHEMA: Uint8Array = LWW_BODY.schemaId;

export interface LwwOp {
  key: Uint8Array;
  ts: number;
  value: Uint8Array;
}

export function encodeLwwOp(op: LwwOp): Uint8Array {
  return LWW_BODY.encode({ key: op.key, ts: op.ts, value: op.value });
}

/** Strict decoder (E.SIZE on anything but `{key, ts, value}` in that order). */
export function decodeLwwOp(bytes: Uint8Array): LwwOp {
  const b = LWW_BODY.decode(bytes);
  return { key: b.key as Uint8Array, ts: b.ts as number, value: b.value as Uint8Array };
}

/** The winning write of one key. */
export interface LwwCell {
  ts: number;
  seq: number;
  value: Uint8Array;
}

/** Summary: key (hex) → winning cell. */
export type LwwState = Map<string, LwwCell>;

/** True when `a` comes after `b` in the `(ts, stream_seq)` order. */
export function lwwLater(a: LwwCell, b: LwwCell): boolean {
  return a.ts !== b.ts ? a.ts > b.ts : a.seq > b.seq;
}

function put(s: LwwState, key: string, cell: LwwCell): void {
  const cur = s.get(key);
  if (cur === undefined || lwwLater(cell, cur)) s.set(key, cell);
}

/** The current cell of `key`, if it was ever written. */
export function lwwGet(s: LwwState, key: Uint8Array): LwwCell | undefined {
  return s.get(toHex(key));
}

export const lwwFold: Fold<LwwState> = {
  kind: LWW_KIND,
  schema: LWW_SCHEMA,
  ranges: true,
  empty: () => new Map(),
  merge(left, right) {
    const out: LwwState = new Map(left);
    for (const [k, c] of right) put(out, k, c);
    return out;
  },
  apply(s: LwwState, e: OverlayEntry): ApplyResult {
    const r = decodeEntry(e, LWW_SCHEMA, decodeLwwOp);
    if (r.kind !== "op") return r.kind;
    put(s, toHex(r.op.key), { ts: r.op.ts, seq: e.seq, value: r.op.value });
    return "applied";
  },
  toJson(s) {
    return sortedEntries(s).map(([k, c]) => [k, c.ts, c.seq, toHex(c.value)]);
  },
  fromJson(v) {
    const s: LwwState = new Map();
    for (const row of jsonArray(v, "lww")) {
      const r = jsonArray(row, "lww row");
      if (r.length !== 4) damaged("lww row length");
      const key = jsonHex(r[0], "lww key");
      if (s.has(key)) damaged("lww duplicate key");
      s.set(key, {
        ts: jsonUint(r[1], "lww ts"),
        seq: jsonUint(r[2], "lww seq"),
        value: fromHex(jsonHex(r[3], "lww value")),
      });
    }
    return s;
  },
};
