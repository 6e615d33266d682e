/** The selftest's own building blocks: seeded randomness, the independent CBOR encoder, crafted MSG sizes. */
import assert from "node:assert/strict";
import { type CborValue, decodeCbor, decodeMsg, encodeCbor, toHex, VeenError } from "../core/mod.ts";
import { DEVIATIONS, encodeCanonicalIndependent, encodeWithDeviation } from "./cbor_loose.ts";
import { Crafter } from "./craft.ts";
import { mutate } from "./fuzz_suite.ts";
import { parseSeed, Rng } from "./rng.ts";
import { cpuShares, parseProcStat } from "./bench.ts";

Deno.test("Rng is deterministic per seed and forks independently", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  assert.deepEqual(a.bytes(16), b.bytes(16));
  assert.notDeepEqual(new Rng(1).bytes(16), new Rng(2).bytes(16));
  assert.deepEqual(new Rng(9).fork("x").bytes(8), new Rng(9).fork("x").bytes(8));
  assert.notDeepEqual(new Rng(9).fork("x").bytes(8), new Rng(9).fork("y").bytes(8));
  assert.equal(parseSeed("4294967295"), 4294967295);
  assert.throws(() => parseSeed("4294967296"));
  assert.throws(() => parseSeed("-1"));
});

Deno.test("the independent encoder agrees with core; every deviation changes the bytes and is refused", () => {
  const values: CborValue[] = [
    0,
    23,
    24,
    255,
    256,
    65536,
    2 ** 32,
    2 ** 53 - 1,
    -1,
    -1000,
    "",
    "héllo",
    new Uint8Array(0),
    new Uint8Array(300).fill(7),
    [1, [2, [3]], null, true, false],
    new Map<number | string, CborValue>([[10, 1], [1, "a"], [100, [new Uint8Array(2)]]]),
    new Map<number | string, CborValue>([["code", "E.SIZE"], ["detail", "x"]]),
  ];
  const r = new Rng(5);
  for (const v of values) {
    const canon = encodeCbor(v);
    assert.equal(toHex(encodeCanonicalIndependent(v)), toHex(canon));
    for (const d of DEVIATIONS) {
      const bad = encodeWithDeviation(v, d, (n) => r.int(n));
      if (bad === undefined) continue;
      assert.notEqual(toHex(bad.bytes), toHex(canon), `${d} on ${JSON.stringify(String(v))} changed nothing`);
      assert.throws(
        () => decodeCbor(bad.bytes),
        (e) => e instanceof VeenError && e.code === "E.SIZE",
        `${d}`,
      );
    }
  }
});

Deno.test("Crafter builds MSGs of an exact size; mutate never alters its input", () => {
  const w = new Crafter("unit", "unit/size");
  for (const size of [300, 1000, 4096, 4097, 70_000]) {
    const b = w.bytesOfSize(size);
    assert.equal(b.length, size);
    assert.equal(decodeMsg(b, size).clientSeq, w.seq);
  }
  const base = encodeCbor(new Map<number, CborValue>([[1, new Uint8Array(200).fill(3)]]));
  const before = toHex(base);
  const r = new Rng(3);
  for (let i = 0; i < 500; i++) mutate(base, r);
  assert.equal(toHex(base), before);
});

Deno.test("the test-only hub keys are off by default, set by env, warned about and documented", async () => {
  const { applyEnv, CONFIG_KEYS, defaultConfig, unsafeKeysOn } = await import("../hub/config.ts");
  assert.deepEqual(unsafeKeysOn(defaultConfig("/d")), []);
  const doc = await Deno.readTextFile(new URL("../docs/hub-config.md", import.meta.url));
  for (const k of CONFIG_KEYS) assert.ok(doc.includes(`\`${k}\``), `docs/hub-config.md does not list ${k}`);
  const unsafe = CONFIG_KEYS.filter((k) => k.startsWith("unsafe_"));
  assert.deepEqual(unsafe, [
    "unsafe_disable_size_bounds",
    "unsafe_skip_sig_check",
    "unsafe_cap_ttl_millis",
    "unsafe_skip_revocations",
    "unsafe_skip_pow_check",
    "unsafe_skip_admin_fold",
    "unsafe_skip_authority",
  ]);
  for (const key of unsafe) {
    const c = defaultConfig("/d");
    applyEnv(c, { [`VEEN_${key.toUpperCase()}`]: "1" });
    assert.deepEqual(unsafeKeysOn(c).map((u) => u.key), [key]);
    assert.match(doc, new RegExp(`\`${key}\`.*TEST-ONLY`));
  }
});

Deno.test("bench: /proc/stat's cpu line gives busy, idle and stolen time, and their shares between readings", () => {
  const a = parseProcStat("cpu  100 5 20 800 10 1 4 10 0 0\ncpu0 50 2 10 400 5 0 2 5 0 0\n");
  assert.deepEqual(a, { busy: 1300, idle: 8100, steal: 100 });
  const b = parseProcStat("cpu  160 5 40 830 10 1 4 40 0 0\n")!;
  assert.deepEqual(cpuShares(a!, b), { busyPct: 57.1, idlePct: 21.4, stealPct: 21.4 });
  assert.equal(parseProcStat("cpu0 1 2 3\n"), undefined);
  assert.equal(parseProcStat("cpu  1 2 x 4 5 6 7 8\n"), undefined);
});
