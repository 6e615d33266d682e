/**
 * Deduplication of mirrored copies by their original msg_id (spec 001 ID §12.1: "events are deduplicated using a
 * stable identifier, for example ... original msg_id"; overlay decisions, Mirroring). A copy made by a mirror or
 * bridge (cli/stream_mirror.ts) carries `parent_id = msg_id` of the original, so an entry's **origin** is its
 * parent_id when it has one and its own msg_id otherwise. The streams this is used on are written without
 * parent_id by their own commands (the ID layer's), so a parent_id there always names an original.
 *
 * `originDedup(fold)` folds an entry only when no entry with the same origin was applied before: the original
 * and any number of copies of it, on one stream and in any order, count once. The state keeps the set of
 * applied origins (one 32-byte id per applied record); it is declared as `dedup`, so the CLI keeps it in an index
 * beside the summary rather than in it (cli/seen_index.ts). Merging unions the sets; it is exact for ranges that hold
 * no copy of each other's records (the sequential fold the CLI runs is always exact).
 */
import { toHex } from "../core/mod.ts";
import { damaged, type Fold, jsonArray, jsonHex, jsonObject, type OverlayEntry } from "./fold.ts";

/** The original msg_id of an entry: parent_id for a mirrored copy, else its own msg_id. */
export function originOf(e: OverlayEntry): Uint8Array {
  return e.hdr.parentId ?? e.msgId;
}

/** A fold's summary with the origins (hex) of every entry it applied. */
export interface Deduped<S> {
  state: S;
  seen: Set<string>;
}

/** `fold` applying each origin once; a repeated origin is "ignored". Same kind and schema as `fold`. */
export function originDedup<S>(fold: Fold<S>): Fold<Deduped<S>> {
  const wrap = (state: S): Deduped<S> => ({ state, seen: new Set() });
  return {
    kind: fold.kind,
    schema: fold.schema,
    empty: () => wrap(fold.empty()),
    ...(fold.start === undefined ? {} : { start: () => wrap(fold.start!()) }),
    dedup: { keys: (e) => [toHex(originOf(e))], seen: (s) => s.seen },
    merge: (l, r) => ({ state: fold.merge(l.state, r.state), seen: new Set([...l.seen, ...r.seen]) }),
    apply(s, e) {
      const origin = toHex(originOf(e));
      if (s.seen.has(origin)) return "ignored";
      const res = fold.apply(s.state, e);
      if (res === "applied") s.seen.add(origin);
      return res;
    },
    toJson: (s) => ({ state: fold.toJson(s.state), seen: [...s.seen].sort() }),
    fromJson(v) {
      const o = jsonObject(v, "deduplicated summary");
      if (!("state" in o)) damaged("deduplicated summary has no state");
      const seen = new Set(jsonArray(o.seen, "seen").map((x) => jsonHex(x, "seen origin", 32)));
      return { state: fold.fromJson(o.state), seen };
    },
  };
}
