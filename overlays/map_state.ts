/**
 * The map state classes of state.checkpoint.v1 (spec-3 §7.2-7.4, 001 L3361-3410): "counter.map" (a grow-only
 * counter map: deltas summed per key) and "configuration.map" (a last-writer-wins map: per key the value with the
 * highest timestamp, stream_seq breaking ties). Our reading: they are the CRDT0 folds of the stream, crdt.gcnt.v1
 * (overlays/counter.ts) and crdt.lww.v1 (overlays/lww.ts); every such entry up to upto_stream_seq is relevant (the
 * stream is the map; state_id names the state and filters nothing), and serialized_state is the deterministic CBOR
 * of the fold's summary (overlay decisions), RFC 8949 §4.2.1 core deterministic encoding (map keys sorted bytewise
 * by their encoded bytes):
 *
 * - counter.map: map bstr(32) shard → uint sum of its deltas;
 * - configuration.map: map bstr key → [ts, stream_seq, value bstr] of the winning write.
 *
 * `state_hash = Ht("veen/state-" || state_class, serialized_state)` (paid_ledger.ts `stateHash`).
 */
import { compareBytes, concat, encodeCbor, fromHex, writeCborHead } from "../core/mod.ts";
import { counterFold, type CounterState } from "./counter.ts";
import type { Fold } from "./fold.ts";
import { lwwFold, type LwwState } from "./lww.ts";

/** A map state class: the fold it reads and the serialized_state of that fold's summary. */
export interface MapState<S> {
  fold: Fold<S>;
  serialize(s: S): Uint8Array;
}

/** The map state classes by name. */
export const MAP_STATE_CLASSES: Readonly<Record<string, MapState<unknown>>> = {
  "counter.map": { fold: counterFold, serialize: (s) => counterMapBytes(s as CounterState) },
  "configuration.map": { fold: lwwFold, serialize: (s) => configurationMapBytes(s as LwwState) },
};

/** The map state class `cls`, or undefined when it names none. */
export function mapStateClass(cls: string): MapState<unknown> | undefined {
  return Object.hasOwn(MAP_STATE_CLASSES, cls) ? MAP_STATE_CLASSES[cls] : undefined;
}

/** A CBOR head (major type, argument up to 2^64-1) in its shortest form. */
function head(major: number, n: bigint): Uint8Array {
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError(`${n} is not a CBOR argument`);
  if (n <= BigInt(Number.MAX_SAFE_INTEGER)) {
    const out = new Uint8Array(9);
    return out.subarray(0, writeCborHead(out, 0, major, Number(n)));
  }
  const out = new Uint8Array(9);
  out[0] = (major << 5) | 27;
  new DataView(out.buffer).setBigUint64(1, n);
  return out;
}

/** A CBOR map of encoded (key, value) pairs, keys sorted bytewise by their encoding (RFC 8949 §4.2.1). */
function deterministicMap(pairs: [Uint8Array, Uint8Array][]): Uint8Array {
  pairs.sort(([a], [b]) => compareBytes(a, b));
  return concat(head(5, BigInt(pairs.length)), ...pairs.flat());
}

/** serialized_state of "counter.map": map bstr(32) shard → uint sum. */
export function counterMapBytes(s: CounterState): Uint8Array {
  return deterministicMap([...s].map(([k, v]) => [encodeCbor(fromHex(k, 32)), head(0, v)]));
}

/** serialized_state of "configuration.map": map bstr key → [ts, stream_seq, value]. */
export function configurationMapBytes(s: LwwState): Uint8Array {
  return deterministicMap(
    [...s].map(([k, c]) => [encodeCbor(fromHex(k)), encodeCbor([c.ts, c.seq, c.value])]),
  );
}
