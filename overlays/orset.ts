/**
 * CRDT0.2 OR-Set: payload_hdr.schema = H("crdt.orset.v1"); an add is `{id: bstr(32), elem: bytes}`, a remove is
 * `{tomb: [bstr(32), ...]}` (non-empty), keys in that order ({@link BodyCodec}). An element is present when some add id of it is in no tomb set of the
 * prefix considered. A remove tombstones the add ids of the element that its writer observed, so an add that the
 * remover had not seen (concurrent, or later) survives: add wins over a concurrent remove.
 *
 * Summary S: the live adds (id → elem and the stream_seq of its first add) and every tombstoned id.
 * merge(L, R): tombs = L.tombs ∪ R.tombs; adds = (L.adds ∪ R.adds) minus tombs, the smaller seq winning when one id
 * was added twice. Tombs are kept even when their add is gone, so a tomb in an earlier range still removes an
 * add that appears (for example through a mirror) in a later one. merge is associative, commutative and idempotent.
 */
import { bytesEqual, compareBytes, fromHex, toHex, VeenError } from "../core/mod.ts";
import { BodyCodec } from "./body_codec.ts";
import {
  type ApplyResult,
  damaged,
  decodeEntry,
  type Fold,
  jsonArray,
  jsonHex,
  jsonObject,
  jsonUint,
  type OverlayEntry,
  sortedEntries,
} from "./fold.ts";

export const ORSET_KIND = "crdt.orset.v1";

/**
 * crdt.orset.v1 body: CRDT0.2's add keys `id, elem`, then the remove key `tomb`, all optional here; decoding then
 * requires exactly one of the two shapes.
 */
export const ORSET_BODY = new BodyCodec(ORSET_KIND, [
  { name: "id", type: "bytes32", optional: true },
  { name: "elem", type: "bytes", optional: true },
  { name: "tomb", type: "bytes32[]", optional: true },
]);
export const ORSET_SCHEMA: Uint8Array = ORSET_BODY.schemaId;

export type OrSetOp =
  | { op: "add"; id: Uint8Array; elem: Uint8Array }
  | { op: "remove"; tomb: Uint8Array[] };

/** `{id, elem}`. */
export function encodeOrSetAdd(id: Uint8Array, elem: Uint8Array): Uint8Array {
  return ORSET_BODY.encode({ id, elem });
}

/** `{tomb: ids}`, ids sorted ascending and deduplicated (a canonical form for the same set). */
export function encodeOrSetRemove(tomb: readonly Uint8Array[]): Uint8Array {
  if (tomb.length === 0) throw new VeenError("E.SIZE", "crdt.orset.v1.tomb must not be empty");
  const byHex = new Map(tomb.map((t) => [toHex(t), t]));
  return ORSET_BODY.encode({ tomb: [...byHex.values()].sort(compareBytes) });
}

/** Strict decoder: exactly `{id, elem}` or `{tomb}` with a non-empty tomb (E.SIZE otherwise). */
export function decodeOrSetOp(bytes: Uint8Array): OrSetOp {
  const b = ORSET_BODY.decode(bytes);
  if (b.tomb !== undefined) {
    if (b.id !== undefined || b.elem !== undefined) {
      throw new VeenError("E.SIZE", "crdt.orset.v1 remove must hold only tomb");
    }
    const tomb = b.tomb as Uint8Array[];
    if (tomb.length === 0) throw new VeenError("E.SIZE", "crdt.orset.v1.tomb must not be empty");
    return { op: "remove", tomb };
  }
  if (b.id === undefined || b.elem === undefined) {
    throw new VeenError("E.SIZE", "crdt.orset.v1 add must hold id and elem");
  }
  return { op: "add", id: b.id as Uint8Array, elem: b.elem as Uint8Array };
}

export interface OrSetAdd {
  elem: Uint8Array;
  seq: number;
}

export interface OrSetState {
  /** Live add ids (hex) → element and the stream_seq of the add. */
  adds: Map<string, OrSetAdd>;
  /** Every tombstoned add id (hex). */
  tombs: Set<string>;
}

function addLive(s: OrSetState, id: string, a: OrSetAdd): void {
  if (s.tombs.has(id)) return;
  const cur = s.adds.get(id);
  if (cur === undefined || a.seq < cur.seq) s.adds.set(id, a);
}

/** The elements present, sorted by their bytes, each once. */
export function orsetElements(s: OrSetState): Uint8Array[] {
  const byHex = new Map<string, Uint8Array>();
  for (const a of s.adds.values()) byHex.set(toHex(a.elem), a.elem);
  return [...byHex.values()].sort(compareBytes);
}

/** The live add ids of `elem` (what a remove of it tombstones), sorted. */
export function orsetObservedIds(s: OrSetState, elem: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [id, a] of s.adds) if (bytesEqual(a.elem, elem)) out.push(fromHex(id, 32));
  return out.sort(compareBytes);
}

export const orsetFold: Fold<OrSetState> = {
  kind: ORSET_KIND,
  schema: ORSET_SCHEMA,
  empty: () => ({ adds: new Map(), tombs: new Set() }),
  merge(left, right) {
    const out: OrSetState = { adds: new Map(), tombs: new Set([...left.tombs, ...right.tombs]) };
    for (const [id, a] of left.adds) addLive(out, id, a);
    for (const [id, a] of right.adds) addLive(out, id, a);
    return out;
  },
  apply(s: OrSetState, e: OverlayEntry): ApplyResult {
    const r = decodeEntry(e, ORSET_SCHEMA, decodeOrSetOp);
    if (r.kind !== "op") return r.kind;
    const op = r.op;
    if (op.op === "add") {
      addLive(s, toHex(op.id), { elem: op.elem, seq: e.seq });
    } else {
      for (const t of op.tomb) {
        const id = toHex(t);
        s.tombs.add(id);
        s.adds.delete(id);
      }
    }
    return "applied";
  },
  toJson(s) {
    return {
      adds: sortedEntries(s.adds).map(([id, a]) => [id, toHex(a.elem), a.seq]),
      tombs: [...s.tombs].sort(),
    };
  },
  fromJson(v) {
    const o = jsonObject(v, "orset");
    const s: OrSetState = { adds: new Map(), tombs: new Set() };
    for (const t of jsonArray(o.tombs, "orset tombs")) s.tombs.add(jsonHex(t, "orset tomb", 32));
    for (const row of jsonArray(o.adds, "orset adds")) {
      const r = jsonArray(row, "orset add");
      if (r.length !== 3) damaged("orset add length");
      const id = jsonHex(r[0], "orset id", 32);
      if (s.adds.has(id) || s.tombs.has(id)) damaged("orset add id repeated or tombstoned");
      s.adds.set(id, { elem: fromHex(jsonHex(r[1], "orset elem")), seq: jsonUint(r[2], "orset seq") });
    }
    return s;
  },
};
