/**
 * Replication intake (hub/replication.ts) between two in-process hubs of one realm: the primary's items are taken
 * with its RECEIPTs and end with equal roots and byte-identical reads; tampered, non-contiguous and unauthorized
 * items are refused without changing the replica; a different entry at a held seq is equivocation and never
 * overwrites; client submits to a replicated label are refused; the primary's checkpoints are served as sent.
 */
import assert from "node:assert/strict";
import {
  concat,
  decodeCborSeq,
  decodeErrorBody,
  decodeReceipt,
  encodeCbor,
  encodeMsg,
  encodeReceipt,
  expectArray,
  hubIdFor,
  leafHash,
  MmrAccumulator,
  receiptFromCbor,
  signReceipt,
  toHex,
} from "../core/mod.ts";
import { errorCode, http, postCbor, submit, Writer } from "../tests/fixture.ts";
import { publishAuthority, startRealmHub } from "../tests/federation.ts";
import { fsck } from "./fsck.ts";
import type { RunningHub } from "./hub.ts";

const STREAM = "fed/chat";

async function withPair(
  f: (p: RunningHub, r: RunningHub, dirs: { p: string; r: string }) => Promise<RunningHub | void>,
  o: { checkpointEvery?: number } = {},
) {
  const pDir = await Deno.makeTempDir({ prefix: "veen-repl-p-" });
  const rDir = await Deno.makeTempDir({ prefix: "veen-repl-r-" });
  const p = await startRealmHub(pDir, undefined, { checkpointEvery: o.checkpointEvery ?? 0 });
  let r = await startRealmHub(rDir, pDir, { checkpointEvery: 1 });
  try {
    for (const h of [p, r]) await publishAuthority(h, 1, { stream: STREAM, primary: p, replicas: [r] });
    r = (await f(p, r, { p: pDir, r: rDir })) ?? r;
  } finally {
    await p.close();
    await r.close();
    await Deno.remove(pDir, { recursive: true });
    await Deno.remove(rDir, { recursive: true });
  }
}

/** The primary's /stream page bytes of `label` from `from`. */
async function page(hub: RunningHub, label: Uint8Array, from = 1, to?: number): Promise<Uint8Array> {
  const t = to === undefined ? "" : `&to=${to}`;
  return (await http(`${hub.url}/stream?label=${toHex(label)}&from=${from}${t}`)).body;
}

async function replicate(r: RunningHub, primaryPk: Uint8Array, body: Uint8Array) {
  const res = await postCbor(r.url, `/replicate?primary_pk=${toHex(primaryPk)}`, body);
  return res.status === 200
    ? JSON.parse(new TextDecoder().decode(res.body)) as { appended: number; held: number; seq: number }
    : `${errorCode(res)} ${decodeErrorBody(res.body)?.detail}`;
}

async function health(h: RunningHub, label: Uint8Array) {
  return JSON.parse(
    new TextDecoder().decode((await http(`${h.url}/healthz?label=${toHex(label)}`)).body),
  ) as {
    last_stream_seq: number;
    last_mmr_root: string;
  };
}

async function write(p: RunningHub, w: Writer, n: number) {
  for (let i = 0; i < n; i++) assert.equal((await submit(p.url, w.msg())).status, 200);
}

/** One `[RECEIPT, MSG]` item as /stream encodes it. */
const item = (receipt: Uint8Array, msg: Uint8Array) => concat(new Uint8Array([0x82]), receipt, msg);

Deno.test("replication: the primary's items are taken with its RECEIPTs; roots, receipts and /stream are identical", async () => {
  await withPair(async (p, r) => {
    const w = new Writer(STREAM, 7);
    await write(p, w, 5);
    const third = decodeReceipt((await http(`${p.url}/receipt?label=${toHex(w.label)}&seq=3`)).body);
    assert.deepEqual(await replicate(r, p.hubKey.public, await page(p, w.label, 1, 3)), {
      ok: true,
      label: toHex(w.label),
      appended: 3,
      held: 0,
      seq: 3,
      mmr_root: toHex(third.mmrRoot),
    });
    // Overlapping and re-sent items are no-ops; the rest continues the head.
    const all = await replicate(r, p.hubKey.public, await page(p, w.label));
    assert.deepEqual([typeof all === "string" ? all : [all.appended, all.held, all.seq]], [[2, 3, 5]]);
    assert.deepEqual(await health(r, w.label), await health(p, w.label));
    for (let seq = 1; seq <= 5; seq++) {
      const q = `/receipt?label=${toHex(w.label)}&seq=${seq}`;
      assert.deepEqual((await http(r.url + q)).body, (await http(p.url + q)).body);
      const pq = `/proof?label=${toHex(w.label)}&seq=${seq}`;
      assert.deepEqual((await http(r.url + pq)).body, (await http(p.url + pq)).body);
    }
    assert.deepEqual(await page(r, w.label), await page(p, w.label));
    // The replica lists the label with its head.
    const list = JSON.parse(new TextDecoder().decode((await http(r.url + "/replication")).body));
    assert.equal(list.labels.length, 1);
    assert.equal(list.labels[0].label, toHex(w.label));
    assert.equal(list.labels[0].primary_hub, toHex(hubIdFor(p.hubKey.public)));
    assert.equal(list.labels[0].seq, 5);
    // A client submit on the replicated label is refused, naming the primary; the primary takes it.
    const next = w.msg();
    const refused = await submit(r.url, next);
    assert.equal(refused.status, 403);
    assert.match(
      decodeErrorBody(refused.body)!.detail,
      new RegExp(
        `^not primary for label: this hub is a replica, primary_hub ${toHex(hubIdFor(p.hubKey.public))}`,
      ),
    );
    assert.equal((await submit(p.url, next)).status, 200);
    // Nothing the replica refused was appended.
    assert.equal((await health(r, w.label)).last_stream_seq, 5);
  });
});

Deno.test("replication: tampered, non-contiguous and foreign items are refused and change nothing", async () => {
  await withPair(async (p, r) => {
    const w = new Writer(STREAM, 8);
    await write(p, w, 4);
    const one = await page(p, w.label, 1, 1);
    const [rv, mv] = expectArray(decodeCborSeq(one)[0]!, 2, "item");
    const rc = receiptFromCbor(rv!);
    const msgBytes = encodeCbor(mv!);
    // A RECEIPT whose hub_sig was altered: E.SIG.
    const sig = rc.hubSig.slice();
    sig[0]! ^= 1;
    assert.match(
      await replicate(r, p.hubKey.public, item(encodeReceipt({ ...rc, hubSig: sig }), msgBytes)) as string,
      /^E\.SIG /,
    );
    // A MSG whose ciphertext was altered (I1): E.SIG. (MSG.sig is the last 64 bytes.)
    const m = msgBytes.slice();
    m[m.length - 70]! ^= 1;
    assert.match(await replicate(r, p.hubKey.public, item(encodeReceipt(rc), m)) as string, /^E\.SIG .*I1/);
    // A RECEIPT the primary's key signed with a root that is not the root after its leaf: E.SEQ.
    const wrongRoot = signReceipt({ ...rc, mmrRoot: new Uint8Array(32).fill(7) }, p.hubKey.secret);
    assert.match(
      await replicate(r, p.hubKey.public, item(encodeReceipt(wrongRoot), msgBytes)) as string,
      /^E\.SEQ .*not the root/,
    );
    // A MSG whose client signature was altered: E.SIG.
    const s2 = msgBytes.slice();
    s2[s2.length - 1]! ^= 1;
    assert.match(
      await replicate(r, p.hubKey.public, item(encodeReceipt(rc), s2)) as string,
      /^E\.SIG MSG\.sig/,
    );
    // The right items under another key: E.SIG; items skipping seq 1: E.SEQ.
    const other = await startRealmHub(await Deno.makeTempDir({ prefix: "veen-repl-x-" }), undefined);
    try {
      assert.match(await replicate(r, other.hubKey.public, one) as string, /^E\.SIG /);
      assert.match(
        await replicate(r, p.hubKey.public, await page(p, w.label, 2, 3)) as string,
        /^E\.SEQ .*continue/,
      );
      // Items signed by a hub that is not the deciding primary (`other` has no authority record, so it takes
      // writes on the stream): E.AUTH.
      const wx = new Writer(STREAM, 8);
      assert.equal((await submit(other.url, wx.msg())).status, 200);
      assert.match(
        await replicate(r, other.hubKey.public, await page(other, wx.label, 1, 1)) as string,
        /^E\.AUTH .*is not the primary/,
      );
    } finally {
      await other.close();
      await Deno.remove(other.config.dataDir, { recursive: true });
    }
    assert.equal((await health(r, w.label)).last_stream_seq, 0);
    // A label no authority record decides: E.AUTH.
    const u = new Writer("fed/unspecified", 9);
    await write(p, u, 1);
    assert.match(
      await replicate(r, p.hubKey.public, await page(p, u.label)) as string,
      /^E\.AUTH No authority/,
    );
    // The intact items are then taken.
    assert.equal((await replicate(r, p.hubKey.public, await page(p, w.label)) as { seq: number }).seq, 4);
  });
});

Deno.test("replication: a different entry at a held seq is equivocation, refused with 409 and never overwritten", async () => {
  await withPair(async (p, r) => {
    const w = new Writer(STREAM, 10);
    await write(p, w, 3);
    assert.equal((await replicate(r, p.hubKey.public, await page(p, w.label)) as { seq: number }).seq, 3);
    const before = await page(r, w.label);
    // The primary's key signs a fork at seq 2: another MSG after the same first leaf.
    const fork = new Writer(STREAM, 11).msg();
    const first = decodeReceipt((await http(`${p.url}/receipt?label=${toHex(w.label)}&seq=1`)).body);
    const acc = new MmrAccumulator();
    acc.append(first.leafHash);
    const a = acc.append(leafHash(fork));
    const forged = signReceipt(
      { ver: 1, label: w.label, streamSeq: 2, leafHash: leafHash(fork), mmrRoot: a.root, hubTs: first.hubTs },
      p.hubKey.secret,
    );
    const res = await postCbor(
      r.url,
      `/replicate?primary_pk=${toHex(p.hubKey.public)}`,
      item(encodeReceipt(forged), encodeMsg(fork)),
    );
    assert.equal(res.status, 409);
    assert.match(
      decodeErrorBody(res.body)!.detail,
      /^Equivocation at stream_seq 2 .*nothing was overwritten/,
    );
    assert.deepEqual(await page(r, w.label), before);
  });
});

Deno.test("replication: the primary's checkpoints are stored byte-identical; the replica signs none of its own, across a restart", async () => {
  await withPair(async (p, r, dirs) => {
    const w = new Writer(STREAM, 12);
    await write(p, w, 4);
    await p.settled();
    const cp = (await http(`${p.url}/checkpoint_latest?label=${toHex(w.label)}`)).body;
    // Too early: the replica does not hold upto_seq yet.
    const early = await postCbor(r.url, `/replicate/checkpoint?primary_pk=${toHex(p.hubKey.public)}`, cp);
    assert.match(`${errorCode(early)} ${decodeErrorBody(early.body)?.detail}`, /^E\.SEQ .*beyond/);
    await replicate(r, p.hubKey.public, await page(p, w.label));
    await r.settled(); // checkpoint_every 1 on the replica: it would have signed one by now
    const q = `/checkpoint_latest?label=${toHex(w.label)}`;
    assert.equal((await http(r.url + q)).status, 404);
    const took = await postCbor(r.url, `/replicate/checkpoint?primary_pk=${toHex(p.hubKey.public)}`, cp);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(took.body)), { ok: true, stored: 1, held: 0 });
    assert.deepEqual((await http(r.url + q)).body, cp);
    // Restart mid-stream: the replica resumes from its head and its shutdown signs no checkpoint.
    await write(p, w, 2);
    await r.close();
    const r2 = await startRealmHub(dirs.r, dirs.p, { checkpointEvery: 1 });
    assert.deepEqual((await http(r2.url + q)).body, cp);
    assert.equal((await replicate(r2, p.hubKey.public, await page(p, w.label, 5)) as { seq: number }).seq, 6);
    assert.deepEqual(await health(r2, w.label), await health(p, w.label));
    // Offline, fsck verifies the primary's RECEIPTs and CHECKPOINT under the key in primaries.json.
    await r2.close();
    const report = await fsck(dirs.r);
    assert.ok(report.ok, JSON.stringify(report.error));
    assert.equal(report.summary.entries, 6 + 1); // and the authority record on stream_fed_admin
    return await startRealmHub(dirs.r, dirs.p);
  }, { checkpointEvery: 4 });
});
