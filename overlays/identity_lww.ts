/**
 * The LWW order of the ID layer (spec 001 ID §7.1, §8.1, §8.2, §10.1; overlay decisions, "Bodies and
 * identifiers"): a write wins over another when it is greater in (time field, stream_seq, origin msg_id). The
 * origin msg_id (the original's, for a mirrored copy: overlays/origin_dedup.ts) is the stable tie-breaker, the
 * same on every hub that holds the record.
 */
import { jsonHex, jsonObject, jsonUint } from "./fold.ts";

/** Position of an LWW write: (time field, stream_seq, origin msg_id as hex). */
export interface LwwPos {
  ts: number;
  seq: number;
  leaf: string;
}

/** True when `a` comes after `b` in the (time field, stream_seq, origin msg_id) order. */
export function idLater(a: LwwPos, b: LwwPos): boolean {
  if (a.ts !== b.ts) return a.ts > b.ts;
  if (a.seq !== b.seq) return a.seq > b.seq;
  return a.leaf > b.leaf;
}

/** Sets `m[k] = c` when `c` wins over the current value. */
export function putLww<C extends LwwPos>(m: Map<string, C>, k: string, c: C): void {
  const cur = m.get(k);
  if (cur === undefined || idLater(c, cur)) m.set(k, c);
}

/** Checks the position fields of a summary's LWW cell. */
export function lwwFrom(v: unknown, what: string): LwwPos {
  const o = jsonObject(v, what);
  jsonUint(o.ts, `${what} ts`);
  jsonUint(o.seq, `${what} seq`);
  jsonHex(o.leaf, `${what} leaf`, 32);
  return o as unknown as LwwPos;
}
