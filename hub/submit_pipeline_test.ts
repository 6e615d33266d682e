import assert from "node:assert/strict";
import {
  authRef,
  concat,
  DEFAULT_LIMITS,
  DEFAULT_PROFILE,
  encodeCapToken,
  encodeMsg,
  generateHpkeKeyPair,
  issueCapToken,
  type Msg,
  signingKeyFromSeed,
  streamIdFor,
  VeenError,
} from "../core/mod.ts";
import { Writer } from "../tests/fixture.ts";
import { Admission } from "./admission.ts";
import { AdminPlane } from "./admin_plane.ts";
import { realmOf } from "./realm.ts";
import { memoryViewStore } from "./view_store.ts";
import { BodyLimits } from "./body_limits.ts";
import type { Slots } from "./slots.ts";
import { CryptoPool } from "./crypto_pool.ts";
import { Logger } from "./logger.ts";
import { MemoryStore } from "./memory_store.ts";
import { Metrics } from "./metrics.ts";
import { Sequencer } from "./sequencer.ts";
import { SubmitPipeline } from "./submit_pipeline.ts";

const HUB = signingKeyFromSeed(new Uint8Array(32).fill(7));
const MAX_MSG = 4096;
const REALM_KEY = generateHpkeKeyPair(() => new Uint8Array(32).fill(9));

/**
 * A pipeline with admission on over an in-memory store, and the submit log lines it wrote; `o.verify` wraps the
 * signature verification of stage 2 (the receipts are still signed by the real pool).
 */
async function pipeline(
  o: { verify?: (real: CryptoPool) => CryptoPool["verify"]; stage2QueueMax?: number } = {},
) {
  const store = new MemoryStore();
  const metrics = new Metrics();
  const crypto = await CryptoPool.start(HUB.secret, 0);
  const lines: Record<string, unknown>[] = [];
  const log = new Logger("info", "hub", "standalone", (l) => void lines.push(JSON.parse(l)));
  const limits = { ...DEFAULT_LIMITS, maxMsgBytes: MAX_MSG };
  const admission = new Admission(store, {
    required: true,
    trustedIssuers: [HUB.public],
    routingKey: new Uint8Array(0),
    maxCapChain: limits.maxCapChain,
    labelEpochs: false,
    epochSec: 60,
    clockSkewEpochs: 1,
  });
  let fatal: unknown;
  const sequencer = new Sequencer(store, crypto, metrics, {
    batchMax: 8,
    batchWaitMs: 0,
    queueMax: 100,
    onFatal: (e) => (fatal = e),
  });
  const bodies = new BodyLimits({
    idleTimeoutMs: 5000,
    totalTimeoutMs: 5000,
    maxReads: 16,
    maxReadsPerPeer: 16,
    maxBufferBytes: 1 << 20,
  });
  const admin = await AdminPlane.open({
    realm: realmOf("default", HUB, new Uint8Array(0), {
      public: REALM_KEY.public,
      secrets: [REALM_KEY.secret],
    }),
    adminKeys: [],
    hubPk: HUB.public,
    openHub: false,
    padBlock: DEFAULT_PROFILE.padBlock,
    store,
    views: memoryViewStore(),
    admission,
    log,
  });
  const p = new SubmitPipeline({
    limits,
    profileId: new Writer("x").msg().profileId,
    bodies,
    crypto: o.verify === undefined ? crypto : wrapVerify(crypto, o.verify(crypto)),
    ...(o.stage2QueueMax === undefined ? {} : { stage2QueueMax: o.stage2QueueMax }),
    admission,
    admin,
    sequencer,
    metrics,
    log,
    isReady: () => sequencer.healthy,
    now: () => 1_700_000_000_000,
  });
  /** The code the pipeline refuses `m` with, or "ok". */
  const codeOf = async (m: Msg | Uint8Array): Promise<string> => {
    const body = m instanceof Uint8Array ? m : encodeMsg(m);
    try {
      await p.submit(new Request("http://hub/submit", { method: "POST", body: body as BodyInit }), "peer");
      return "ok";
    } catch (e) {
      assert.ok(e instanceof VeenError, String(e));
      return e.code;
    }
  };
  const close = () => {
    bodies.close();
    crypto.close();
  };
  /** Installs a capability of the hub for `w` on `stream` and returns its auth_ref. */
  const authorized = async (w: Writer, stream: string, rate?: { perSec: number; burst: number }) => {
    const tok = issueCapToken({
      issuerSecret: HUB.secret,
      issuerPk: HUB.public,
      subjectPk: w.key.public,
      streamIds: [streamIdFor(stream)],
      ttl: 600,
      ...(rate === undefined ? {} : { rate }),
    });
    await admission.authorize(encodeCapToken(tok), 1_700_000_000);
    return authRef(tok);
  };
  return { p, store, metrics, lines, authorized, codeOf, close, fatal: () => fatal, sequencer };
}

/** `m` with its signature broken (the last byte flipped). */
function badSig(m: Msg): Msg {
  const sig = m.sig.slice();
  sig[63]! ^= 1;
  return { ...m, sig };
}

Deno.test("submit pipeline: each stage refuses with its spec code before any later stage runs (OP0.1, SH0.4)", async () => {
  const t = await pipeline();
  try {
    const w = new Writer("pipe/order", 3);
    // The clock stands still: no token comes back.
    const ref = await t.authorized(w, "pipe/order", { perSec: 1, burst: 2 });
    const other = new Writer("pipe/other", 3); // same client, a label the capability does not allow

    // Each message fails its stage and every later one (client_seq 5 where 1 is next).
    const seq5 = (o: { authRef?: Uint8Array | null; bodyLen?: number } = {}) =>
      w.msg({ clientSeq: 5, authRef: ref, ...o });

    // 1. bounds: oversized, and also wrong profile, bad signature, no auth_ref, wrong client_seq.
    const huge = badSig({ ...seq5({ authRef: null, bodyLen: MAX_MSG }), profileId: new Uint8Array(32) });
    assert.equal(await t.codeOf(huge), "E.SIZE");
    // 2. structure: wrong profile_id (and a bad signature, no auth_ref, wrong client_seq).
    assert.equal(
      await t.codeOf(badSig({ ...seq5({ authRef: null }), profileId: new Uint8Array(32) })),
      "E.PROFILE",
    );
    //    ... and ct_hash not H(ciphertext) (I1), signature over the wrong ct_hash.
    assert.equal(
      await t.codeOf(badSig({ ...seq5({ authRef: null }), ctHash: new Uint8Array(32) })),
      "E.SIZE",
    );
    // 3. signature: a bad signature (and no auth_ref, wrong client_seq).
    assert.equal(await t.codeOf(badSig(seq5({ authRef: null }))), "E.SIG");
    // 4. capability: no auth_ref; a label the capability does not allow (both with a wrong client_seq).
    assert.equal(await t.codeOf(seq5({ authRef: null })), "E.AUTH");
    assert.equal(await t.codeOf(other.msg({ clientSeq: 5, authRef: ref })), "E.CAP");
    // 5. sequence before rate: a refused MSG takes no token, so both tokens are left for 1 and 2.
    assert.equal(await t.codeOf(seq5()), "E.SEQ");
    assert.equal(await t.codeOf(w.msg({ clientSeq: 1, authRef: ref })), "ok");
    assert.equal(await t.codeOf(w.msg({ clientSeq: 1, authRef: ref })), "E.DUP");
    assert.equal(await t.codeOf(w.msg({ clientSeq: 2, authRef: ref })), "ok");
    assert.equal(await t.codeOf(seq5()), "E.SEQ", "a MSG out of sequence is E.SEQ even with no token left");
    // ... rate: in sequence, no token left.
    assert.equal(await t.codeOf(w.msg({ clientSeq: 3, authRef: ref })), "E.RATE");
    assert.equal(t.store.stats().entries, 2, "refused submissions left no trace");

    // Every outcome is counted and logged, the accepted ones with the stream_seq the sequencer assigned.
    assert.equal(t.metrics.submitOk, 2);
    const submits = t.lines.filter((l) => l.msg === "submit");
    assert.deepEqual(submits.map((l) => [l.code, l.stream_seq]), [
      ["E.SIZE", null],
      ["E.PROFILE", null],
      ["E.SIZE", null],
      ["E.SIG", null],
      ["E.AUTH", null],
      ["E.CAP", null],
      ["E.SEQ", null],
      [null, 1],
      ["E.DUP", null],
      [null, 2],
      ["E.SEQ", null],
      ["E.RATE", null],
    ]);
    assert.equal(
      t.metrics.verifyLatency.counts.reduce((a, b) => a + b),
      8,
      "verify latency for each MSG past the signature stage",
    );
    assert.equal(t.metrics.endToEndLatency.counts.reduce((a, b) => a + b), 2);
  } finally {
    t.close();
  }
});

Deno.test("submit pipeline: commit is the last stage: a failed commit is E.UNAVAILABLE and later submits are refused at once", async () => {
  const t = await pipeline();
  try {
    t.store.commit = () => Promise.reject(new Error("disk gone"));
    const w = new Writer("pipe/commit", 4);
    assert.equal(await t.codeOf(w.msg({ authRef: await t.authorized(w, "pipe/commit") })), "E.UNAVAILABLE");
    assert.match(String((t.fatal() as Error).message), /disk gone/);
    // Not ready comes before the bounds: even an oversized MSG is E.UNAVAILABLE now.
    assert.equal(await t.codeOf(new Uint8Array(MAX_MSG + 1)), "E.UNAVAILABLE");
  } finally {
    t.close();
  }
});

Deno.test("submit pipeline: an oversized body is refused by the bounds stage, before a byte of it is decoded", async () => {
  const t = await pipeline();
  try {
    const req = new Request("http://hub/submit", {
      method: "POST",
      body: new Uint8Array(MAX_MSG + 1).fill(0xff) as BodyInit, // not even CBOR
    });
    await assert.rejects(
      t.p.submit(req, "peer"),
      (e: unknown) =>
        e instanceof VeenError && e.code === "E.SIZE" && /^Body .*4096-byte limit/.test(e.detail),
    );
  } finally {
    t.close();
  }
});

Deno.test("submit pipeline: stage 2 full (stage2_queue_max) is 503 E.UNAVAILABLE with Retry-After, then frees", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inVerify = new Promise<void>((r) => (entered = r));
  // The first verification waits until the test releases it: that submission holds stage 2's only place.
  const t = await pipeline({
    stage2QueueMax: 1,
    verify: (real) => async (pk, d, sig) => {
      entered();
      await held;
      return real.verify(pk, d, sig);
    },
  });
  const req = (m: Msg) =>
    new Request("http://hub/submit", { method: "POST", body: encodeMsg(m) as BodyInit });
  try {
    const w = new Writer("stage2/full", 4);
    const ref = await t.authorized(w, "stage2/full");
    const first = t.p.submit(req(w.msg({ authRef: ref })), "peer");
    await inVerify;
    assert.equal(t.p.stageReports()[2]!.queue_depth, 1);
    await assert.rejects(
      t.p.submit(req(w.msg({ authRef: ref })), "peer"),
      (e) =>
        e instanceof VeenError && e.code === "E.UNAVAILABLE" && e.retryAfter === 1 &&
        /Stage 2 is full/.test(e.detail),
    );
    assert.equal(t.p.stats.log(1)[0]!.stage, "stage2-crypto-auth");
    release();
    await first;
    assert.equal(t.p.stageReports()[2]!.queue_depth, 0);
    w.seq = 1;
    await t.p.submit(req(w.msg({ authRef: ref })), "peer");
  } finally {
    await t.sequencer.drain();
    t.close();
  }
});

Deno.test("submit pipeline: batch MSGs in stage 2 count as bulk on its way to the sequencer, /submit MSGs do not", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let entered = 0;
  let allIn!: () => void;
  const inVerify = new Promise<void>((r) => (allIn = r));
  const t = await pipeline({
    verify: (real) => async (pk, d, sig) => {
      if (++entered === 4) allIn();
      await held;
      return real.verify(pk, d, sig);
    },
  });
  try {
    const w = new Writer("stage2/bulk", 4);
    const ref = await t.authorized(w, "stage2/bulk");
    const one = new Writer("stage2/one", 5);
    const oneRef = await t.authorized(one, "stage2/one");
    const single = t.p.submit(
      new Request("http://hub/submit", {
        method: "POST",
        body: encodeMsg(one.msg({ authRef: oneRef })) as BodyInit,
      }),
      "peer",
    );
    const body = concat(...[1, 2, 3].map(() => encodeMsg(w.msg({ authRef: ref }))));
    const batch = t.p.submitBatch(
      new Request("http://hub/submit_batch", {
        method: "POST",
        body: body as BodyInit,
        headers: { "content-length": String(body.length) }, // reserves its own size, not max_batch_bytes
      }),
      "peer",
    );
    await inVerify;
    assert.equal(t.p.stageReports()[2]!.queue_depth, 4);
    assert.equal(
      t.p.batchItemsInStage2,
      3,
      "the group commit delay waits for the batch's 3, not the /submit",
    );
    release();
    await single;
    await batch;
    assert.equal(t.p.batchItemsInStage2, 0);
  } finally {
    release();
    await t.sequencer.drain();
    t.close();
  }
});

/** `real` with its verifications answered by `verify` instead. */
function wrapVerify(real: CryptoPool, verify: CryptoPool["verify"]): CryptoPool {
  return {
    verifyInto: (pk: Uint8Array, d: Uint8Array, sig: Uint8Array, slots: Slots<boolean>, k: number) =>
      void verify(pk, d, sig).then((v) => slots.put(k, v), (e) => slots.fail(k, e)),
    signInto: (d: Uint8Array, slots: Slots<Uint8Array>, k: number) => real.signInto(d, slots, k),
  } as unknown as CryptoPool;
}
