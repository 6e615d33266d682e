import assert from "node:assert/strict";
import { decodeCborSeq, toHex } from "../core/mod.ts";
import { prng } from "../tests/util.ts";
import { StorageDamage } from "./storage_damage.ts";
import { type AppendEntry, type LogRecord, SegmentLog } from "./segment_log.ts";
import { decodeReceiptBody, receiptBodyLength, writeReceiptBody } from "./receipt_record.ts";
import { encodeFrame, FrameReader, parseFrame } from "./frame.ts";
import { type LogPosition, readSegmentIndex, type SegmentClient } from "./segment_index.ts";
import { RecordFile } from "./record_file.ts";
import { scanLog, type TornTail } from "./segment_reader.ts";
import { writeFileAtomic } from "./files.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-log-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function entries(seed: number, n: number, labels = 2, startSeq = new Map<number, number>()): AppendEntry[] {
  const r = prng(seed);
  const out: AppendEntry[] = [];
  for (let i = 0; i < n; i++) {
    const li = i % labels;
    const seq = (startSeq.get(li) ?? 0) + 1;
    startSeq.set(li, seq);
    out.push({
      label: new Uint8Array(32).fill(li + 1),
      streamSeq: seq,
      leafHash: r.bytes(32),
      clientId: r.bytes(32),
      clientSeq: seq,
      authRef: i % 3 === 0 ? null : r.bytes(32),
      hubTs: 1_700_000_000 + i,
      receipt: r.bytes(100 + r.int(50)),
      msg: r.bytes(200 + r.int(600)),
    });
  }
  return out;
}

async function replayAll(log: SegmentLog, from: LogPosition): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const c of log.replay(from, { chunkSize: 7 })) out.push(...c);
  return out;
}

async function openFresh(dir: string, segmentBytes = 1 << 20, repairs: string[] = []) {
  const log = await SegmentLog.open(dir, { segmentBytes, onRepair: (w) => repairs.push(w) });
  const recs = await replayAll(log, await log.start());
  return { log, recs };
}

Deno.test("frames are CBOR [bstr, bstr8] items and detect torn and flipped bytes", () => {
  const f = encodeFrame(new Uint8Array([1, 2, 3]));
  const items = decodeCborSeq(f);
  assert.equal(items.length, 1);
  const [body, check] = items[0] as [Uint8Array, Uint8Array];
  assert.deepEqual([...body], [1, 2, 3]);
  assert.equal(check.length, 8);
  const ok = parseFrame(f, 0);
  assert.equal(ok.kind, "ok");
  for (let cut = 0; cut < f.length; cut++) {
    assert.equal(parseFrame(f.subarray(0, cut), 0).kind, "torn", `cut ${cut}`);
  }
  for (let i = 0; i < f.length; i++) {
    const g = f.slice();
    g[i]! ^= 0x01;
    assert.notEqual(parseFrame(g, 0).kind, "ok", `flip at ${i}`);
  }
  const big = encodeFrame(new Uint8Array(70000));
  assert.deepEqual(parseFrame(big, 0), { kind: "ok", length: big.length, bodyOffset: 6, bodyLength: 70000 });
});

Deno.test("receipts record bodies are canonical CBOR and round-trip", () => {
  for (const e of entries(1, 20)) {
    const buf = new Uint8Array(receiptBodyLength(e));
    assert.equal(writeReceiptBody(buf, 0, e), buf.length);
    const items = decodeCborSeq(buf); // canonical check by core
    assert.equal((items[0] as unknown[]).length, 8);
    const d = decodeReceiptBody(buf);
    const { msg: _msg, ...rest } = e;
    assert.deepEqual(d, rest);
  }
});

Deno.test("SegmentLog appends, rotates, reads back and replays from an indexed position", async () => {
  await withDir(async (dir) => {
    const all = entries(2, 300, 3);
    // Three entries in four come from one client, so sidecars must keep that client's last entry per label.
    const repeat = new Uint8Array(32).fill(0xcc);
    all.forEach((e, i) => i % 4 !== 3 && (e.clientId = repeat));
    let { log, recs } = await openFresh(dir, 8 * 1024);
    assert.equal(recs.length, 0);
    const locs = [];
    let mid: LogPosition | undefined;
    for (let i = 0; i < all.length; i += 25) {
      const p = await log.append(all.slice(i, i + 25));
      await Promise.all(p.durable);
      locs.push(...p.locs);
      if (i === 150) mid = p.end;
    }
    assert.ok(log.segmentCount > 5, `segments ${log.segmentCount}`);
    const back = await log.read(locs);
    back.forEach((b, i) => {
      assert.deepEqual(b.msg, all[i]!.msg);
      assert.deepEqual(b.record.receipt, all[i]!.receipt);
      assert.equal(b.record.streamSeq, all[i]!.streamSeq);
    });
    const end = log.end;
    await log.close();

    // Reopen from the middle: exactly the later records come back, then appends continue.
    log = await SegmentLog.open(dir, { segmentBytes: 8 * 1024 });
    recs = await replayAll(log, mid!);
    assert.equal(recs.length, 300 - 175);
    assert.equal(recs[0]!.rec, 175);
    assert.deepEqual(recs.map((r) => r.receipt), all.slice(175).map((e) => e.receipt));
    assert.deepEqual(log.end, end);
    await log.close();

    // Sidecars exist for rotated segments and cover every record once.
    let covered = 0;
    for (let s = 0; s < end.seg; s++) {
      const idx = await readSegmentIndex(`${dir}/receipts`, s);
      assert.ok(idx, `idx of segment ${s}`);
      assert.equal(idx.segment, s);
      assert.equal(idx.firstRec, covered);
      assert.equal(idx.lastRec - idx.firstRec + 1, idx.records);
      covered += idx.records;
      for (const l of idx.labels) {
        const inSeg: AppendEntry[] = all.slice(idx.firstRec, idx.lastRec + 1).filter((e) =>
          e.label[0] === l.label[0]
        );
        assert.equal(l.firstSeq, inSeg[0]!.streamSeq);
        assert.equal(l.lastSeq, inSeg.at(-1)!.streamSeq);
        const lastByClient = new Map<string, SegmentClient>();
        for (const e of inSeg) {
          lastByClient.set(toHex(e.clientId), {
            clientId: e.clientId,
            clientSeq: e.clientSeq,
            streamSeq: e.streamSeq,
          });
        }
        const got: SegmentClient[] = idx.clients!.find((c) => c.label[0] === l.label[0])!.clients;
        assert.deepEqual(got, [...lastByClient].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, c]) => c));
        assert.ok(got.some((c) => c.clientId[0] === 0xcc));
      }
      assert.equal(idx.clients!.length, idx.labels.length);
      assert.deepEqual(
        await Deno.readFile(`${dir}/payloads/${String(s).padStart(8, "0")}.idx`),
        await Deno.readFile(`${dir}/receipts/${String(s).padStart(8, "0")}.idx`),
      );
    }

    // scanLog sees every record in order.
    const scanned = [];
    for await (const r of scanLog(dir)) scanned.push(r);
    assert.equal(scanned.length, 300);
    scanned.forEach((r, i) => {
      assert.equal(r.rec, i);
      assert.deepEqual(r.msg, all[i]!.msg);
    });
  });
});

Deno.test("SegmentLog truncates a torn receipts tail and the aligned payload record", async () => {
  await withDir(async (dir) => {
    const all = entries(3, 10);
    let { log } = await openFresh(dir);
    const p = await log.append(all);
    await Promise.all(p.durable);
    await log.close();
    const last = p.locs[9]!;
    await Deno.truncate(`${dir}/receipts/00000000.cborseq`, last.rOff + 5);
    const repairs: string[] = [];
    ({ log } = { log: await SegmentLog.open(dir, { onRepair: (w) => repairs.push(w) }) });
    const recs = await replayAll(log, await log.start());
    assert.equal(recs.length, 9);
    assert.equal(repairs.length, 1);
    assert.equal((await Deno.stat(`${dir}/receipts/00000000.cborseq`)).size, last.rOff);
    assert.equal((await Deno.stat(`${dir}/payloads/00000000.cborseq`)).size, last.pOff);
    // Appending continues at the cut, and the file still replays whole.
    const more = await log.append(entries(4, 3, 2, new Map([[0, 5], [1, 4]])));
    await Promise.all(more.durable);
    assert.equal(more.locs[0]!.rOff, last.rOff);
    await log.close();
    const again = await openFresh(dir);
    assert.equal(again.recs.length, 12);
    await again.log.close();
  });
});

Deno.test("SegmentLog refuses a flipped byte in a payload record followed by others, changing nothing", async () => {
  await withDir(async (dir) => {
    const all = entries(5, 10);
    let { log } = await openFresh(dir);
    const p = await log.append(all);
    await Promise.all(p.durable);
    await log.close();
    const victim = p.locs[7]!;
    const path = `${dir}/payloads/00000000.cborseq`;
    const bytes = await Deno.readFile(path);
    bytes[victim.pOff + 20]! ^= 0xff;
    await Deno.writeFile(path, bytes);
    const repairs: string[] = [];
    log = await SegmentLog.open(dir, { onRepair: (w) => repairs.push(w) });
    const from = await log.start();
    const err = await replayAll(log, from).then(() => undefined, (e) => e);
    assert.ok(err instanceof StorageDamage);
    assert.equal(err.file, "payloads/00000000.cborseq");
    assert.equal(err.offset, victim.pOff);
    assert.match(err.why, /checksum/);
    assert.equal(repairs.length, 0);
    assert.deepEqual(await Deno.readFile(path), bytes);
    await log.close();
  });
});

Deno.test("a segment whose first batch is torn is emptied and rewritten with its header", async () => {
  await withDir(async (dir) => {
    const all = entries(6, 40);
    let { log } = await openFresh(dir, 2048);
    const p1 = await log.append(all.slice(0, 20));
    await Promise.all(p1.durable);
    const p2 = await log.append(all.slice(20)); // rotates to segment 1
    await Promise.all(p2.durable);
    assert.equal(p2.locs[0]!.seg, 1);
    await log.close();
    await Deno.truncate(`${dir}/payloads/00000001.cborseq`, 7); // inside the header
    const repairs: string[] = [];
    log = await SegmentLog.open(dir, { segmentBytes: 2048, onRepair: (w) => repairs.push(w) });
    const recs = await replayAll(log, await log.start());
    assert.equal(recs.length, 20);
    assert.deepEqual(log.end, { seg: 1, rOff: 0, pOff: 0, rec: 20 });
    const p3 = await log.append(all.slice(20));
    await Promise.all(p3.durable);
    await log.close();
    const again = await openFresh(dir, 2048);
    assert.equal(again.recs.length, 40);
    await again.log.close();
  });
});

Deno.test("FrameReader reads frames larger than its chunk", async () => {
  await withDir(async (dir) => {
    const frames = [
      encodeFrame(new Uint8Array(10)),
      encodeFrame(new Uint8Array(50000)),
      encodeFrame(new Uint8Array(3)),
    ];
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let o = 0;
    for (const f of frames) {
      all.set(f, o);
      o += f.length;
    }
    await Deno.writeFile(`${dir}/f`, all);
    let read = 0;
    const r = await FrameReader.open(`${dir}/f`, 0, (n) => (read += n), 1024);
    const lens = [];
    for (;;) {
      const f = await r.next();
      if (f.kind !== "ok") {
        assert.equal(f.kind, "end");
        break;
      }
      lens.push(f.body.length);
    }
    r.close();
    assert.deepEqual(lens, [10, 50000, 3]);
    assert.equal(read, all.length);
  });
});

Deno.test("RecordFile appends, reads and repairs its tail after the indexed offset", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/checkpoints.cborseq`;
    let { file, tail } = await RecordFile.open(path, 0);
    assert.equal(tail.length, 0);
    const locs = await file.append([new Uint8Array([1]), new Uint8Array([2, 2])]);
    const locs2 = await file.append([new Uint8Array([3, 3, 3])]);
    assert.deepEqual([...(await file.read(...locs[1]!))], [2, 2]);
    const size = file.size;
    await file.close();
    await Deno.writeFile(path, new Uint8Array([0x82, 0x44, 1]), { append: true }); // torn record
    const repairs: string[] = [];
    ({ file, tail } = await RecordFile.open(path, locs2[0]![0], { onRepair: (w) => repairs.push(w) }));
    assert.deepEqual(tail.map((t) => [...t.body]), [[3, 3, 3]]);
    assert.equal(file.size, size);
    assert.equal((await Deno.stat(path)).size, size);
    assert.equal(repairs.length, 1);
    await file.close();
  });
});

Deno.test("a rotated segment missing its sidecar gets one rebuilt by scanning after open", async () => {
  await withDir(async (dir) => {
    const all = entries(7, 60, 3);
    let { log } = await openFresh(dir, 4096);
    for (let i = 0; i < 60; i += 10) await Promise.all((await log.append(all.slice(i, i + 10))).durable);
    const segs = log.segmentCount;
    assert.ok(segs >= 3);
    await log.close();
    const before = await readSegmentIndex(`${dir}/receipts`, 1);
    await Deno.remove(`${dir}/receipts/00000001.idx`);
    await Deno.remove(`${dir}/payloads/00000001.idx`);
    ({ log } = await openFresh(dir, 4096));
    await log.close(); // waits for the background rebuild
    assert.deepEqual(await readSegmentIndex(`${dir}/receipts`, 1), before);
    assert.deepEqual(await readSegmentIndex(`${dir}/payloads`, 1), before);
  });
});

Deno.test("scanLog reports a torn tail of the newest segment and refuses damage in older ones", async () => {
  await withDir(async (dir) => {
    const all = entries(8, 40);
    const { log } = await openFresh(dir, 4096);
    for (let i = 0; i < 40; i += 10) await Promise.all((await log.append(all.slice(i, i + 10))).durable);
    await log.close();
    const newest = `${dir}/receipts/${String(log.end.seg).padStart(8, "0")}.cborseq`;
    await Deno.truncate(newest, Deno.statSync(newest).size - 3);
    const torn: TornTail[] = [];
    let n = 0;
    for await (const _ of scanLog(dir, { onTornTail: (w) => torn.push(w) })) n++;
    assert.equal(n, 39);
    assert.equal(torn.length, 1);
    assert.equal(torn[0]!.file, newest.slice(dir.length + 1));
    assert.equal(torn[0]!.how, "short");
    assert.equal(torn[0]!.dropped.length, 0);
    const old = `${dir}/payloads/00000000.cborseq`;
    const bytes = Deno.readFileSync(old);
    bytes[bytes.length - 2]! ^= 1;
    Deno.writeFileSync(old, bytes);
    await assert.rejects(async () => {
      for await (const _ of scanLog(dir)) { /* drain */ }
    }, /checksum/);
  });
});

Deno.test("writeFileAtomic replaces a file and removes its temporary file when the rename fails", async () => {
  await withDir(async (dir) => {
    await writeFileAtomic(dir, "a.idx", new Uint8Array([1, 2]));
    await writeFileAtomic(dir, "a.idx", new Uint8Array([3]));
    assert.deepEqual(await Deno.readFile(`${dir}/a.idx`), new Uint8Array([3]));
    await Deno.mkdir(`${dir}/taken/inner`, { recursive: true });
    await assert.rejects(() => writeFileAtomic(dir, "taken", new Uint8Array([4])));
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["a.idx", "taken"]);
  });
});
