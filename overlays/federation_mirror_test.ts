/**
 * federation.mirror.v1 through the body codec (spec-3 §10.2 key order, optional fields omitted, strict types) and
 * the mirror index fold: copies by parent_id, attestations by source leaf, mirror targets by target_label, and the
 * merge laws.
 */
import assert from "node:assert/strict";
import { type CborValue, decodeCborInOrder, encodeCbor, schemaIdFor, toHex, VeenError } from "../core/mod.ts";
import { prng } from "../tests/util.ts";
import { FEDERATION_MIRROR, MIRROR_INDEX } from "./federation_mirror.ts";
import { checkMergeLaws, entry, sequence } from "./testing/laws.ts";

const rng = prng(20);
const b32 = (fill: number) => new Uint8Array(32).fill(fill);

function record(leaf: number, target: number) {
  return FEDERATION_MIRROR.encode({
    source_hub_identifier: toHex(b32(9)),
    source_label: b32(7),
    source_stream_seq: leaf,
    source_leaf_hash: b32(leaf),
    source_receipt_root: b32(200),
    target_label: b32(target),
  });
}

Deno.test("federation.mirror.v1: spec key order, optional fields omitted, strict decode", () => {
  assert.equal(toHex(FEDERATION_MIRROR.schemaId), toHex(schemaIdFor("federation.mirror.v1")));
  const full = {
    source_hub_identifier: toHex(b32(9)),
    source_label: b32(1),
    source_stream_seq: 3,
    source_leaf_hash: b32(2),
    source_receipt_root: b32(3),
    target_label: b32(4),
    mirror_time: 1_700_000_000,
    metadata: new Map([["note", "x"]]),
  };
  const bytes = FEDERATION_MIRROR.encode(full);
  const keys = [...(decodeCborInOrder(bytes, "record") as Map<string, unknown>).keys()];
  assert.deepEqual(keys, Object.keys(full)); // spec-3 §10.2 order, not RFC 8949 order
  assert.deepEqual(FEDERATION_MIRROR.decode(bytes), full);
  const short = record(5, 6);
  assert.equal(Object.keys(FEDERATION_MIRROR.decode(short)).length, 6);
  assert.throws(
    () => FEDERATION_MIRROR.encode({ ...full, target_label: b32(4).subarray(1) }),
    (e) => e instanceof VeenError && e.code === "E.SIZE",
  );
  const swapped = new Map<string, CborValue>([["source_label", b32(1)], ["source_hub_identifier", "x"]]);
  assert.throws(() => FEDERATION_MIRROR.decode(encodeCbor(swapped)), VeenError);
});

Deno.test("mirror index: parent_ids of copies, attested leaves, targets; other entries ignored", () => {
  const s = MIRROR_INDEX.empty();
  const app = schemaIdFor("app.order.v1");
  assert.equal(MIRROR_INDEX.apply(s, entry(1, app, new Uint8Array([0xa0]))), "ignored");
  assert.equal(
    MIRROR_INDEX.apply(s, entry(2, app, new Uint8Array([0xa0]), undefined, { parentId: b32(5) })),
    "applied",
  );
  assert.equal(
    MIRROR_INDEX.apply(s, entry(3, MIRROR_INDEX.schema, record(5, 6), undefined, { parentId: b32(5) })),
    "applied",
  );
  assert.equal(MIRROR_INDEX.apply(s, entry(4, MIRROR_INDEX.schema, new Uint8Array([0xa0]))), "rejected");
  assert.deepEqual(MIRROR_INDEX.toJson(s), {
    copies: [toHex(b32(5))],
    attested: [toHex(b32(5))],
    targets: [toHex(b32(6))],
  });
  assert.throws(() => MIRROR_INDEX.fromJson({ copies: ["zz"], attested: [], targets: [] }));
});

Deno.test("mirror index: merge laws over random logs", () => {
  const app = schemaIdFor("app.order.v1");
  const log = sequence(
    Array.from({ length: 30 }, () => {
      const k = rng.int(3);
      const leaf = 1 + rng.int(8);
      return (seq: number) =>
        k === 0
          ? entry(seq, app, new Uint8Array([0xa0]), undefined, { parentId: b32(leaf) })
          : k === 1
          ? entry(seq, MIRROR_INDEX.schema, record(leaf, 1 + rng.int(3)), undefined, { parentId: b32(leaf) })
          : entry(seq, app, new Uint8Array([0xa0]));
    }),
  );
  checkMergeLaws(MIRROR_INDEX, log, 20);
});
