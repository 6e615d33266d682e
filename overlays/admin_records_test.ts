/**
 * The LCLASS0 and META0+ record bodies through the overlay body codec, property style: random bodies with each
 * optional field present or omitted round-trip byte for byte; every deviation (a key missing, unknown, out of order,
 * null for an omitted optional, a wrong type, a 31-byte bstr(32)) is refused with E.SIZE. And the two views: the
 * last record in stream order wins, and persisted rows load back to the same view.
 */
import assert from "node:assert/strict";
import {
  type CborValue,
  concat,
  encodeCbor,
  schemaIdFor,
  toHex,
  utf8,
  VeenError,
  writeCborHead,
} from "../core/mod.ts";
import { H } from "../core/mod.ts";
import { prng } from "../tests/util.ts";
import { LABEL_CLASS, META_SCHEMA } from "./admin_records.ts";
import { type AdminRecordEntry, LabelClassView, SchemaView, type ViewRow } from "./admin_views.ts";
import type { BodyCodec, BodyRecord } from "./body_codec.ts";

const rng = prng(19);
const text = () => ["user", "wallet", "log", "bulk", "ünïcode ✓", ""][rng.int(6)]!;
const maybe = <T>(v: T): T | undefined => (rng.int(2) === 0 ? undefined : v);

function labelClassBody(): BodyRecord {
  return strip({
    label: rng.bytes(32),
    class: text(),
    sensitivity: maybe(["low", "medium", "high"][rng.int(3)]!),
    retention_hint: maybe(rng.int(2) === 0 ? 0 : rng.int(2 ** 31)),
  });
}

function schemaBody(): BodyRecord {
  return strip({
    schema_id: rng.bytes(32),
    name: text(),
    version: `v${rng.int(100)}`,
    doc_url: maybe(`https://example.invalid/${rng.int(1000)}`),
    owner: maybe(rng.bytes(32)),
    ts: rng.int(2 ** 40),
  });
}

const strip = (r: Record<string, CborValue | undefined>): BodyRecord =>
  Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as BodyRecord;

/** A CBOR map of `entries` in the given order (the codec's own encoder would reorder). */
function rawMap(entries: [string, CborValue][]): Uint8Array {
  const head = new Uint8Array(9);
  const n = writeCborHead(head, 0, 5, entries.length);
  return concat(head.subarray(0, n), ...entries.flatMap(([k, v]) => [encodeCbor(k), encodeCbor(v)]));
}

const refused = (codec: BodyCodec, bytes: Uint8Array, why: RegExp) =>
  assert.throws(
    () => codec.decode(bytes),
    (e) => e instanceof VeenError && e.code === "E.SIZE" && why.test(e.detail),
  );

for (const [codec, make] of [[LABEL_CLASS, labelClassBody], [META_SCHEMA, schemaBody]] as const) {
  Deno.test(`${codec.name}: random bodies round-trip; every deviation is E.SIZE`, () => {
    for (let i = 0; i < 200; i++) {
      const body = make();
      const bytes = codec.encode(body);
      assert.deepEqual(codec.decode(bytes), body);
      assert.deepEqual(codec.fromJson(codec.toJson(body)), body);
      const entries = Object.entries(body) as [string, CborValue][];
      assert.deepEqual(rawMap(entries), bytes, "spec key order, optional keys omitted");
      // A required key missing.
      const required = codec.fields.filter((f) => f.optional !== true).map((f) => f.name);
      const drop = required[rng.int(required.length)]!;
      refused(codec, rawMap(entries.filter(([k]) => k !== drop)), /is missing|out of order/);
      // An unknown key at the end.
      refused(codec, rawMap([...entries, ["extra", 1]]), /unknown key "extra"/);
      // Two neighbouring keys swapped.
      const j = rng.int(entries.length - 1);
      const swapped = [...entries];
      [swapped[j], swapped[j + 1]] = [swapped[j + 1]!, swapped[j]!];
      refused(codec, rawMap(swapped), /out of order|is missing/);
      // An omitted optional key sent as null.
      const optional = codec.fields.find((f) => f.optional === true && body[f.name] === undefined);
      if (optional !== undefined) {
        const withNull = codec.fields.filter((f) => body[f.name] !== undefined || f === optional)
          .map((f): [string, CborValue] => [f.name, body[f.name] ?? null]);
        refused(codec, rawMap(withNull), new RegExp(`${optional.name}`));
      }
    }
  });
}

Deno.test("veen.label.class.v1 and veen.meta.schema.v1: wrong types and sizes are refused, naming the field", () => {
  const label = new Uint8Array(32).fill(7);
  refused(
    LABEL_CLASS,
    rawMap([["label", label.subarray(1)], ["class", "x"]]),
    /label must be a 32-byte string/,
  );
  refused(LABEL_CLASS, rawMap([["label", label], ["class", 5]]), /class must be a text string/);
  refused(LABEL_CLASS, rawMap([["label", label], ["class", "x"], ["retention_hint", "1"]]), /retention_hint/);
  refused(LABEL_CLASS, rawMap([["label", label], ["class", "x".repeat(4097)]]), /longer than 4096/);
  refused(LABEL_CLASS, encodeCbor([label, "x"]), /must be a map/);
  refused(
    META_SCHEMA,
    rawMap([["schema_id", label], ["name", "n"], ["version", "v1"], ["owner", "ab"], ["ts", 1]]),
    /owner must be a 32-byte string/,
  );
  refused(META_SCHEMA, rawMap([["schema_id", label], ["name", "n"], ["version", "v1"]]), /missing "ts"/);
  // The schema ids of the records themselves come from the one table: H(name) for veen.* names.
  assert.equal(toHex(LABEL_CLASS.schemaId), toHex(H(utf8("veen.label.class.v1"))));
  assert.equal(toHex(META_SCHEMA.schemaId), toHex(schemaIdFor("veen.meta.schema.v1")));
  assert.notEqual(toHex(schemaIdFor("test.operation.v1")), toHex(H(utf8("test.operation.v1"))));
});

/** Applies bodies in stream order (seq 1..n) to a view, returning the rows each persisted. */
function fold<V extends LabelClassView | SchemaView>(
  view: V,
  codec: BodyCodec,
  bodies: BodyRecord[],
): ViewRow[] {
  const rows: ViewRow[] = [];
  bodies.forEach((body, i) => {
    const e: AdminRecordEntry = { stream: view.stream, seq: i + 1, codec, body };
    rows.push(...view.apply(e));
  });
  return rows;
}

Deno.test("label class and schema views: the last record in stream order wins; persisted rows load back", () => {
  const keys = [rng.bytes(32), rng.bytes(32), rng.bytes(32)];
  const classBodies: BodyRecord[] = Array.from(
    { length: 60 },
    () => ({ ...labelClassBody(), label: keys[rng.int(3)]! }),
  );
  const classes = new LabelClassView();
  const rows = fold(classes, LABEL_CLASS, classBodies);
  for (const k of keys) {
    const lastIdx = classBodies.findLastIndex((b) => toHex(b.label as Uint8Array) === toHex(k));
    const last = classBodies[lastIdx]!;
    const got = classes.get(k)!;
    assert.deepEqual(
      [got.class, got.sensitivity, got.retentionHint, got.seq],
      [last.class, last.sensitivity, last.retention_hint, lastIdx + 1],
    );
  }
  const reloaded = new LabelClassView();
  for (const r of rows) reloaded.load(r);
  assert.deepEqual(reloaded.list(), classes.list());

  const schemaBodies: BodyRecord[] = Array.from(
    { length: 60 },
    () => ({ ...schemaBody(), schema_id: keys[rng.int(3)]! }),
  );
  const schemas = new SchemaView();
  const srows = fold(schemas, META_SCHEMA, schemaBodies);
  for (const k of keys) {
    const last = schemaBodies.findLast((b) => toHex(b.schema_id as Uint8Array) === toHex(k))!;
    const got = schemas.get(k)!;
    assert.deepEqual([got.name, got.version, got.docUrl, got.owner, got.ts], [
      last.name,
      last.version,
      last.doc_url,
      last.owner,
      last.ts,
    ]);
  }
  const sreloaded = new SchemaView();
  for (const r of srows) sreloaded.load(r);
  assert.deepEqual(sreloaded.list(), schemas.list());
  // A view ignores the other stream's records.
  assert.deepEqual(
    new SchemaView().apply({ stream: "label_class", seq: 1, codec: LABEL_CLASS, body: classBodies[0]! }),
    [],
  );
});
