/**
 * CRDT0.1 LWW-Register: payload_hdr.schema = H("crdt.lww.v1"), body `{key: bytes, ts: uint, value: bytes}`.
 *
 * The register of a key holds the value of the write that is greatest in the total order `(ts, stream_seq)`:
 * application clocks order writes, stream_seq breaks ties (spec 001 "fold ordering with timestamps").
 *
 * Summary S: per key, the winning `(ts, seq, value)`. merge(L, R) keeps, per key, the greater cell; it is
 * associative, commutative and idempotent, and `apply(s, e)` = merge(s, {key: cell of e}).
 */
import { expectBytes, expectUint, fromHex, schemaIdFor, toHex } from "../core/mod.ts";
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
import { decodeTextMap, encodeTextMap } from "./text_map.ts";

export const LWW_KIND = "crdt.lww.v1";
export const LWW_SCHEMA: Uint8Array = schemaIdFor(LWW_KIND);

export interface LwwOp {
  key: Uint8Array;
  ts: number;
  value: Uint8Array;
}

export function encodeLwwOp(op: LwwOp): Uint8Array {
  return encodeTextMap({ key: op.key, ts: op.ts, value: op.value });
}

/** Strict decoder (E.SIZE on anything but `{key, ts, value}`). */
export function decodeLwwOp(bytes: Uint8Array): LwwOp {
  const m = decodeTextMap(bytes, ["key", "ts", "value"], ["key", "ts", "value"], "crdt.lww.v1 body");
  return {
    key: expectBytes(m.get("key"), undefined, "crdt.lww.v1 key"),
    ts: expectUint(m.get("ts"), "crdt.lww.v1 ts"),
    value: expectBytes(m.get("value"), undefined, "crdt.lww.v1 value"),
  };
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
