/**
 * CRDT0.3 G-Counter: payload_hdr.schema = H("crdt.gcnt.v1"), body `{shard: bstr(32), delta: uint}`, keys in that
 * order ({@link BodyCodec}).
 *
 * The shard is the writer's client_id: an entry whose shard is not its MSG.client_id is rejected, so a writer can
 * only grow its own shard (CRDT0.4 provenance: the MSG signature names the writer). The value is the sum of all
 * deltas; sums are exact (bigint), whatever the number of entries.
 *
 * Summary S: shard (hex) → sum of its deltas in the range. merge(L, R) adds pointwise. Ranges must not overlap
 * (RangeSummary enforces adjacency): unlike the state-based G-counter's max, this op-based sum is not idempotent.
 */
import { bytesEqual, toHex } from "../core/mod.ts";
import { BodyCodec } from "./body_codec.ts";
import {
  type ApplyResult,
  damaged,
  decodeEntry,
  type Fold,
  jsonArray,
  jsonHex,
  type OverlayEntry,
  sortedEntries,
} from "./fold.ts";

export const GCNT_KIND = "crdt.gcnt.v1";

/** crdt.gcnt.v1 body in CRDT0.3's order. */
export const GCNT_BODY = new BodyCodec(GCNT_KIND, [
  { name: "shard", type: "bytes32" },
  { name: "delta", type: "uint" },
]);
export const GCNT_SCHEMA: Uint8Array = GCNT_BODY.schemaId;

export interface CounterOp {
  shard: Uint8Array;
  delta: number;
}

export function encodeCounterOp(op: CounterOp): Uint8Array {
  return GCNT_BODY.encode({ shard: op.shard, delta: op.delta });
}

/** Strict decoder (E.SIZE on anything but `{shard: bstr32, delta: uint}` in that order). */
export function decodeCounterOp(bytes: Uint8Array): CounterOp {
  const b = GCNT_BODY.decode(bytes);
  return { shard: b.shard as Uint8Array, delta: b.delta as number };
}

/** Summary: shard (hex) → sum of deltas. */
export type CounterState = Map<string, bigint>;

/** The counter's value: the sum over shards. */
export function counterTotal(s: CounterState): bigint {
  let t = 0n;
  for (const v of s.values()) t += v;
  return t;
}

export const counterFold: Fold<CounterState> = {
  kind: GCNT_KIND,
  schema: GCNT_SCHEMA,
  ranges: true,
  empty: () => new Map(),
  merge(left, right) {
    const out: CounterState = new Map(left);
    for (const [k, v] of right) out.set(k, (out.get(k) ?? 0n) + v);
    return out;
  },
  apply(s: CounterState, e: OverlayEntry): ApplyResult {
    const r = decodeEntry(e, GCNT_SCHEMA, decodeCounterOp);
    if (r.kind !== "op") return r.kind;
    const op = r.op;
    if (!bytesEqual(op.shard, e.clientId)) return "rejected";
    const k = toHex(op.shard);
    s.set(k, (s.get(k) ?? 0n) + BigInt(op.delta));
    return "applied";
  },
  toJson(s) {
    return sortedEntries(s).map(([k, v]) => [k, v.toString()]);
  },
  fromJson(v) {
    const s: CounterState = new Map();
    for (const row of jsonArray(v, "gcnt")) {
      const r = jsonArray(row, "gcnt row");
      if (r.length !== 2 || typeof r[1] !== "string" || !/^(0|[1-9][0-9]*)$/.test(r[1])) {
        damaged("gcnt row");
      }
      const k = jsonHex(r[0], "gcnt shard", 32);
      if (s.has(k)) damaged("gcnt duplicate shard");
      s.set(k, BigInt(r[1]));
    }
    return s;
  },
};
