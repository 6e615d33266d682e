import assert from "node:assert/strict";
import { ADMISSION_LOG_MAX, AdmissionStats } from "./admission_stages.ts";

const T0 = 1_700_000_000_000;
const MSG = { label: new Uint8Array(32).fill(0xab), clientId: new Uint8Array(32).fill(0xcd) };

Deno.test("AdmissionStats: error rates are refusals over submissions received in the last 60 s", () => {
  const clock = { ms: T0 };
  const s = new AdmissionStats(() => clock.ms);
  assert.equal(s.errRates("stage1-structure")["E.SIZE"], null);
  for (let i = 0; i < 4; i++) s.received();
  s.refused("stage1-structure", "E.SIZE", "bad", MSG);
  assert.equal(s.errRates("stage1-structure")["E.SIZE"], 0.25);
  assert.equal(s.errRates("stage0-prefilter")["E.SIZE"], 0);
  clock.ms += 59_999; // still within the window (the bucket of T0's second is the oldest kept)
  assert.equal(s.errRates("stage1-structure")["E.SIZE"], 0.25);
  clock.ms = T0 + 60_000;
  assert.equal(s.errRates("stage1-structure")["E.SIZE"], null);
});

Deno.test("AdmissionStats: the log keeps the last 1024 refusals without payloads, filterable by code", () => {
  const s = new AdmissionStats(() => T0);
  s.refused("stage0-prefilter", "E.AUTH", "x".repeat(500));
  for (let i = 0; i < ADMISSION_LOG_MAX; i++) {
    s.refused(
      i % 2 === 0 ? "stage2-crypto-auth" : "stage1-structure",
      i % 2 === 0 ? "E.SIG" : "E.SIZE",
      `n${i}`,
      MSG,
    );
  }
  const all = s.log(ADMISSION_LOG_MAX + 10);
  assert.equal(all.length, ADMISSION_LOG_MAX);
  assert.equal(all[0]!.detail, "n0", "the oldest (E.AUTH) event was overwritten");
  assert.equal(all.at(-1)!.detail, `n${ADMISSION_LOG_MAX - 1}`);
  assert.deepEqual(all[0], {
    ts: T0 / 1000,
    code: "E.SIG",
    stage: "stage2-crypto-auth",
    label_prefix: "abababab",
    client_id_prefix: "cdcdcdcd",
    detail: "n0",
  });
  const sizes = s.log(3, new Set(["E.SIZE"]));
  assert.deepEqual(sizes.map((e) => e.detail), [1019, 1021, 1023].map((i) => `n${i}`));
  const fresh = new AdmissionStats(() => T0);
  fresh.refused("stage0-prefilter", "E.AUTH", "y".repeat(500));
  assert.equal(fresh.log(1)[0]!.detail.length, 200);
  assert.equal(fresh.log(1)[0]!.label_prefix, null);
});
