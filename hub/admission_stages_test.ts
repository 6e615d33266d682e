import assert from "node:assert/strict";
import { DEFAULT_LIMITS, encodeMsg, signingKeyFromSeed, VeenError } from "../core/mod.ts";
import { Writer } from "../tests/fixture.ts";
import { Admission } from "./admission.ts";
import { ADMISSION_LOG_MAX, AdmissionStats } from "./admission_stages.ts";
import { BodyLimits } from "./body_limits.ts";
import { CryptoPool } from "./crypto_pool.ts";
import { Logger } from "./logger.ts";
import { MemoryStore } from "./memory_store.ts";
import { Metrics } from "./metrics.ts";
import { Sequencer } from "./sequencer.ts";
import { SubmitPipeline } from "./submit_pipeline.ts";

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

Deno.test("submit pipeline: stage 2 full (stage2_queue_max) is 503 E.UNAVAILABLE with Retry-After, then frees", async () => {
  const hubKey = signingKeyFromSeed(new Uint8Array(32).fill(9));
  const store = new MemoryStore();
  const metrics = new Metrics();
  const real = await CryptoPool.start(hubKey.secret, 0);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inVerify = new Promise<void>((r) => (entered = r));
  // The first verification waits until the test releases it: that submission holds stage 2's only place.
  const crypto = {
    verify: async (pk: Uint8Array, d: Uint8Array, sig: Uint8Array) => {
      entered();
      await held;
      return real.verify(pk, d, sig);
    },
    signOne: (d: Uint8Array) => real.signOne(d),
  } as unknown as CryptoPool;
  const sequencer = new Sequencer(store, real, metrics, {
    batchMax: 8,
    batchWaitMs: 0,
    queueMax: 10,
    onFatal: () => {},
  });
  const bodies = new BodyLimits({
    idleTimeoutMs: 5000,
    totalTimeoutMs: 5000,
    maxReads: 16,
    maxReadsPerPeer: 16,
    maxBufferBytes: 1 << 20,
  });
  const p = new SubmitPipeline({
    limits: DEFAULT_LIMITS,
    profileId: new Writer("x").msg().profileId,
    bodies,
    crypto,
    admission: new Admission(store, {
      required: false,
      trustedIssuers: [],
      routingKey: new Uint8Array(0),
      maxCapChain: 8,
      labelEpochs: false,
      epochSec: 60,
      clockSkewEpochs: 1,
    }),
    sequencer,
    metrics,
    log: new Logger("error", "hub", "standalone", () => {}),
    isReady: () => true,
    now: () => T0,
    stage2QueueMax: 1,
  });
  const req = (b: Uint8Array) => new Request("http://hub/submit", { method: "POST", body: b as BodyInit });
  try {
    const w = new Writer("stage2/full", 4);
    const first = p.submit(req(encodeMsg(w.msg())), "peer");
    await inVerify;
    assert.equal(p.stageReports()[2]!.queue_depth, 1);
    await assert.rejects(
      p.submit(req(encodeMsg(w.msg())), "peer"),
      (e) =>
        e instanceof VeenError && e.code === "E.UNAVAILABLE" && e.retryAfter === 1 &&
        /Stage 2 is full/.test(e.detail),
    );
    assert.equal(p.stats.log(1)[0]!.stage, "stage2-crypto-auth");
    release();
    await first;
    assert.equal(p.stageReports()[2]!.queue_depth, 0);
    w.seq = 1;
    await p.submit(req(encodeMsg(w.msg())), "peer");
  } finally {
    await sequencer.drain();
    bodies.close();
    real.close();
  }
});
