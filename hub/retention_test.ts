import assert from "node:assert/strict";
import {
  bytesEqual,
  checkpointFromCbor,
  decodeCbor,
  decodeCborSeq,
  decodeErrorBody,
  decodeMmrProof,
  decodeReceipt,
  encodeCbor,
  expectArray,
  expectBytes,
  expectUint,
  type Msg,
  toHex,
  verifyInclusion,
} from "../core/mod.ts";
import type { RunningHub, StartOptions } from "./mod.ts";
import { type ConfigOverrides, http, startTestHub, submit, Writer } from "../tests/fixture.ts";
import { rejectsCode } from "../tests/util.ts";
import { openDiskStore } from "./disk_store.ts";
import { fsck } from "./fsck.ts";
import { KvIndex } from "./kv_index.ts";
import { Logger } from "./logger.ts";
import { frameBody } from "./frame.ts";
import { NODE_BYTES } from "./node_store.ts";
import {
  checkpointCutoffEpoch,
  checkpointsToKeep,
  offlineRetentionStatus,
  parseRetentionPolicy,
  readRetentionPolicy,
  RETENTION_FILE,
  writeRetentionPolicy,
} from "./retention.ts";
import { retentionMain } from "./commands.ts";
import type { RetentionStatus } from "./store.ts";

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

/** A hub on `dir` whose clock is `clock.now` (ms); tiny segments, a checkpoint every 8 entries. */
function hubAt(dir: string, clock: { now: number }, extra: StartOptions = {}, o: ConfigOverrides = {}) {
  return startTestHub(dir, { segmentBytes: 2048, checkpointEvery: 8, checkpointIntervalSec: 0, ...o }, {
    now: () => clock.now,
    retentionIntervalMs: 0,
    ...extra,
  });
}

async function info(hub: RunningHub): Promise<RetentionStatus> {
  const r = await http(`${hub.url}/info`);
  assert.equal(r.status, 200);
  return JSON.parse(new TextDecoder().decode(r.body)).retention as RetentionStatus;
}

/** Every seq 1..n of the label has a proof that verifies against the current root. */
async function proofsVerify(hub: RunningHub, label: string, n: number): Promise<void> {
  for (let seq = 1; seq <= n; seq++) {
    const r = await http(`${hub.url}/proof?label=${label}&seq=${seq}`);
    assert.equal(r.status, 200, `proof ${seq}`);
    const [pv, sv, rv] = expectArray(decodeCbor(r.body), 3, "proof");
    const proof = decodeMmrProof(encodeCbor(pv!));
    assert.ok(
      verifyInclusion(proof, expectBytes(rv, 32, "root"), { seq, size: expectUint(sv, "size") }),
      `proof of ${seq}`,
    );
  }
}

function notRetained(r: { status: number; body: Uint8Array }, what: string): void {
  assert.equal(r.status, 404, what);
  const e = decodeErrorBody(r.body)!;
  assert.equal(e.code, "E.NOT_FOUND", what);
  assert.match(e.detail, /not retained/, what);
}

Deno.test("retention: retention.json parses strictly and is written atomically with mode 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-ret-" });
  try {
    assert.deepEqual(await readRetentionPolicy(dir), {
      receiptsDays: null,
      payloadsDays: null,
      checkpointsDays: null,
    });
    await writeRetentionPolicy(dir, { receiptsDays: 30, payloadsDays: 7, checkpointsDays: null });
    assert.equal(
      await Deno.readTextFile(`${dir}/${RETENTION_FILE}`),
      '{"v":1,"receipts_days":30,"payloads_days":7,"checkpoints_days":null}\n',
    );
    assert.equal((await Deno.stat(`${dir}/${RETENTION_FILE}`)).mode! & 0o777, 0o600);
    assert.throws(() => parseRetentionPolicy('{"v":1,"receipts_days":-1}'), /receipts_days/);
    assert.throws(() => parseRetentionPolicy('{"v":1,"other":1}'), /unknown key/);
    assert.throws(() => parseRetentionPolicy('{"v":2}'), /"v" must be 1/);

    assert.equal(await retentionMain(["set", "--data-dir", dir, "--payloads-days", "3"]), 0);
    assert.deepEqual(await readRetentionPolicy(dir), {
      receiptsDays: 30,
      payloadsDays: 3,
      checkpointsDays: null,
    });
    assert.equal(
      await retentionMain(["set", "--data-dir", dir, "--checkpoints-days", "forever", "--json"]),
      0,
    );
    assert.equal(await retentionMain(["set", "--data-dir", dir, "--receipts-days", "x"]), 1);
    assert.equal(await retentionMain(["set", "--data-dir", dir]), 1);
    assert.equal(await retentionMain(["show", "--data-dir", dir]), 0);
    assert.equal(await retentionMain(["show", "--data-dir", dir, "--json"]), 0);
    assert.equal(await retentionMain(["show"]), 1);
    assert.equal(await retentionMain(["set", "--data-dir", `${dir}/nope`, "--receipts-days", "1"]), 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("retention: expired segments are dropped at start-up; proofs, receipts of retained entries and fsck still hold", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-ret-" });
  const clock = { now: T0 };
  const ws = [new Writer("ret/a", 21), new Writer("ret/b", 22)];
  const labels = ws.map((w) => toHex(w.label));
  const bak = await Deno.makeTempDir({ prefix: "veen-ret-bak-" });
  const early = new Writer("ret/early", 23);
  let earlyLast: Msg | undefined;
  const receipts = new Map<string, Uint8Array>(); // label/seq -> RECEIPT bytes
  const send = async (hub: RunningHub, n: number) => {
    for (let i = 0; i < n; i++) {
      for (const [k, w] of ws.entries()) {
        const r = await submit(hub.url, w.msg());
        assert.equal(r.status, 200);
        receipts.set(`${labels[k]}/${decodeReceipt(r.body).streamSeq}`, r.body);
      }
    }
  };
  try {
    // Day 0: 30 entries per label over several 2 KiB segments, and an early client's 5 on a label of its own;
    // day 10: 30 more per label.
    let hub = await hubAt(dir, clock);
    for (let i = 0; i < 5; i++) {
      earlyLast = early.msg();
      assert.equal((await submit(hub.url, earlyLast)).status, 200);
    }
    await send(hub, 30);
    clock.now = T0 + 10 * DAY;
    await send(hub, 30);
    await hub.close();
    const segs = async (fam: string) => {
      const out: string[] = [];
      for await (const e of Deno.readDir(`${dir}/${fam}`)) if (e.name.endsWith(".cborseq")) out.push(e.name);
      return out.sort();
    };
    const indexState = async () => {
      const kv = await KvIndex.open(`${dir}/index.kv`);
      try {
        const heads = (await kv.loadHeads()).sort((a, b) => (toHex(a.label) < toHex(b.label) ? -1 : 1));
        const rows = await Promise.all(
          [...ws, early].map((w) => kv.accepted(w.label, w.key.public, w.seq)),
        );
        return { heads: heads.map(({ lastHubTs: _, ...h }) => h), rows };
      } finally {
        kv.close();
      }
    };
    const kvFiles: string[] = [];
    const moveIndex = async (to: string) => {
      kvFiles.length = 0;
      for await (const e of Deno.readDir(dir)) if (e.name.startsWith("index.kv")) kvFiles.push(e.name);
      for (const f of kvFiles) await Deno.rename(`${dir}/${f}`, `${to}/${f}`);
    };
    const before = await segs("payloads");
    assert.ok(before.length >= 6, `segments: ${before.length}`);

    // Payloads kept 5 days, receipts 30: at day 10 the day-0 payload segments go, every receipt stays.
    await writeRetentionPolicy(dir, { receiptsDays: 30, payloadsDays: 5, checkpointsDays: null });
    hub = await hubAt(dir, clock);
    let st = await info(hub);
    assert.equal(st.receipts.dropped_segments, 0);
    assert.ok(st.payloads.dropped_segments >= 2, `dropped ${st.payloads.dropped_segments}`);
    assert.equal(st.payloads.days, 5);
    const firstPayload = st.labels.find((l) => l.label === labels[0])!.first_payload_seq;
    assert.ok(firstPayload > 1 && firstPayload <= 31, `first payload seq ${firstPayload}`);
    notRetained(await http(`${hub.url}/stream?label=${labels[0]}&from=1`), "stream of a dropped payload");
    const ok = await http(`${hub.url}/stream?label=${labels[0]}&from=${firstPayload}`);
    assert.equal(ok.status, 200);
    assert.equal(decodeCborSeq(ok.body).length, 60 - firstPayload + 1);
    const r1 = await http(`${hub.url}/receipt?label=${labels[0]}&seq=1`);
    assert.equal(r1.status, 200, "the receipt outlives its payload");
    assert.ok(bytesEqual(r1.body, receipts.get(`${labels[0]}/1`)!));
    await proofsVerify(hub, labels[0]!, 60);
    await hub.close();
    assert.equal((await segs("payloads")).length, before.length - st.payloads.dropped_segments);
    let rep = await fsck(dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
    assert.equal(rep.summary.dropped_segments.payloads, st.payloads.dropped_segments);
    assert.equal(rep.summary.leaves_from_node_files, 0);
    // Only payload segments dropped: a rebuilt index starts from the tombstones too (replay needs both families).
    const payloadsOnly = await indexState();
    await moveIndex(bak);
    hub = await hubAt(dir, clock);
    await hub.close();
    assert.deepEqual(await indexState(), payloadsOnly);
    for (const f of kvFiles) await Deno.remove(`${bak}/${f}`);

    // Day 36: receipts of day 0 expire too (day 10 ones are retained).
    clock.now = T0 + 36 * DAY;
    hub = await hubAt(dir, clock);
    st = await info(hub);
    assert.ok(st.receipts.dropped_segments >= 2);
    const l0 = st.labels.find((l) => l.label === labels[0])!;
    assert.ok(
      l0.first_receipt_seq > 1 && l0.first_receipt_seq <= 31,
      `first receipt seq ${l0.first_receipt_seq}`,
    );
    assert.equal(l0.last_seq, 60);
    notRetained(await http(`${hub.url}/receipt?label=${labels[0]}&seq=1`), "receipt in a dropped segment");
    for (let seq = l0.first_receipt_seq; seq <= 60; seq++) {
      const r = await http(`${hub.url}/receipt?label=${labels[0]}&seq=${seq}`);
      assert.ok(
        r.status === 200 && bytesEqual(r.body, receipts.get(`${labels[0]}/${seq}`)!),
        `receipt ${seq}`,
      );
    }
    await proofsVerify(hub, labels[0]!, 60);
    await proofsVerify(hub, labels[1]!, 60);
    // Writers continue; the active segment is never dropped.
    await send(hub, 3);
    await hub.close();
    const offline = await offlineRetentionStatus(dir);
    assert.equal(offline.receipts.dropped_segments, st.receipts.dropped_segments);
    assert.deepEqual(
      offline.labels.find((l) => l.label === labels[0]),
      { ...l0, last_seq: 63 },
    );
    rep = await fsck(dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
    assert.ok(rep.summary.leaves_from_node_files > 0);
    assert.equal(rep.summary.entries, 131);

    // Everything expired: only the active segment stays, and the hub still restarts and serves the tail.
    clock.now = T0 + 400 * DAY;
    await writeRetentionPolicy(dir, { receiptsDays: 0, payloadsDays: 0, checkpointsDays: null });
    hub = await hubAt(dir, clock);
    st = await info(hub);
    assert.equal((await segs("receipts")).length, 1);
    assert.equal((await segs("payloads")).length, 1);
    const tail = await http(`${hub.url}/stream?label=${labels[1]}&from=63`);
    assert.equal(tail.status, 200);
    await proofsVerify(hub, labels[1]!, 63);
    await hub.close();
    assert.ok((await fsck(dir)).ok);

    // Without the index: the next start seeds it from the tombstones and node files, then replays the retained
    // log. Heads and client rows come back equal, and the early client (all of its entries dropped) is still
    // refused a replay (E.DUP) or an old client_seq (E.SEQ) and continues at its next one.
    const indexed = await indexState();
    assert.equal(indexed.rows[2]?.streamSeq, 5);
    await moveIndex(bak);
    rep = await fsck(dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
    assert.ok(rep.warnings.some((w) => w.file === "index.kv" && /tombstones/.test(w.what)));
    const repairs: string[] = [];
    hub = await hubAt(dir, clock, {
      logger: new Logger("warn", "hub", "standalone", (l) => repairs.push(l)),
    });
    await hub.close();
    assert.deepEqual(await indexState(), indexed);
    assert.ok(repairs.some((w) => /index rebuilt after retention/.test(w)), repairs.join("\n"));
    // fsck checks the early client's row against its tombstone and the leaf in the node file.
    {
      const kv = await Deno.openKv(`${dir}/index.kv`);
      const key = ["client", early.label, early.key.public];
      const row = (await kv.get<[number, number, Uint8Array]>(key)).value!;
      await kv.set(key, [row[0], row[1], new Uint8Array(32)]);
      rep = await fsck(dir);
      assert.deepEqual([rep.error?.file, rep.error?.label, rep.error?.seq], [
        "index.kv",
        toHex(early.label),
        5,
      ]);
      assert.match(rep.error!.what, /row of client/);
      await kv.set(key, row);
      kv.close();
    }
    hub = await hubAt(dir, clock);
    const dup = await submit(hub.url, earlyLast!);
    assert.equal(decodeErrorBody(dup.body)?.code, "E.DUP");
    assert.match(decodeErrorBody(dup.body)!.detail, /stream_seq 5\b/);
    assert.equal(decodeErrorBody((await submit(hub.url, early.msg({ clientSeq: 2 }))).body)?.code, "E.SEQ");
    const next = await submit(hub.url, early.msg());
    assert.equal(next.status, 200);
    assert.equal(decodeReceipt(next.body).streamSeq, 6);
    await proofsVerify(hub, labels[0]!, 63);
    await proofsVerify(hub, toHex(early.label), 6);
    await hub.close();
    rep = await fsck(dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
    assert.equal(rep.summary.entries, 132);

    // What the rebuild cannot do it refuses before writing anything: a tombstone written before tombstones held
    // clients, or a node file of dropped entries that is gone. fsck names the same reason.
    const idx0 = `${dir}/receipts/00000000.idx`;
    const idx0Bytes = await Deno.readFile(idx0);
    const old = decodeCbor(frameBody(idx0Bytes, "sidecar")) as Map<string, unknown>;
    old.delete("clients");
    const refuse = async (re: RegExp) => {
      await moveIndex(bak);
      const e = await rejectsCode(() => hubAt(dir, clock), "E.UNAVAILABLE");
      assert.match(e.detail, re);
      assert.match(e.detail, /restore index\.kv\*, mmr\/ and pos\/ from a backup/);
      assert.equal((await fsck(dir)).error?.file, "index.kv");
      for await (const e of Deno.readDir(dir)) assert.ok(!e.name.startsWith("index.kv"), e.name);
      for (const f of kvFiles) await Deno.rename(`${bak}/${f}`, `${dir}/${f}`);
    };
    for (const fam of ["receipts", "payloads"]) {
      await Deno.writeFile(`${dir}/${fam}/00000000.idx`, encodeCbor(old as never));
    }
    await refuse(/sidecar of dropped segment 00000000 predates per-client records/);
    for (const fam of ["receipts", "payloads"]) await Deno.writeFile(`${dir}/${fam}/00000000.idx`, idx0Bytes);
    const earlyNodes = `${dir}/mmr/${toHex(early.label)}.nodes`;
    await Deno.rename(earlyNodes, `${bak}/early.nodes`);
    await refuse(new RegExp(`label ${toHex(early.label)}: its node or position file is missing`));
    await Deno.rename(`${bak}/early.nodes`, earlyNodes);
    assert.ok((await fsck(dir)).ok);

    // fsck still checks the node files of dropped entries: a flipped parent hash is found.
    const nodes = `${dir}/mmr/${labels[0]}.nodes`;
    const b = await Deno.readFile(nodes);
    b[2 * NODE_BYTES]! ^= 1; // node 2 = H(leaf 1, leaf 2), both in dropped segments
    await Deno.writeFile(nodes, b);
    rep = await fsck(dir);
    assert.equal(rep.ok, false);
    assert.deepEqual([rep.error!.file, rep.error!.label, rep.error!.seq], [
      `mmr/${labels[0]}.nodes`,
      labels[0],
      2,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(bak, { recursive: true });
  }
});

Deno.test("retention: periodic passes pick up a new policy; expired checkpoints go except each label's latest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-ret-" });
  const clock = { now: T0 };
  const w = new Writer("ret/periodic", 31);
  const label = toHex(w.label);
  try {
    // The store the hub runs on, watched: a periodic pass that applied the 2-day policy resolves `applied`.
    const store = await openDiskStore(dir, { segmentBytes: 2048 });
    let applied!: () => void;
    const policyApplied = new Promise<void>((r) => (applied = r));
    const enforce = store.enforceRetention.bind(store);
    store.enforceRetention = async (policy, nowMs) => {
      const dropped = await enforce(policy, nowMs);
      if (policy.checkpointsDays === 2) applied();
      return dropped;
    };
    const hub = await hubAt(dir, clock, { retentionIntervalMs: 20, store });
    try {
      const range = async () =>
        decodeCborSeq((await http(`${hub.url}/checkpoint_range?label=${label}`)).body).map(
          checkpointFromCbor,
        );
      for (let day = 0; day < 6; day++) {
        clock.now = T0 + day * DAY;
        for (let i = 0; i < 16; i++) assert.equal((await submit(hub.url, w.msg())).status, 200);
        // Checkpoints are written behind the commits: let today's two land before the clock moves.
        await hub.settled();
      }
      const cpsBefore = await range();
      assert.equal(cpsBefore.length, 12);
      const latestBefore = (await http(`${hub.url}/checkpoint_latest?label=${label}`)).body;

      await writeRetentionPolicy(dir, { receiptsDays: 2, payloadsDays: 2, checkpointsDays: 2 });
      await policyApplied; // by a periodic pass: nothing here runs one
      const st = await info(hub);
      assert.ok(st.receipts.dropped_segments > 0 && st.payloads.dropped_segments > 0, JSON.stringify(st));
      assert.equal(st.checkpoints.days, 2);
      const cps = await range();
      // Day 5 - 2 days = day 3: checkpoints of days 3, 4, 5 stay (2 a day).
      assert.equal(st.checkpoints.dropped, cpsBefore.length - cps.length);
      assert.deepEqual(
        cps.map((c) => c.uptoSeq),
        cpsBefore.filter((c) => c.uptoSeq > 48).map((c) => c.uptoSeq),
      );
      assert.ok(bytesEqual((await http(`${hub.url}/checkpoint_latest?label=${label}`)).body, latestBefore));
      const first = st.labels[0]!.first_receipt_seq;
      assert.ok(first > 1 && first <= 3 * 16 + 1, `first retained ${first}`);
      notRetained(await http(`${hub.url}/stream?label=${label}&from=1&limit=1`), "stream of a dropped entry");
      await proofsVerify(hub, label, 96);
      for (let i = 0; i < 4; i++) assert.equal((await submit(hub.url, w.msg())).status, 200);
    } finally {
      await hub.close();
    }
    const rep = await fsck(dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
    assert.ok(rep.summary.checkpoints < 12, `checkpoints ${rep.summary.checkpoints}`);
    // The rewritten checkpoint file and its index survive a restart.
    const hub2 = await hubAt(dir, clock);
    try {
      assert.equal((await http(`${hub2.url}/checkpoint_latest?label=${label}`)).status, 200);
    } finally {
      await hub2.close();
    }
    assert.ok((await fsck(dir)).ok);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store files: the KV index files are 0600 like every data dir file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-perm-" });
  try {
    const hub = await startTestHub(dir);
    assert.equal((await submit(hub.url, new Writer("perm/x", 5).msg())).status, 200);
    const check = async (path: string): Promise<void> => {
      for await (const e of Deno.readDir(path)) {
        const p = `${path}/${e.name}`;
        const mode = (await Deno.stat(p)).mode! & 0o777;
        if (e.isDirectory) {
          assert.equal(mode, 0o700, p);
          await check(p);
        } else assert.equal(mode, 0o600, p);
      }
    };
    await check(dir);
    await hub.close();
    await check(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("retention: a crash after the checkpoint rows were reset re-indexes the whole checkpoint file at open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-ret-" });
  try {
    const label = new Uint8Array(32).fill(4);
    let store = await openDiskStore(dir);
    for (let i = 1; i <= 3; i++) await store.putCheckpoint(label, i * 10, 100 + i, new Uint8Array([i, i, i]));
    await store.close();
    const kv = await KvIndex.open(`${dir}/index.kv`);
    await kv.resetCheckpoints(); // the first step of the checkpoint rewrite, then "kill -9"
    kv.close();
    store = await openDiskStore(dir);
    try {
      assert.deepEqual(await store.latestCheckpoint(label), new Uint8Array([3, 3, 3]));
      assert.equal((await store.checkpointsByEpoch(label, 0, 1000, 10)).length, 3);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint retention keeps the unexpired checkpoints and each label's latest, in order", () => {
  const a = new Uint8Array([1]);
  const b = new Uint8Array([2]);
  const cps = [
    { label: a, upto: 10, epoch: 1 },
    { label: b, upto: 5, epoch: 1 },
    { label: a, upto: 20, epoch: 2 },
    { label: a, upto: 30, epoch: 5 },
  ];
  assert.deepEqual(checkpointsToKeep(cps, 3), [cps[1], cps[3]]);
  assert.deepEqual(checkpointsToKeep(cps, 1), cps);
  assert.equal(
    checkpointCutoffEpoch({ receiptsDays: 1, payloadsDays: 1, checkpointsDays: null }, 1e9),
    undefined,
  );
  const e = checkpointCutoffEpoch(
    { receiptsDays: null, payloadsDays: null, checkpointsDays: 1 },
    1_700_000_000,
  );
  assert.ok(e !== undefined && e < checkpointCutoffEpoch(KEEP_DAYS_0, 1_700_000_000)!);
});

const KEEP_DAYS_0 = { receiptsDays: null, payloadsDays: null, checkpointsDays: 0 };
