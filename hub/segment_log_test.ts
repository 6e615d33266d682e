import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { entries, openFresh, replayAll, withDir } from "../tests/log_util.ts";
import { StorageDamage } from "./storage_damage.ts";
import { type AppendEntry, SegmentLog } from "./segment_log.ts";
import { type LogPosition, readSegmentIndex, type SegmentClient } from "./segment_index.ts";
import { scanLog } from "./segment_reader.ts";

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

Deno.test("a read of a corrupt record is StorageDamage naming the segment file and the record's offset", async () => {
  await withDir(async (dir) => {
    const all = entries(11, 10);
    const { log } = await openFresh(dir);
    const { locs, durable } = await log.append(all);
    await Promise.all(durable);
    const loc = locs[4]!;
    const path = `${dir}/payloads/00000000.cborseq`;
    const bytes = await Deno.readFile(path);
    bytes[loc.pOff + loc.pLen - 1]! ^= 1;
    await Deno.writeFile(path, bytes);
    assert.deepEqual(log.read([locs[3]!]).map((r) => r.msg), [all[3]!.msg]);
    const e = (() => {
      try {
        log.read([loc]);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(e instanceof StorageDamage, String(e));
    assert.equal(e.code, "E.UNAVAILABLE");
    assert.deepEqual([e.file, e.offset, e.why], ["payloads/00000000.cborseq", loc.pOff, "checksum mismatch"]);
    assert.match(
      e.detail,
      /^Corrupt record in payloads\/00000000\.cborseq at offset \d+: checksum mismatch$/,
    );
    await log.close();
  });
});
