import assert from "node:assert/strict";
import { entries, openFresh, withDir } from "../tests/log_util.ts";
import { encodeFrame, parseFrame } from "./frame.ts";
import { headerBody, parseHeader } from "./segment_index.ts";
import { SegmentLog } from "./segment_log.ts";
import { scanLog, SegmentReader, type TornTail } from "./segment_reader.ts";
import { StorageDamage } from "./storage_damage.ts";

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

Deno.test("SegmentReader yields every pair and ends ok, torn (newest segment) or bad (rotated segment)", async () => {
  await withDir(async (dir) => {
    const all = entries(9, 30);
    const { log } = await openFresh(dir, 1 << 20);
    for (let i = 0; i < 30; i += 10) await Promise.all((await log.append(all.slice(i, i + 10))).durable);
    const end = log.end;
    await log.close();
    const read = async (newest: boolean) => {
      const reader = new SegmentReader(dir, 0, { newest, payloads: true, firstRec: 0 });
      const recs: number[] = [];
      for await (const p of reader.pairs()) {
        assert.deepEqual(p.record.receipt, all[p.rec]!.receipt);
        assert.deepEqual(p.msg, all[p.rec]!.msg);
        recs.push(p.rec);
      }
      return { recs, end: reader.end };
    };
    let r = await read(true);
    assert.deepEqual(r.recs, [...Array(30).keys()]);
    assert.deepEqual(r.end, { kind: "ok", at: end });
    // The last payload torn: the pair is incomplete, its receipts record is what a cut drops.
    const pPath = `${dir}/payloads/00000000.cborseq`;
    await Deno.truncate(pPath, (await Deno.stat(pPath)).size - 5);
    r = await read(true);
    assert.equal(r.recs.length, 29);
    assert.equal(r.end.kind, "torn");
    if (r.end.kind !== "torn") return;
    assert.equal(r.end.file, "payloads/00000000.cborseq");
    assert.equal(r.end.how, "short");
    assert.deepEqual([r.end.receipts, r.end.payloads], ["clean", "short"]);
    assert.deepEqual(r.end.dropped.map((d) => d.receipt), [all[29]!.receipt]);
    assert.equal(r.end.at.rec, 29);
    const cutAt = r.end.offset;
    // The same bytes in a rotated segment are damage, named by file and offset.
    r = await read(false);
    assert.equal(r.end.kind, "bad");
    if (r.end.kind !== "bad") return;
    assert.ok(r.end.damage instanceof StorageDamage);
    assert.deepEqual([r.end.damage.file, r.end.damage.offset], ["payloads/00000000.cborseq", cutAt]);
  });
});

Deno.test("start-up replay and scanLog judge the same damage alike, naming the same file and offset", async () => {
  /** A payloads header that names another segment, a flipped check in a rotated segment, a record without its pair. */
  const cases: [string, (dir: string) => Promise<void>][] = [
    ["payloads header of another segment", async (dir) => {
      const path = `${dir}/payloads/00000001.cborseq`;
      const bytes = await Deno.readFile(path);
      const hdr = parseFrame(bytes, 0);
      assert.equal(hdr.kind, "ok");
      if (hdr.kind !== "ok") return;
      const first = parseHeader(bytes.subarray(hdr.bodyOffset, hdr.bodyOffset + hdr.bodyLength))!;
      const other = encodeFrame(headerBody("payloads", 2, first.firstRec));
      assert.equal(other.length, hdr.length);
      bytes.set(other, 0);
      await Deno.writeFile(path, bytes);
    }],
    ["flipped byte in a rotated receipts segment", async (dir) => {
      const path = `${dir}/receipts/00000000.cborseq`;
      const bytes = await Deno.readFile(path);
      bytes[bytes.length - 3]! ^= 1;
      await Deno.writeFile(path, bytes);
    }],
    ["rotated receipts segment without its last payload", async (dir) => {
      const path = `${dir}/payloads/00000000.cborseq`;
      const bytes = await Deno.readFile(path);
      let off = 0;
      let last = 0;
      for (;;) {
        const f = parseFrame(bytes, off);
        if (f.kind !== "ok") break;
        last = off;
        off += f.length;
      }
      await Deno.writeFile(path, bytes.subarray(0, last));
    }],
  ];
  for (const [name, damage] of cases) {
    await withDir(async (dir) => {
      const all = entries(10, 40);
      const { log } = await openFresh(dir, 4096);
      for (let i = 0; i < 40; i += 10) await Promise.all((await log.append(all.slice(i, i + 10))).durable);
      await log.close();
      assert.ok(log.end.seg >= 2, name);
      await damage(dir);
      const scanned = await (async () => {
        try {
          for await (const _ of scanLog(dir)) { /* drain */ }
        } catch (e) {
          return e;
        }
      })();
      const replayed = await (async () => {
        const l = await SegmentLog.open(dir, { segmentBytes: 4096 });
        try {
          for await (const _ of l.replay(await l.start())) { /* drain */ }
        } catch (e) {
          return e;
        } finally {
          await l.close();
        }
      })();
      assert.ok(scanned instanceof StorageDamage, `${name}: scanLog ${String(scanned)}`);
      assert.ok(replayed instanceof StorageDamage, `${name}: replay ${String(replayed)}`);
      assert.deepEqual([replayed.file, replayed.offset], [scanned.file, scanned.offset], name);
    });
  }
});
