import assert from "node:assert/strict";
import { type CborValue, encodeCbor, toHex, utf8, VeenError } from "../core/mod.ts";
import { FED_AUTHORITY, LABEL_CLASS, META_SCHEMA, REVOCATION } from "./admin_records.ts";
import { BodyCodec, type BodyField, MAX_BODY_STRING } from "./body_codec.ts";
import { GCNT_BODY } from "./counter.ts";
import { LWW_BODY } from "./lww.ts";
import { ORSET_BODY } from "./orset.ts";
import { RPC_REPLY_BODY, RPC_REQUEST_BODY } from "./rpc.ts";

/** A small deterministic PRNG (xorshift32). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return {
    int: (n: number) => next() % n,
    bytes: (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff),
  };
}

type Rng = ReturnType<typeof rng>;

function randomValue(f: BodyField, r: Rng): CborValue {
  switch (f.type) {
    case "bytes32":
      return r.bytes(32);
    case "bytes":
      return r.bytes(r.int(40));
    case "text":
      return f.oneOf !== undefined ? f.oneOf[r.int(f.oneOf.length)]! : "t".repeat(r.int(20)) + "é";
    case "uint":
      return [0, 23, 24, 255, 256, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER][r.int(8)]!;
    case "bool":
      return r.int(2) === 0;
    case "bytes32[]":
      return Array.from({ length: r.int(4) }, () => r.bytes(32));
    case "text[]":
      return Array.from({ length: r.int(4) }, (_, i) => `x${i}`);
    case "any":
      return new Map<string, CborValue>([["b", 1], ["a", [r.bytes(3), "z", null, true]]]);
  }
}

function randomRecord(c: BodyCodec, r: Rng): Record<string, CborValue | undefined> {
  const out: Record<string, CborValue | undefined> = {};
  for (const f of c.fields) if (f.optional !== true || r.int(2) === 0) out[f.name] = randomValue(f, r);
  return out;
}

const CODECS = [
  FED_AUTHORITY,
  REVOCATION,
  LABEL_CLASS,
  META_SCHEMA,
  RPC_REQUEST_BODY,
  RPC_REPLY_BODY,
  LWW_BODY,
  ORSET_BODY,
  GCNT_BODY,
];

const throwsSize = (f: () => unknown, re: RegExp) =>
  assert.throws(f, (e) => e instanceof VeenError && e.code === "E.SIZE" && re.test(e.detail));

Deno.test("body codec: random records round-trip; keys are in the spec's order, optional keys omitted", () => {
  const r = rng(7);
  for (const c of CODECS) {
    for (let i = 0; i < 200; i++) {
      const rec = randomRecord(c, r);
      const bytes = c.encode(rec);
      const back = c.decode(bytes);
      const present = c.fields.map((f) => f.name).filter((n) => rec[n] !== undefined);
      assert.deepEqual(Object.keys(back), present);
      assert.deepEqual(back, Object.fromEntries(present.map((n) => [n, rec[n]])));
      assert.deepEqual(c.encode(back), bytes);
      // JSON carries bytes as hex, which it can give back as bytes only where the schema says bytes.
      if (!c.fields.some((f) => f.type === "any")) assert.deepEqual(c.fromJson(c.toJson(back)), back);
    }
  }
});

Deno.test("body codec: the revocation body is its keys in spec order, not RFC 8949 order", () => {
  const bytes = REVOCATION.encode({ kind: "auth-ref", target: new Uint8Array(32), ts: 5 });
  // a3 (map of 3) 64 "kind" ... 66 "target" ... 62 "ts" 05
  assert.equal(toHex(bytes.subarray(0, 6)), "a3646b696e64");
  assert.equal(toHex(bytes.subarray(bytes.length - 4)), "62747305");
  // The canonical (sorted) encoding of the same map is refused.
  const sorted = encodeCbor(
    new Map<string, CborValue>([["ts", 5], ["kind", "auth-ref"], ["target", new Uint8Array(32)]]),
  );
  throwsSize(() => REVOCATION.decode(sorted), /out of order/);
});

Deno.test("body codec: missing, unknown, misordered keys, wrong types and null for optional are refused", () => {
  const ok = { kind: "client-id", target: new Uint8Array(32), reason: "r", ts: 1, ttl: 2 };
  const enc = (entries: [string, CborValue][]) => {
    // spec-order writer for crafted maps
    const c = new BodyCodec("t", entries.map(([name]) => ({ name, type: "any" as const })));
    return c.encode(Object.fromEntries(entries));
  };
  const base = Object.entries(ok) as [string, CborValue][];
  throwsSize(() => REVOCATION.decode(enc(base.filter(([k]) => k !== "ts"))), /missing "ts"/);
  throwsSize(() => REVOCATION.decode(enc([...base, ["extra", 1]])), /unknown key "extra"/);
  throwsSize(() => REVOCATION.decode(enc([base[1]!, base[0]!, ...base.slice(2)])), /out of order/);
  throwsSize(
    () => REVOCATION.decode(enc(base.map(([k, v]) => [k, k === "ts" ? "1" : v]))),
    /ts must be an unsigned/,
  );
  throwsSize(
    () => REVOCATION.decode(enc(base.map(([k, v]) => [k, k === "reason" ? null : v]))),
    /reason must be a text/,
  );
  throwsSize(
    () => REVOCATION.decode(enc(base.map(([k, v]) => [k, k === "kind" ? "everything" : v]))),
    /kind must be one of/,
  );
  throwsSize(
    () => REVOCATION.decode(enc(base.map(([k, v]) => [k, k === "target" ? new Uint8Array(31) : v]))),
    /target must be a 32-byte/,
  );
  throwsSize(() => REVOCATION.encode({ ...ok, ttl: -1 }), /ttl must be an unsigned/);
  throwsSize(() => REVOCATION.encode({ ...ok, nope: 1 }), /no field "nope"/);
  throwsSize(() => REVOCATION.decode(new Uint8Array([0x80])), /must be a map/);
  throwsSize(() => REVOCATION.decode(new Uint8Array([0xa1, 0x61])), /Cannot decode/);
});

Deno.test("body codec: non-minimal integers, floats and over-long strings are refused", () => {
  const good = REVOCATION.encode({ kind: "auth-ref", target: new Uint8Array(32), ts: 5 });
  const nonMinimal = new Uint8Array([...good.subarray(0, good.length - 1), 0x18, 0x05]); // 5 as 0x18 0x05
  nonMinimal[0] = 0xa3;
  throwsSize(() => REVOCATION.decode(nonMinimal), /more bytes than necessary|Non-canonical/);
  const float = new Uint8Array([...good.subarray(0, good.length - 1), 0xf9, 0x3c, 0x00]); // half float 1.0
  throwsSize(() => REVOCATION.decode(float), /float|Non-canonical/); // cborg reads 1.0 as 1: re-encoding catches it
  const long = "x".repeat(MAX_BODY_STRING + 1);
  throwsSize(() => LABEL_CLASS.encode({ label: new Uint8Array(32), class: long }), /longer than 4096/);
  assert.doesNotThrow(() =>
    LABEL_CLASS.encode({ label: new Uint8Array(32), class: "x".repeat(MAX_BODY_STRING) })
  );
  const anyCodec = new BodyCodec("a", [{ name: "v", type: "any" }]);
  throwsSize(() => anyCodec.encode({ v: [utf8("y".repeat(MAX_BODY_STRING + 1))] }), /longer than 4096/);
});

Deno.test("body codec: fromJson takes hex where the schema says bytes and refuses fractions", () => {
  const rec = REVOCATION.fromJson({ kind: "cap-token", target: "ab".repeat(32), ts: 3 });
  assert.equal(toHex(rec.target as Uint8Array), "ab".repeat(32));
  throwsSize(() => REVOCATION.fromJson({ kind: "cap-token", target: "zz", ts: 3 }), /hex/);
  throwsSize(() => REVOCATION.fromJson({ kind: "cap-token", target: "ab".repeat(32), ts: 1.5 }), /integers/);
  throwsSize(() => REVOCATION.fromJson([]), /JSON object/);
});

Deno.test("body codec: a bool field takes true and false only, also from JSON", () => {
  const c = new BodyCodec("b", [{ name: "ok", type: "bool" }, { name: "n", type: "uint", optional: true }]);
  assert.equal(toHex(c.encode({ ok: true })), "a1626f6bf5");
  assert.deepEqual(c.decode(c.encode({ ok: false, n: 1 })), { ok: false, n: 1 });
  assert.deepEqual(c.fromJson({ ok: true }), { ok: true });
  throwsSize(() => c.encode({ ok: 1 }), /b\.ok must be a boolean/);
  throwsSize(() => c.encode({ ok: null }), /b\.ok must be a boolean/);
  throwsSize(() => c.decode(new Uint8Array([0xa1, 0x62, 0x6f, 0x6b, 0x01])), /b\.ok must be a boolean/);
  throwsSize(() => c.fromJson({ ok: "true" }), /b\.ok must be a boolean/);
});
