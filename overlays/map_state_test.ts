import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { configurationMapBytes, counterMapBytes, MAP_STATE_CLASSES, mapStateClass } from "./map_state.ts";
import type { CounterState } from "./counter.ts";
import type { LwwState } from "./lww.ts";

const hex = (s: string) => s.replace(/\s+/g, "");

Deno.test("counterMapBytes(): RFC 8949 §4.2.1 bytes, keys in encoded order, uints up to 2^64-1", () => {
  const s: CounterState = new Map([
    ["aa".repeat(32), 5n],
    ["01".repeat(32), 2n ** 64n - 1n],
    ["02".repeat(32), 300n],
  ]);
  assert.equal(
    toHex(counterMapBytes(s)),
    hex(`a3
      5820 ${"01".repeat(32)} 1b ffffffffffffffff
      5820 ${"02".repeat(32)} 19 012c
      5820 ${"aa".repeat(32)} 05`),
  );
  assert.equal(toHex(counterMapBytes(new Map())), "a0");
  assert.throws(() => counterMapBytes(new Map([["01".repeat(32), 2n ** 64n]])), RangeError);
});

Deno.test("configurationMapBytes(): shorter encoded keys first, each value [ts, stream_seq, value]", () => {
  const s: LwwState = new Map([
    ["6161", { ts: 0, seq: 24, value: new Uint8Array([1, 2]) }], // "aa"
    ["62", { ts: 1000, seq: 3, value: new Uint8Array([0xff]) }], // "b"
    ["", { ts: 1, seq: 2, value: new Uint8Array(0) }],
  ]);
  assert.equal(
    toHex(configurationMapBytes(s)),
    hex(`a3
      40 83 01 02 40
      4162 83 1903e8 03 41ff
      426161 83 00 1818 420102`),
  );
});

Deno.test("mapStateBytes(): the same summary in any insertion order gives the same bytes", () => {
  const a: CounterState = new Map([["bb".repeat(32), 1n], ["aa".repeat(32), 2n]]);
  const b: CounterState = new Map([["aa".repeat(32), 2n], ["bb".repeat(32), 1n]]);
  const counter = mapStateClass("counter.map")!;
  assert.deepEqual(counter.serialize(a), counter.serialize(b));
  assert.deepEqual(counter.serialize(a), counterMapBytes(a));
  assert.equal(mapStateClass("configuration.map")?.fold.kind, "crdt.lww.v1");
  assert.equal(mapStateClass("wallet.ledger"), undefined);
  assert.equal(mapStateClass("toString"), undefined);
  assert.deepEqual(Object.keys(MAP_STATE_CLASSES), ["counter.map", "configuration.map"]);
});
