/**
 * Conformance scenarios A-D of spec 004 §20 against a real hub, plus a sweep of every decoder with mutated input.
 * A: single writer, append-only. B: several writers, (client_id, client_seq) uniqueness and replay prevention.
 * C: checkpoints chained across time windows (epochs) verify against each other. D: admission via /authorize with
 * a multi-link sig_chain and rate limiting.
 */
import assert from "node:assert/strict";
import {
  authRef,
  bytesEqual,
  checkpointFromCbor,
  ClientMmrView,
  decodeCapToken,
  decodeCborSeq,
  decodeCheckpoint,
  decodeConsistencyProof,
  decodeErrorBody,
  decodeMmrProof,
  decodeMsg,
  decodePayloadHdr,
  decodeProfile,
  decodeReceipt,
  encodeCapToken,
  encodeMsg,
  extendCapChain,
  issueCapToken,
  labelFor,
  streamIdFor,
  toHex,
  VeenError,
  verifyCheckpointSig,
  verifyConsistency,
  verifyReceiptSig,
} from "../core/mod.ts";
import { errorCode, http, postCbor, startTestHub, submit, withHub, Writer } from "./fixture.ts";
import { prng } from "./util.ts";

Deno.test("vector A: a single writer's receipts are contiguous and each root extends the client's view", async () => {
  await withHub({}, async (hub) => {
    const w = new Writer("conf/a");
    const view = new ClientMmrView();
    for (let i = 1; i <= 64; i++) {
      const r = await submit(hub.url, w.msg({ prevAck: i - 1 }));
      const receipt = decodeReceipt(r.body);
      assert.ok(verifyReceiptSig(receipt, hub.hubKey.public));
      view.advance(receipt);
    }
    assert.equal(view.size, 64);
  });
});

Deno.test("vector B: writers interleave; a replayed or reused (client_id, client_seq) is refused", async () => {
  await withHub({}, async (hub) => {
    const ws = [new Writer("conf/b", 1), new Writer("conf/b", 2), new Writer("conf/b", 3)];
    const sent = [];
    for (let i = 0; i < 30; i++) {
      const m = ws[i % 3]!.msg();
      assert.equal((await submit(hub.url, m)).status, 200);
      sent.push(m);
    }
    for (const m of sent.slice(0, 6)) assert.equal(errorCode(await submit(hub.url, m)), "E.DUP");
    assert.equal(errorCode(await submit(hub.url, ws[0]!.msg({ clientSeq: 3, tag: 200 }))), "E.SEQ");
    const label = toHex(labelFor(streamIdFor("conf/b")));
    const items = decodeCborSeq((await http(`${hub.url}/stream?label=${label}`)).body);
    assert.equal(items.length, 30, "refused submissions left no trace");
  });
});

Deno.test("vector C: checkpoints across epochs chain by consistency proofs and are selected by epoch", async () => {
  let now = 1_700_000_000_000;
  const dir = await Deno.makeTempDir();
  const hub = await startTestHub(dir, { checkpointEvery: 10 }, { now: () => now });
  try {
    const w = new Writer("conf/c");
    for (let i = 0; i < 40; i++) {
      assert.equal((await submit(hub.url, w.msg())).status, 200);
      if (i % 10 === 9) {
        await hub.settled(); // the checkpoint of these ten is signed in this epoch
        now += 60_000; // next epoch (epoch_sec 60)
      }
    }
    const label = toHex(labelFor(streamIdFor("conf/c")));
    const cps = decodeCborSeq((await http(`${hub.url}/checkpoint_range?label=${label}`)).body).map(
      checkpointFromCbor,
    );
    assert.deepEqual(cps.map((c) => c.uptoSeq), [10, 20, 30, 40]);
    assert.equal(new Set(cps.map((c) => c.epoch)).size, 4, "one epoch each");
    for (let i = 1; i < cps.length; i++) {
      const [a, b] = [cps[i - 1]!, cps[i]!];
      assert.ok(verifyCheckpointSig(b, hub.hubKey.public));
      assert.ok(a.epoch <= b.epoch && a.uptoSeq < b.uptoSeq);
      assert.ok(bytesEqual(a.labelCurr, b.labelPrev));
      const proof = decodeConsistencyProof(
        (await http(`${hub.url}/consistency?label=${label}&from=${a.uptoSeq}&to=${b.uptoSeq}`)).body,
      );
      assert.ok(
        verifyConsistency(proof, a.uptoSeq, a.mmrRoot, b.uptoSeq, b.mmrRoot),
        `chain ${a.uptoSeq}→${b.uptoSeq}`,
      );
    }
    const e = cps[1]!.epoch;
    const only = decodeCborSeq(
      (await http(`${hub.url}/checkpoint_range?label=${label}&epoch_min=${e}&epoch_max=${e}`)).body,
    )
      .map(checkpointFromCbor);
    assert.ok(only.length >= 1 && only.every((c) => c.epoch === e));
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vector D: a two-link capability is authorized, used, and rate limited", async () => {
  await withHub({ admission: "on" }, async (hub) => {
    const w = new Writer("conf/d", 9);
    let tok = issueCapToken({
      issuerSecret: hub.hubKey.secret,
      issuerPk: hub.hubKey.public,
      subjectPk: w.key.public,
      streamIds: [streamIdFor("conf/d")],
      ttl: 600,
      rate: { perSec: 1, burst: 3 },
    });
    tok = extendCapChain(tok, hub.hubKey.secret);
    assert.equal(tok.sigChain.length, 2);
    assert.equal((await postCbor(hub.url, "/authorize", encodeCapToken(tok))).status, 200);
    const forged = { ...tok, sigChain: [tok.sigChain[0]!, tok.sigChain[0]!] };
    const bad = await postCbor(hub.url, "/authorize", encodeCapToken(forged));
    assert.deepEqual([bad.status, errorCode(bad)], [403, "E.CAP"]);
    for (let i = 0; i < 3; i++) {
      assert.equal((await submit(hub.url, w.msg({ authRef: authRef(tok) }))).status, 200);
    }
    const limited = await submit(hub.url, w.msg({ authRef: authRef(tok) }));
    assert.deepEqual([limited.status, errorCode(limited)], [429, "E.RATE"]);
  });
});

Deno.test("fuzz: every decoder raises only VeenError on random and mutated input", async () => {
  const w = new Writer("conf/fuzz");
  await withHub({ checkpointEvery: 1 }, async (hub) => {
    const r = await submit(hub.url, w.msg());
    const label = toHex(w.label);
    await hub.settled(); // the checkpoint of entry 1
    const seeds: Uint8Array[] = [
      encodeMsg(w.msg({ clientSeq: 9 })),
      r.body,
      (await http(`${hub.url}/checkpoint_latest?label=${label}`)).body,
      new Uint8Array((await http(`${hub.url}/proof?label=${label}&seq=1`)).body).subarray(1),
      encodeCapToken(issueCapToken({
        issuerSecret: hub.hubKey.secret,
        issuerPk: hub.hubKey.public,
        subjectPk: w.key.public,
        streamIds: [streamIdFor("x")],
        ttl: 1,
      })),
    ];
    const decoders: ((b: Uint8Array) => unknown)[] = [
      decodeMsg,
      decodeReceipt,
      decodeCheckpoint,
      decodeMmrProof,
      decodeConsistencyProof,
      (b) => decodeCapToken(b),
      (b) => decodePayloadHdr(b),
      decodeProfile,
      (b) => decodeCborSeq(b),
    ];
    const rnd = prng(2024);
    for (let i = 0; i < 4000; i++) {
      const s = seeds[rnd.int(seeds.length)]!;
      let b: Uint8Array;
      switch (rnd.int(4)) {
        case 0:
          b = rnd.bytes(rnd.int(200));
          break;
        case 1:
          b = s.slice(0, rnd.int(s.length));
          break;
        case 2:
          b = s.slice();
          for (let k = 0; k <= rnd.int(3); k++) b[rnd.int(b.length)] = rnd.int(256);
          break;
        default:
          b = new Uint8Array([...s, ...rnd.bytes(1 + rnd.int(3))]);
      }
      for (const d of decoders) {
        try {
          d(b);
        } catch (e) {
          assert.ok(e instanceof VeenError, `${d.name || "decoder"} threw ${String(e)}`);
        }
      }
      assert.ok(decodeErrorBody(b) === undefined || decodeErrorBody(b) instanceof VeenError);
    }
  });
});
