import assert from "node:assert/strict";
import {
  type BatchAnswer,
  bytesEqual,
  concat,
  decodeBatchResponse,
  encodeMsg,
  leafHash,
  type Msg,
  toHex,
  verifyReceiptSig,
} from "../core/mod.ts";
import { errorCode, http, type HttpResult, withHub, Writer } from "../tests/fixture.ts";

function postBatch(base: string, body: Uint8Array): Promise<HttpResult> {
  return http(base + "/submit_batch", {
    method: "POST",
    body: body as BodyInit,
    headers: { "content-type": "application/cbor-seq" },
  });
}

const seqOf = (msgs: readonly (Msg | Uint8Array)[]) =>
  concat(...msgs.map((m) => m instanceof Uint8Array ? m : encodeMsg(m)));

/** The per-item outcomes as RECEIPT stream_seqs or error codes. */
const outcomes = (a: BatchAnswer[]) => a.map((x) => "error" in x ? x.error.code : x.receipt.streamSeq);

/** The label's last stream_seq (0 when it has no entries). */
async function stream(base: string, label: Uint8Array): Promise<number> {
  const h = await http(`${base}/healthz?label=${toHex(label)}`);
  return (JSON.parse(new TextDecoder().decode(h.body)) as { last_stream_seq: number }).last_stream_seq;
}

Deno.test("submit_batch admits consecutive client_seqs in order with one durable RECEIPT per MSG", async () => {
  await withHub({}, async (hub) => {
    const w = new Writer("b/order");
    const msgs = Array.from({ length: 40 }, () => w.msg());
    const r = await postBatch(hub.url, seqOf(msgs));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/cbor-seq");
    const a = decodeBatchResponse(r.body, msgs.length);
    assert.deepEqual(outcomes(a), msgs.map((_, i) => i + 1));
    a.forEach((x, i) => {
      assert.ok(!("error" in x));
      assert.ok(verifyReceiptSig(x.receipt, hub.hubKey.public));
      assert.ok(bytesEqual(x.receipt.leafHash, leafHash(msgs[i]!)));
    });
    // the items were sequenced back to back: one group commit for the whole batch on an idle hub
    const m = new TextDecoder().decode((await http(hub.url + "/metrics")).body);
    const commits = Number(/^veen_commit_latency_ms_count (\d+)/m.exec(m)![1]);
    assert.equal(commits, 1, `${commits} group commits for one batch of 40`);
    assert.match(m, /^veen_submit_batch_total 1$/m);
  });
});

Deno.test("submit_batch: a refused MSG does not stop later ones; the same client's next seq then fails E.SEQ", async () => {
  await withHub({ limits: { maxMsgBytes: 2048 } }, async (hub) => {
    const a = new Writer("b/mixed", 1);
    const b = new Writer("b/mixed", 2);
    const a1 = a.msg(), a2 = a.msg(), a3 = a.msg();
    const badSig = { ...a2, sig: a2.sig.slice() };
    badSig.sig[3]! ^= 1;
    const b1 = b.msg();
    const r = await postBatch(
      hub.url,
      seqOf([
        a1,
        badSig, // E.SIG: a's cursor stays at 1
        b1, // another client is not affected
        a3, // skips ahead of a's cursor
        new Uint8Array([0x82, 0x01, 0x02]), // a CBOR item that is no MSG: E.SIZE for it alone
        encodeMsg(b.msg({ bodyLen: 4096 })), // over max_msg_bytes
        a1, // already accepted in this batch: E.DUP
      ]),
    );
    assert.equal(r.status, 200);
    assert.deepEqual(outcomes(decodeBatchResponse(r.body, 7)), [
      1,
      "E.SIG",
      2,
      "E.SEQ",
      "E.SIZE",
      "E.SIZE",
      "E.DUP",
    ]);
    // the refused ones took no seq; a resend of a2 and a3 with their own bytes now goes through
    const again = await postBatch(hub.url, seqOf([a2, a3]));
    assert.deepEqual(outcomes(decodeBatchResponse(again.body, 2)), [3, 4]);
    assert.equal(await stream(hub.url, a.label), 4);
  });
});

/** A MSG of `w` whose encoding is exactly `len` bytes (the ciphertext grows until it fits). */
function msgOfLength(w: Writer, clientSeq: number, len: number): Uint8Array {
  for (let bodyLen = 0; bodyLen < len; bodyLen++) {
    const m = encodeMsg(w.msg({ clientSeq, bodyLen }));
    if (m.length === len) return m;
  }
  throw new Error(`no MSG of ${len} bytes`);
}

Deno.test("submit_batch limits: exactly max_batch_items and max_batch_bytes pass, one more is refused whole", async () => {
  const items = 5;
  const one = encodeMsg(new Writer("b/limits").msg()).length;
  const maxBytes = (items + 1) * one;
  await withHub({ maxBatchItems: items, maxBatchBytes: maxBytes }, async (hub) => {
    // exactly max_batch_items (within the byte bound)
    const w = new Writer("b/limits");
    let r = await postBatch(hub.url, seqOf(Array.from({ length: items }, () => w.msg())));
    assert.deepEqual(outcomes(decodeBatchResponse(r.body, items)), [1, 2, 3, 4, 5]);
    // one item over (within the byte bound)
    const w2 = new Writer("b/limits2");
    const six = seqOf(Array.from({ length: items + 1 }, () => w2.msg()));
    assert.equal(six.length, maxBytes);
    r = await postBatch(hub.url, six);
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"]);
    // exactly max_batch_bytes in max_batch_items: four MSGs and one of two MSGs' size
    const w3 = new Writer("b/limits3");
    const exact = concat(
      seqOf([1, 2, 3, 4].map((s) => w3.msg({ clientSeq: s }))),
      msgOfLength(w3, 5, 2 * one),
    );
    assert.equal(exact.length, maxBytes);
    r = await postBatch(hub.url, exact);
    assert.deepEqual(outcomes(decodeBatchResponse(r.body, items)), [1, 2, 3, 4, 5]);
    // one byte over, declared, and streamed without a content-length
    const w4 = new Writer("b/limits4");
    const over = concat(
      seqOf([1, 2, 3, 4].map((s) => w4.msg({ clientSeq: s }))),
      msgOfLength(w4, 5, 2 * one + 1),
    );
    assert.equal(over.length, maxBytes + 1);
    r = await postBatch(hub.url, over);
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"]);
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(over);
        c.close();
      },
    });
    r = await http(hub.url + "/submit_batch", { method: "POST", body: chunked });
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"]);
    // nothing of the refused requests was admitted
    assert.equal(await stream(hub.url, w2.label), 0);
    assert.equal(await stream(hub.url, w4.label), 0);
    const info = JSON.parse(new TextDecoder().decode((await http(hub.url + "/info")).body));
    assert.deepEqual([info.max_batch_items, info.max_batch_bytes], [items, maxBytes]);
  });
});

Deno.test("submit_batch refuses a body that does not split into CBOR items, and an empty one answers empty", async () => {
  await withHub({}, async (hub) => {
    const w = new Writer("b/split");
    const good = encodeMsg(w.msg());
    for (
      const bad of [
        concat(good, good.subarray(0, 10)), // truncated last item
        new Uint8Array([0x9f, 0x01, 0xff]), // indefinite length
        new Uint8Array(20).fill(0x81), // nested too deep
        new Uint8Array([0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // a length past the body
      ]
    ) {
      const r = await postBatch(hub.url, bad);
      assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"]);
    }
    assert.equal(await stream(hub.url, w.label), 0);
    const r = await postBatch(hub.url, new Uint8Array(0));
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
  });
});

Deno.test("submit_batch needs /submit when proof of work is on", async () => {
  await withHub({ powDifficulty: 4 }, async (hub) => {
    const r = await postBatch(hub.url, encodeMsg(new Writer("b/pow").msg()));
    assert.deepEqual([r.status, errorCode(r)], [403, "E.AUTH"]);
  });
});

Deno.test("submit_batch with two crypto workers: verifications spread over both, results stay per item", async () => {
  await withHub({ cryptoWorkers: 2 }, async (hub) => {
    const w = new Writer("b/workers");
    const msgs = Array.from({ length: 64 }, () => w.msg());
    const bad = { ...msgs[40]!, sig: msgs[40]!.sig.slice() };
    bad.sig[0]! ^= 1;
    msgs[40] = bad;
    const r = await postBatch(hub.url, seqOf(msgs));
    const got = outcomes(decodeBatchResponse(r.body, 64));
    assert.deepEqual(got.slice(0, 40), Array.from({ length: 40 }, (_, i) => i + 1));
    assert.deepEqual(got.slice(40), ["E.SIG", ...Array.from({ length: 23 }, () => "E.SEQ")]);
  });
});

Deno.test("submit_batch: admission applies per MSG (no auth_ref: E.AUTH item by item, nothing appended)", async () => {
  await withHub({ admission: "on" }, async (hub) => {
    const w = new Writer("b/admission");
    const r = await postBatch(hub.url, seqOf([w.msg(), w.msg()]));
    assert.equal(r.status, 200);
    assert.deepEqual(outcomes(decodeBatchResponse(r.body, 2)), ["E.AUTH", "E.AUTH"]);
    assert.equal(await stream(hub.url, w.label), 0);
    const log = JSON.parse(new TextDecoder().decode((await http(hub.url + "/admission/log")).body));
    assert.equal(log.events.filter((e: { code: string }) => e.code === "E.AUTH").length, 2);
  });
});
