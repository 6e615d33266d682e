/**
 * Mirroring (spec 001 spec-3 §10 federation.mirror.v1, ANCHOR0.3, WALBR0 §11.3-11.4; overlay decisions "FED1 /
 * AUTH1", Mirroring): the attestation body, and the index a mirror folds over a label to deduplicate and to tell a
 * mirror target.
 *
 * - A **copy** of source item X is a new MSG on the target label with X's schema and plaintext body and
 *   `parent_id = msg_id(X)`. Copies are deduplicated on parent_id within the target label.
 * - A **federation.mirror.v1 record** is a separate attestation on the target label (also with `parent_id =
 *   msg_id(X)`), at most one per (source leaf, target label) (F2). `source_hub_identifier` is the source hub_id in
 *   hex. A label holding a record whose `target_label` is that label is a mirror target and is never mirrored from.
 */
import { bytesEqual, type CborValue, toHex } from "../core/mod.ts";
import { BodyCodec } from "./body_codec.ts";
import type { ApplyResult, Fold, OverlayEntry } from "./fold.ts";

/** `federation.mirror.v1` (spec-3 §10.2), schema id `H("veen/schema:federation.mirror.v1")`. */
export const FEDERATION_MIRROR = new BodyCodec("federation.mirror.v1", [
  { name: "source_hub_identifier", type: "text" },
  { name: "source_label", type: "bytes32" },
  { name: "source_stream_seq", type: "uint" },
  { name: "source_leaf_hash", type: "bytes32" },
  { name: "source_receipt_root", type: "bytes32" },
  { name: "target_label", type: "bytes32" },
  { name: "mirror_time", type: "uint", optional: true },
  { name: "metadata", type: "any", optional: true },
]);

/**
 * What a mirror knows about one label (all hex): `copies` holds the parent_id of every entry that is not a
 * federation.mirror.v1 record, `attested` the source_leaf_hash of every record, `targets` the target_label of every
 * record. An entry of another schema without parent_id leaves it unchanged.
 */
export interface MirrorIndex {
  copies: Set<string>;
  attested: Set<string>;
  targets: Set<string>;
}

const union = (a: Set<string>, b: Set<string>) => new Set([...a, ...b]);

function hexSet(v: unknown, what: string): Set<string> {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string" && /^[0-9a-f]{64}$/.test(x))) {
    throw new Error(`mirror index: ${what} must be an array of 64-hex strings`);
  }
  return new Set(v as string[]);
}

/** The mirror index fold: sets only grow, so merge is union (associative, commutative, idempotent). */
export const MIRROR_INDEX: Fold<MirrorIndex> = {
  kind: "federation.mirror.v1",
  schema: FEDERATION_MIRROR.schemaId,
  empty: () => ({ copies: new Set(), attested: new Set(), targets: new Set() }),
  merge: (l, r) => ({
    copies: union(l.copies, r.copies),
    attested: union(l.attested, r.attested),
    targets: union(l.targets, r.targets),
  }),
  apply(s: MirrorIndex, e: OverlayEntry): ApplyResult {
    if (!bytesEqual(e.hdr.schema, FEDERATION_MIRROR.schemaId)) {
      if (e.hdr.parentId === undefined) return "ignored";
      s.copies.add(toHex(e.hdr.parentId));
      return "applied";
    }
    let rec: Record<string, CborValue>;
    try {
      rec = FEDERATION_MIRROR.decode(e.body);
    } catch {
      return "rejected";
    }
    s.attested.add(toHex(rec.source_leaf_hash as Uint8Array));
    s.targets.add(toHex(rec.target_label as Uint8Array));
    return "applied";
  },
  toJson: (s) => ({
    copies: [...s.copies].sort(),
    attested: [...s.attested].sort(),
    targets: [...s.targets].sort(),
  }),
  fromJson(v: unknown): MirrorIndex {
    if (typeof v !== "object" || v === null) throw new Error("mirror index must be an object");
    const o = v as Record<string, unknown>;
    return {
      copies: hexSet(o.copies, "copies"),
      attested: hexSet(o.attested, "attested"),
      targets: hexSet(o.targets, "targets"),
    };
  },
};
