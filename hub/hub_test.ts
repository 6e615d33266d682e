import assert from "node:assert/strict";
import {
  authRef,
  bytesEqual,
  type CborValue,
  checkpointFromCbor,
  decodeCborSeq,
  decodeConsistencyProof,
  decodeMmrProof,
  decodeReceipt,
  encodeCapToken,
  encodeCbor,
  encodeMmrProof,
  encodeMsg,
  expectArray,
  fromHex,
  issueCapToken,
  labelFor,
  leafHash,
  mmrProofRoot,
  receiptFromCbor,
  signingKeyFromSeed,
  streamIdFor,
  toHex,
  verifyCheckpointSig,
  verifyConsistency,
  verifyInclusion,
  verifyReceiptSig,
} from "../core/mod.ts";
import { cbor, errorCode, http, postCbor, startTestHub, submit, withHub, Writer } from "../tests/fixture.ts";
import { openDiskStore } from "./disk_store.ts";
import { Logger } from "./logger.ts";

Deno.test("submit returns a receipt signed by the hub key that binds the leaf", async () => {
  await withHub({}, async (hub) => {
    const w = new Writer("t/basic");
    const m = w.msg();
    const r = await submit(hub.url, m);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/cbor");
    const receipt = decodeReceipt(r.body);
    assert.ok(verifyReceiptSig(receipt, hub.hubKey.public));
    assert.equal(receipt.streamSeq, 1);
    assert.ok(bytesEqual(receipt.leafHash, leafHash(m)));
    assert.ok(bytesEqual(receipt.mmrRoot, leafHash(m)), "single leaf: root is the leaf");
  });
});

Deno.test("every admission error has its code and HTTP status", async () => {
  await withHub({ limits: { maxMsgBytes: 2048 } }, async (hub) => {
    const w = new Writer("t/errors");
    // E.SIZE: undecodable, non-canonical, over the limit (413)
    let r = await submit(hub.url, new Uint8Array([0xff, 0x00]));
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"]);
    const good = encodeMsg(w.msg({ clientSeq: 1 }));
    r = await submit(hub.url, new Uint8Array([...good, 0x00]));
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"]);
    r = await submit(hub.url, encodeMsg(w.msg({ clientSeq: 1, bodyLen: 4096 })));
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"]);
    // E.PROFILE (400)
    const wrongProfile = { ...w.msg({ clientSeq: 1 }), profileId: new Uint8Array(32).fill(9) };
    r = await submit(hub.url, wrongProfile);
    assert.deepEqual([r.status, errorCode(r)], [400, "E.PROFILE"]);
    // E.SIG (409)
    const m1 = w.msg({ clientSeq: 1 });
    const badSig = m1.sig.slice();
    badSig[5]! ^= 1;
    r = await submit(hub.url, { ...m1, sig: badSig });
    assert.deepEqual([r.status, errorCode(r)], [409, "E.SIG"]);
    // accepted, then E.DUP for the same message, E.SEQ for a skip and for prev_ack ahead
    assert.equal((await submit(hub.url, m1)).status, 200);
    r = await submit(hub.url, m1);
    assert.deepEqual([r.status, errorCode(r)], [409, "E.DUP"]);
    r = await submit(hub.url, w.msg({ clientSeq: 3 }));
    assert.deepEqual([r.status, errorCode(r)], [409, "E.SEQ"]);
    r = await submit(hub.url, w.msg({ clientSeq: 2, prevAck: 5 }));
    assert.deepEqual([r.status, errorCode(r)], [409, "E.SEQ"]);
    r = await submit(hub.url, w.msg({ clientSeq: 1, tag: 77 }));
    assert.deepEqual([r.status, errorCode(r)], [409, "E.SEQ"], "reused client_seq with other bytes");
    // E.NOT_FOUND (404)
    r = await http(hub.url + "/nope");
    assert.deepEqual([r.status, errorCode(r)], [404, "E.NOT_FOUND"]);
    r = await http(`${hub.url}/receipt?label=${"00".repeat(32)}&seq=1`);
    assert.deepEqual([r.status, errorCode(r)], [404, "E.NOT_FOUND"]);
  });
});

Deno.test("limits hold at exactly the bound and fail one byte over", async () => {
  const w = new Writer("t/limit");
  const exact = encodeMsg(w.msg({ clientSeq: 1 }));
  await withHub({ limits: { maxMsgBytes: exact.length } }, async (hub) => {
    assert.equal((await submit(hub.url, exact)).status, 200);
    const over = encodeMsg(w.msg({ clientSeq: 2, bodyLen: 33 }));
    assert.equal(over.length, exact.length + 1);
    const r = await submit(hub.url, over);
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"]);
  });
});

Deno.test("a full commit queue answers 503 E.UNAVAILABLE", async () => {
  await withHub({ queueMax: 0 }, async (hub) => {
    const r = await submit(hub.url, new Writer("t/q").msg());
    assert.deepEqual([r.status, errorCode(r)], [503, "E.UNAVAILABLE"]);
  });
});

Deno.test("each submit log line names the stream_seq of its own RECEIPT under concurrent submits", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const logger = new Logger("info", "hub", "standalone", (l) => lines.push(l));
  const hub = await startTestHub(dir, { batchWaitMs: 20 }, { logger });
  try {
    const writers = Array.from({ length: 8 }, (_, i) => new Writer("t/logseq", 40 + i));
    const seqs = (await Promise.all(writers.map(async (w) => {
      const out: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await submit(hub.url, w.msg());
        assert.equal(r.status, 200);
        out.push(decodeReceipt(r.body).streamSeq);
      }
      return out.map((seq) => `${toHex(w.key.public).slice(0, 8)}:${seq}`);
    }))).flat().sort();
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "submit")
      .map((l) => `${l.client_id_prefix}:${l.stream_seq}`).sort();
    assert.deepEqual(logged, seqs);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startHub refuses an open non-loopback hub, and warns loudly when allow_open_public lets it start", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const logger = new Logger("info", "hub", "standalone", (l) => lines.push(l));
  const open = { listen: "0.0.0.0:0", admission: "off" } as const;
  try {
    await assert.rejects(
      () => startTestHub(dir, open, { logger }),
      /^CommandError: E\.CONFIG: admission = "off"/,
    );
    const hub = await startTestHub(dir, { ...open, allowOpenPublic: true }, { logger });
    await hub.close();
    const warn = lines.map((l) => JSON.parse(l)).find((l) => l.key === "allow_open_public");
    assert.equal(warn?.level, "warn");
    assert.match(warn.msg, /^OPEN PUBLIC HUB/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("admission: E.AUTH without a record, E.CAP for subject, stream, issuer and expiry, E.RATE with Retry-After", async () => {
  let now = 1_700_000_000_000;
  const dir = await Deno.makeTempDir();
  const hub = await startTestHub(dir, { admission: "on" }, { now: () => now });
  try {
    const w = new Writer("t/adm", 7);
    const issue = (
      subject: Uint8Array,
      streams: string[],
      ttl: number,
      rate?: { perSec: number; burst: number },
      issuer = hub.hubKey,
    ) =>
      issueCapToken({
        issuerSecret: issuer.secret,
        issuerPk: issuer.public,
        subjectPk: subject,
        streamIds: streams.map(streamIdFor),
        ttl,
        ...(rate ? { rate } : {}),
      });
    let r = await submit(hub.url, w.msg({ clientSeq: 1 }));
    assert.deepEqual([r.status, errorCode(r)], [403, "E.AUTH"]);
    const tok = issue(w.key.public, ["t/adm"], 60, { perSec: 1, burst: 2 });
    r = await submit(hub.url, w.msg({ clientSeq: 1, authRef: authRef(tok) }));
    assert.deepEqual([r.status, errorCode(r)], [403, "E.AUTH"], "not yet authorized");
    r = await postCbor(hub.url, "/authorize", encodeCapToken(tok));
    assert.equal(r.status, 200);
    const ans = cbor(r) as Map<string, CborValue>;
    assert.ok(bytesEqual(ans.get("auth_ref") as Uint8Array, authRef(tok)));
    assert.equal(ans.get("expires_at"), Math.floor(now / 1000) + 60);
    const status = cbor(await http(`${hub.url}/authorize?auth_ref=${toHex(authRef(tok))}`)) as Map<
      string,
      CborValue
    >;
    assert.equal(status.get("known"), true);
    assert.equal(status.get("currently_valid"), true);
    assert.equal(status.get("expires_at"), Math.floor(now / 1000) + 60);
    const unknown = await http(`${hub.url}/authorize?auth_ref=${"00".repeat(32)}`);
    assert.deepEqual([unknown.status, errorCode(unknown)], [404, "E.NOT_FOUND"]);
    // untrusted issuer
    const stranger = signingKeyFromSeed(new Uint8Array(32).fill(99));
    r = await postCbor(
      hub.url,
      "/authorize",
      encodeCapToken(issue(w.key.public, ["t/adm"], 60, undefined, stranger)),
    );
    assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
    // wrong subject and wrong stream
    const other = new Writer("t/adm", 8);
    r = await submit(hub.url, other.msg({ clientSeq: 1, authRef: authRef(tok) }));
    assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
    const elsewhere = new Writer("t/other", 7);
    r = await submit(hub.url, elsewhere.msg({ clientSeq: 1, authRef: authRef(tok) }));
    assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
    // burst of 2, then E.RATE
    assert.equal((await submit(hub.url, w.msg({ clientSeq: 1, authRef: authRef(tok) }))).status, 200);
    assert.equal((await submit(hub.url, w.msg({ clientSeq: 2, authRef: authRef(tok) }))).status, 200);
    r = await submit(hub.url, w.msg({ clientSeq: 3, authRef: authRef(tok) }));
    assert.deepEqual([r.status, errorCode(r)], [429, "E.RATE"]);
    assert.equal(r.headers.get("retry-after"), "1");
    now += 1500;
    assert.equal((await submit(hub.url, w.msg({ clientSeq: 3, authRef: authRef(tok) }))).status, 200);
    // expiry
    now += 61_000;
    r = await submit(hub.url, w.msg({ clientSeq: 4, authRef: authRef(tok) }));
    assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label epochs: a label from an epoch outside the skew window is E.TIME", async () => {
  const now = 1_700_000_000_000;
  const dir = await Deno.makeTempDir();
  const hub = await startTestHub(dir, { admission: "on", labelEpochs: true }, { now: () => now });
  try {
    const w = new Writer("t/epoch", 3);
    const tok = issueCapToken({
      issuerSecret: hub.hubKey.secret,
      issuerPk: hub.hubKey.public,
      subjectPk: w.key.public,
      streamIds: [streamIdFor("t/epoch")],
      ttl: 3600,
    });
    assert.equal((await postCbor(hub.url, "/authorize", encodeCapToken(tok))).status, 200);
    const epoch = Math.floor(now / 1000 / 60);
    const at = (e: number) => Object.assign(w, { label: labelFor(streamIdFor("t/epoch"), undefined, e) });
    at(epoch);
    assert.equal((await submit(hub.url, w.msg({ clientSeq: 1, authRef: authRef(tok) }))).status, 200);
    at(epoch - 5);
    const r = await submit(hub.url, w.msg({ clientSeq: 1, authRef: authRef(tok) }));
    assert.deepEqual([r.status, errorCode(r)], [400, "E.TIME"]);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

async function fill(url: string, stream: string, n: number, writers = 1): Promise<Writer[]> {
  const ws = Array.from({ length: writers }, (_, i) => new Writer(stream, 20 + i));
  for (let i = 0; i < n; i++) {
    const w = ws[i % writers]!;
    const r = await submit(url, w.msg());
    assert.equal(r.status, 200, `submit ${i}`);
  }
  return ws;
}

function streamItems(body: Uint8Array) {
  return decodeCborSeq(body).map((it) => {
    const a = expectArray(it, [2, 3], "item");
    return { receipt: receiptFromCbor(a[0]!), msg: a[1]!, proof: a[2] };
  });
}

Deno.test("stream pages are bounded, contiguous and each proof verifies against its own receipt", async () => {
  await withHub({}, async (hub) => {
    await fill(hub.url, "t/page", 300, 3);
    const label = toHex(labelFor(streamIdFor("t/page")));
    let from = 1;
    const seen: number[] = [];
    for (;;) {
      const r = await http(`${hub.url}/stream?label=${label}&from=${from}&with_proof=1`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "application/cbor-seq");
      const items = streamItems(r.body);
      if (items.length === 0) break;
      assert.ok(items.length <= 256);
      for (const it of items) {
        assert.ok(verifyReceiptSig(it.receipt, hub.hubKey.public));
        const proof = decodeMmrProof(encodeCbor(it.proof!));
        assert.ok(
          verifyInclusion(proof, it.receipt.mmrRoot, {
            seq: it.receipt.streamSeq,
            size: it.receipt.streamSeq,
          }),
        );
        assert.equal(proof.peaksBefore, undefined);
        seen.push(it.receipt.streamSeq);
      }
      from = items[items.length - 1]!.receipt.streamSeq + 1;
    }
    assert.deepEqual(seen, Array.from({ length: 300 }, (_, i) => i + 1));
    const r = await http(`${hub.url}/stream?label=${label}&from=10&to=12`);
    assert.deepEqual(streamItems(r.body).map((i) => i.receipt.streamSeq), [10, 11, 12]);
    assert.equal(streamItems(r.body)[0]!.proof, undefined);
  });
});

Deno.test("stream pages stop at stream_page_bytes, always hold one item, and are streamed batch by batch", async () => {
  await withHub({ streamPageBytes: 50_000 }, async (hub) => {
    const big = new Writer("t/page-bytes", 31);
    for (let i = 0; i < 6; i++) {
      assert.equal((await submit(hub.url, big.msg({ bodyLen: 20_000 }))).status, 200);
    }
    const label = toHex(labelFor(streamIdFor("t/page-bytes")));
    const pages: number[][] = [];
    for (let from = 1;;) {
      const r = await http(`${hub.url}/stream?label=${label}&from=${from}&with_proof=1`);
      const items = streamItems(r.body);
      if (items.length === 0) break;
      assert.ok(r.body.length <= 50_000 || items.length === 1, `page of ${r.body.length} bytes`);
      pages.push(items.map((it) => it.receipt.streamSeq));
      from = items[items.length - 1]!.receipt.streamSeq + 1;
    }
    assert.deepEqual(pages, [[1, 2], [3, 4], [5, 6]]);
    // Many small items: the page is read in batches and streamed (no content-length), still within the bound.
    await fill(hub.url, "t/page-small", 200);
    const small = toHex(labelFor(streamIdFor("t/page-small")));
    const r = await http(`${hub.url}/stream?label=${small}&from=1`);
    assert.equal(r.headers.get("content-length"), null);
    const items = streamItems(r.body);
    assert.ok(items.length > 4 && items.length < 200 && r.body.length <= 50_000, `${items.length} items`);
    assert.deepEqual(
      items.map((it) => it.receipt.streamSeq),
      Array.from({ length: items.length }, (_, i) => i + 1),
    );
  });
  await withHub({ streamPageBytes: 1000 }, async (hub) => {
    const w = new Writer("t/page-one", 32);
    for (let i = 0; i < 2; i++) assert.equal((await submit(hub.url, w.msg({ bodyLen: 5000 }))).status, 200);
    const label = toHex(labelFor(streamIdFor("t/page-one")));
    const items = streamItems((await http(`${hub.url}/stream?label=${label}&from=1`)).body);
    assert.deepEqual(
      items.map((it) => it.receipt.streamSeq),
      [1],
      "one item even when it alone exceeds the bound",
    );
  });
});

Deno.test("a stream page never reads more than stream_page_bytes from the store at once, even when items grow", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-test-" });
  const disk = await openDiskStore(dir);
  // The largest batch (receipt + MSG bytes of one readRange) the page reads.
  let largestBatch = 0;
  const store = new Proxy(disk, {
    get(t, k) {
      if (k !== "readRange") {
        const v = Reflect.get(t, k, t);
        return typeof v === "function" ? v.bind(t) : v;
      }
      return async (...a: Parameters<typeof disk.readRange>) => {
        const items = await t.readRange(...a);
        largestBatch = Math.max(largestBatch, items.reduce((n, i) => n + i.receipt.length + i.msg.length, 0));
        return items;
      };
    },
  });
  const hub = await startTestHub(dir, { streamPageBytes: 50_000 }, { store });
  try {
    const w = new Writer("t/page-grow", 33);
    for (let i = 0; i < 4; i++) assert.equal((await submit(hub.url, w.msg({ bodyLen: 32 }))).status, 200);
    for (let i = 0; i < 30; i++) {
      assert.equal((await submit(hub.url, w.msg({ bodyLen: 20_000 }))).status, 200);
    }
    const label = toHex(labelFor(streamIdFor("t/page-grow")));
    const items = streamItems((await http(`${hub.url}/stream?label=${label}&from=1`)).body);
    assert.deepEqual(items.map((it) => it.receipt.streamSeq), [1, 2, 3, 4, 5, 6]);
    assert.ok(largestBatch <= 50_000, `one store read of ${largestBatch} bytes for a 50000-byte page`);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("proofs of every leaf verify against the latest root and against old checkpoints; consistency holds", async () => {
  await withHub({ checkpointEvery: 500 }, async (hub) => {
    const n = 2000;
    await fill(hub.url, "t/proofs", n, 4);
    const label = toHex(labelFor(streamIdFor("t/proofs")));
    const cps = decodeCborSeq((await http(`${hub.url}/checkpoint_range?label=${label}`)).body).map(
      checkpointFromCbor,
    );
    assert.ok(cps.length >= 3, `checkpoints: ${cps.length}`);
    for (const cp of cps) assert.ok(verifyCheckpointSig(cp, hub.hubKey.public));
    const latest = checkpointFromCbor(cbor(await http(`${hub.url}/checkpoint_latest?label=${label}`)));
    assert.ok(latest.uptoSeq >= cps[cps.length - 1]!.uptoSeq, "latest is at least the newest listed");
    const headRoot = decodeReceipt((await http(`${hub.url}/receipt?label=${label}&seq=${n}`)).body).mmrRoot;
    for (let seq = 1; seq <= n; seq++) {
      const [proofV, size, root] = expectArray(
        cbor(await http(`${hub.url}/proof?label=${label}&seq=${seq}`)),
        3,
        "proof",
      );
      assert.equal(size, n);
      assert.ok(bytesEqual(root as Uint8Array, headRoot));
      const proof = decodeMmrProof(encodeCbor(proofV!));
      assert.ok(verifyInclusion(proof, headRoot, { seq, size: n }), `leaf ${seq}`);
    }
    const cp = cps[0]!;
    for (let seq = 1; seq <= cp.uptoSeq; seq += 7) {
      const [proofV] = expectArray(
        cbor(await http(`${hub.url}/proof?label=${label}&seq=${seq}&size=${cp.uptoSeq}`)),
        3,
        "p",
      );
      const proof = decodeMmrProof(encodeCbor(proofV!));
      assert.ok(verifyInclusion(proof, cp.mmrRoot, { seq, size: cp.uptoSeq }));
      assert.ok(bytesEqual(mmrProofRoot(proof), cp.mmrRoot));
    }
    const cons = decodeConsistencyProof(
      (await http(`${hub.url}/consistency?label=${label}&from=${cp.uptoSeq}&to=${n}`)).body,
    );
    assert.ok(verifyConsistency(cons, cp.uptoSeq, cp.mmrRoot, n, headRoot));
    assert.ok(!verifyConsistency(cons, cp.uptoSeq, headRoot, n, headRoot));
    void encodeMmrProof;
  });
});

Deno.test("restart keeps heads, roots and proofs, and continues the sequence", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let root1: Uint8Array | undefined;
    const label = toHex(labelFor(streamIdFor("t/restart")));
    let writers: Writer[] = [];
    await withHub({}, async (hub) => {
      writers = await fill(hub.url, "t/restart", 50, 2);
      root1 = decodeReceipt((await http(`${hub.url}/receipt?label=${label}&seq=50`)).body).mmrRoot;
    }, dir);
    await withHub({}, async (hub) => {
      const rec = decodeReceipt((await http(`${hub.url}/receipt?label=${label}&seq=50`)).body);
      assert.ok(bytesEqual(rec.mmrRoot, root1!));
      const [proofV] = expectArray(cbor(await http(`${hub.url}/proof?label=${label}&seq=17`)), 3, "p");
      assert.ok(verifyInclusion(decodeMmrProof(encodeCbor(proofV!)), root1!, { seq: 17, size: 50 }));
      const r = await submit(hub.url, writers[0]!.msg());
      assert.equal(r.status, 200);
      assert.equal(decodeReceipt(r.body).streamSeq, 51);
      const dup = await submit(hub.url, writers[1]!.msg({ clientSeq: writers[1]!.seq }));
      assert.equal(errorCode(dup), "E.DUP");
      const cp = checkpointFromCbor(cbor(await http(`${hub.url}/checkpoint_latest?label=${label}`)));
      assert.equal(cp.uptoSeq, 50, "shutdown wrote a final checkpoint");
    }, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("after a restart /healthz reports the label written last (latest hub_ts), not the first head", async () => {
  const dir = await Deno.makeTempDir();
  let nowMs = 1_700_000_000_000;
  const clock = { now: () => nowMs };
  const health = async (url: string) =>
    JSON.parse(new TextDecoder().decode((await http(url + "/healthz")).body));
  /** Writes `n` MSGs to `stream` one second after the previous write; the root after the last one. */
  const write = async (url: string, w: Writer, n: number) => {
    nowMs += 1000;
    let root = "";
    for (let i = 0; i < n; i++) root = toHex(decodeReceipt((await submit(url, w.msg())).body).mmrRoot);
    return root;
  };
  const restarted = async (check: (h: Record<string, unknown>) => void) => {
    const hub = await startTestHub(dir, {}, clock);
    try {
      check(await health(hub.url));
    } finally {
      await hub.close();
    }
  };
  try {
    const [one, two, three] = [new Writer("t/one", 61), new Writer("t/two", 62), new Writer("t/three", 63)];
    let hub = await startTestHub(dir, {}, clock);
    let root = "";
    try {
      await write(hub.url, one, 1);
      await write(hub.url, two, 2);
      root = await write(hub.url, three, 3);
      assert.equal((await health(hub.url)).last_mmr_root, root);
    } finally {
      await hub.close();
    }
    await restarted((h) => assert.deepEqual([h.last_stream_seq, h.last_mmr_root], [3, root]));
    hub = await startTestHub(dir, {}, clock);
    try {
      root = await write(hub.url, one, 1);
    } finally {
      await hub.close();
    }
    await restarted((h) => assert.deepEqual([h.last_stream_seq, h.last_mmr_root], [2, root]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("concurrent submitters on one label produce a gap-free log consistent with the index", async () => {
  await withHub({}, async (hub) => {
    const writers = Array.from({ length: 16 }, (_, i) => new Writer("t/conc", 40 + i));
    const receipts = await Promise.all(writers.map(async (w) => {
      const out = [];
      for (let i = 0; i < 20; i++) {
        const m = w.msg();
        const r = await submit(hub.url, m);
        assert.equal(r.status, 200);
        out.push({ leaf: toHex(leafHash(m)), receipt: decodeReceipt(r.body) });
      }
      return out;
    }));
    const all = receipts.flat().sort((a, b) => a.receipt.streamSeq - b.receipt.streamSeq);
    assert.deepEqual(all.map((x) => x.receipt.streamSeq), Array.from({ length: 320 }, (_, i) => i + 1));
    const label = toHex(labelFor(streamIdFor("t/conc")));
    const items: ReturnType<typeof streamItems> = [];
    for (let from = 1; from <= 320; from += 256) {
      items.push(...streamItems((await http(`${hub.url}/stream?label=${label}&from=${from}`)).body));
    }
    assert.equal(items.length, 320);
    items.forEach((it, i) => {
      assert.equal(toHex(it.receipt.leafHash), all[i]!.leaf);
      assert.ok(bytesEqual(it.receipt.mmrRoot, all[i]!.receipt.mmrRoot));
    });
  });
});

Deno.test("healthz, readyz, metrics, info and report_equivocation answer as documented", async () => {
  await withHub({}, async (hub) => {
    const w = new Writer("t/obs");
    const r1 = decodeReceipt((await submit(hub.url, w.msg())).body);
    await submit(hub.url, new Uint8Array([1]));
    const health = JSON.parse(new TextDecoder().decode((await http(hub.url + "/healthz")).body));
    assert.deepEqual(Object.keys(health).sort(), [
      "last_mmr_root",
      "last_stream_seq",
      "ok",
      "peaks_count",
      "profile_id",
    ]);
    assert.equal(health.last_stream_seq, 1);
    assert.equal(health.last_mmr_root, toHex(r1.mmrRoot));
    assert.equal((await http(hub.url + "/readyz")).status, 200);
    const metrics = new TextDecoder().decode((await http(hub.url + "/metrics")).body);
    for (
      const name of [
        "veen_submit_ok_total 1",
        'veen_submit_err_total{code="E.SIZE"} 1',
        "veen_verify_latency_ms_bucket",
        "veen_commit_latency_ms_count",
        "veen_end_to_end_latency_ms_sum",
        "veen_queue_depth",
        "veen_rate_limited_total",
        "veen_checkpoint_interval",
        "veen_anchor_fail_total",
      ]
    ) {
      assert.ok(metrics.includes(name), name);
    }
    const info = JSON.parse(new TextDecoder().decode((await http(hub.url + "/info")).body));
    assert.equal(info.hub_pk, toHex(hub.hubKey.public));
    // equivocation: a genuine forked pair proves it; the same receipt twice does not
    const { signReceipt, encodeReceipt } = await import("../core/mod.ts");
    const forged = signReceipt({ ...r1, mmrRoot: new Uint8Array(32).fill(1) }, hub.hubKey.secret);
    const ok = (b: Uint8Array) =>
      (cbor({ status: 200, body: b, headers: new Headers() }) as Map<string, unknown>).get("ok");
    const pair = (a: Uint8Array, b: Uint8Array) => new Uint8Array([0x82, ...a, ...b]);
    assert.equal(
      ok(
        (await postCbor(hub.url, "/report_equivocation", pair(encodeReceipt(r1), encodeReceipt(forged))))
          .body,
      ),
      true,
    );
    assert.equal(
      ok((await postCbor(hub.url, "/report_equivocation", pair(encodeReceipt(r1), encodeReceipt(r1)))).body),
      false,
    );
    const m = new TextDecoder().decode((await http(hub.url + "/metrics")).body);
    assert.match(m, /^veen_equivocation_reports_total 2$/m);
    assert.match(m, /^veen_equivocation_proven_total 1$/m);
  });
});

Deno.test("attachments are content addressed and size capped", async () => {
  await withHub({ limits: { maxAttachmentBytes: 1000 } }, async (hub) => {
    const body = new Uint8Array(1000).fill(3);
    const r = await http(hub.url + "/attachments", { method: "POST", body });
    const coid = (cbor(r) as Map<string, CborValue>).get("coid") as Uint8Array;
    const back = await http(`${hub.url}/attachments/${toHex(coid)}`);
    assert.deepEqual(back.body, body);
    const over = await http(hub.url + "/attachments", { method: "POST", body: new Uint8Array(1001) });
    assert.deepEqual([over.status, errorCode(over)], [413, "E.SIZE"]);
    const missing = await http(`${hub.url}/attachments/${"00".repeat(32)}`);
    assert.equal(missing.status, 404);
    void fromHex;
  });
});

Deno.test("a start that fails after the store opened closes the store before releasing the data dir lock", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-test-" });
  try {
    const first = await startTestHub(dir);
    assert.equal((await submit(first.url, new Writer("t/start-fails", 34).msg())).status, 200);
    await first.close();
    const disk = await openDiskStore(dir);
    let closed = false;
    // The checkpointer's start-up read of each label's latest CHECKPOINT fails (as on a damaged checkpoint file).
    const store = new Proxy(disk, {
      get(t, k) {
        if (k === "latestCheckpoint") return () => Promise.reject(new Error("checkpoint read failed"));
        if (k === "close") return () => (closed = true, t.close());
        const v = Reflect.get(t, k, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    await assert.rejects(() => startTestHub(dir, {}, { store }), /checkpoint read failed/);
    assert.ok(closed, "the store is closed, not left open (with its retention timer) behind a released lock");
    const again = await startTestHub(dir);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
