import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  cborHeadLen,
  decodeCbor,
  decodeCheckpoint,
  encodeCapToken,
  encodeCbor,
  encodeCheckpoint,
  expectArray,
  expectBytes,
  issueCapToken,
  signCheckpoint,
  streamIdFor,
  toHex,
} from "../core/mod.ts";
import { http, postCbor, startTestHub, submit, Writer } from "../tests/fixture.ts";
import { fsckMain } from "./commands.ts";
import { fsck } from "./fsck.ts";
import { encodeFrame, frameLength, FrameReader } from "./frame.ts";
import { receiptBodyLength } from "./receipt_record.ts";
import { scanLog } from "./segment_reader.ts";
import { segmentName } from "./segment_index.ts";
import { lockDataDir } from "./data_dir_lock.ts";
import { NODE_BYTES, POS_BYTES } from "./node_store.ts";

/**
 * A real hub data dir: 3 labels, 120 entries over several segments, checkpoints every 10 entries, two admission
 * records and two attachments.
 */
async function buildDataDir(dir: string): Promise<string[]> {
  const hub = await startTestHub(dir, { segmentBytes: 8 * 1024, checkpointEvery: 10 });
  const labels: string[] = [];
  try {
    const writers = [0, 1, 2].map((i) => new Writer(`fsck/${i}`, 10 + i));
    for (const w of writers) labels.push(toHex(w.label));
    await Promise.all(writers.map(async (w) => {
      for (let i = 0; i < 40; i++) assert.equal((await submit(hub.url, w.msg())).status, 200);
    }));
    for (const [i, w] of writers.slice(0, 2).entries()) {
      const tok = issueCapToken({
        issuerSecret: hub.hubKey.secret,
        issuerPk: hub.hubKey.public,
        subjectPk: w.key.public,
        streamIds: [streamIdFor(`fsck/${i}`)],
        ttl: 3600,
        ...(i === 1 ? { rate: { perSec: 5, burst: 10 } } : {}),
      });
      assert.equal((await postCbor(hub.url, "/authorize", encodeCapToken(tok))).status, 200);
      const att = await http(`${hub.url}/attachments`, {
        method: "POST",
        body: new Uint8Array(300 + i).fill(i),
      });
      assert.equal(att.status, 200);
    }
  } finally {
    await hub.close();
  }
  return labels;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true, mode: 0o700 });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

async function flipByte(path: string, off: number): Promise<void> {
  const b = await Deno.readFile(path);
  b[off]! ^= 0x01;
  await Deno.writeFile(path, b);
}

/** Flips a byte inside a frame's body and recomputes its check, so only the content is wrong. */
async function flipAndReseal(
  path: string,
  frameOff: number,
  bodyLen: number,
  bodyByte: number,
): Promise<void> {
  const b = await Deno.readFile(path);
  const bodyOff = frameOff + 1 + cborHeadLen(bodyLen);
  b[bodyOff + bodyByte]! ^= 0x01;
  const d = createHash("sha256").update(b.subarray(bodyOff, bodyOff + bodyLen)).digest();
  b.set(d.subarray(0, 8), bodyOff + bodyLen + 1);
  await Deno.writeFile(path, b);
}

let shared: { dir: string; labels: string[] } | undefined;
async function cleanDir(): Promise<{ dir: string; labels: string[] }> {
  if (shared === undefined) {
    const dir = await Deno.makeTempDir({ prefix: "veen-fsck-base-" });
    shared = { dir, labels: await buildDataDir(dir) };
  }
  return shared;
}

/** Runs `fn` on a fresh copy of the clean data dir. */
async function withCopy(fn: (dir: string, labels: string[]) => Promise<void>): Promise<void> {
  const base = await cleanDir();
  const dir = await Deno.makeTempDir({ prefix: "veen-fsck-" });
  try {
    await copyDir(base.dir, dir);
    await fn(dir, base.labels);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A record in a rotated (not the newest) receipts segment. */
async function someRotatedRecord(dir: string) {
  let last = -1;
  const recs = [];
  for await (const r of scanLog(dir)) {
    recs.push(r);
    last = r.segment;
  }
  const r = recs.find((x) => x.segment < last && x.segment > 0)!;
  assert.ok(r, "a record in a rotated segment");
  return r;
}

Deno.test("fsck: a clean data dir passes with a summary; the CLI exits 0 and refuses a live hub", async () => {
  await withCopy(async (dir) => {
    const rep = await fsck(dir);
    assert.equal(rep.ok, true, JSON.stringify(rep.error));
    assert.deepEqual(rep.warnings, []);
    assert.equal(rep.summary.labels, 3);
    assert.equal(rep.summary.entries, 120);
    assert.equal(rep.summary.records, 120);
    assert.equal(rep.summary.unindexed_records, 0);
    assert.equal(rep.summary.index, "present");
    assert.ok(rep.summary.segments.receipts >= 3, `segments ${rep.summary.segments.receipts}`);
    assert.ok(rep.summary.checkpoints >= 12, `checkpoints ${rep.summary.checkpoints}`);
    assert.equal(rep.summary.admissions, 2);
    assert.equal(rep.summary.attachments, 2);
    assert.equal(await fsckMain(["--data-dir", dir, "--json"]), 0);

    const lock = await lockDataDir(dir); // as a running hub holds it
    try {
      assert.equal(await fsckMain(["--data-dir", dir]), 4, "refuses while the data dir is locked");
      assert.equal(await fsckMain(["--data-dir", dir, "--force"]), 0);
    } finally {
      lock.release();
    }
    assert.equal(await fsckMain([]), 1);
  });
});

Deno.test("fsck: a receipt whose hub_sig byte is flipped (frame re-sealed) is named", async () => {
  await withCopy(async (dir) => {
    const r = await someRotatedRecord(dir);
    const file = `receipts/${segmentName(r.segment)}.cborseq`;
    const bodyLen = receiptBodyLength(r);
    await flipAndReseal(`${dir}/${file}`, r.receiptOffset, bodyLen, bodyLen - 5); // inside hub_sig (last 64 bytes)
    const rep = await fsck(dir);
    assert.equal(rep.ok, false);
    assert.equal(rep.error!.file, `${file}@${r.receiptOffset}`);
    assert.equal(rep.error!.label, toHex(r.label));
    assert.equal(rep.error!.seq, r.streamSeq);
    assert.match(rep.error!.what, /hub_sig does not verify/);
    assert.equal(await fsckMain(["--data-dir", dir]), 4);
  });
});

Deno.test("fsck: a raw flipped byte in a receipt's signature fails the frame check and is named", async () => {
  await withCopy(async (dir) => {
    const r = await someRotatedRecord(dir);
    const file = `receipts/${segmentName(r.segment)}.cborseq`;
    const end = r.receiptOffset + frameLength(receiptBodyLength(r));
    await flipByte(`${dir}/${file}`, end - 9 - 5);
    const rep = await fsck(dir);
    assert.equal(rep.ok, false);
    assert.equal(rep.error!.file, `${file}@${r.receiptOffset}`);
    assert.match(rep.error!.what, /damaged record \(checksum mismatch\): the hub refuses to start/);
    assert.equal(await fsckMain(["--data-dir", dir, "--json"]), 4);
  });
});

Deno.test("fsck: a flipped byte in a node file is named with its label and seq", async () => {
  await withCopy(async (dir, labels) => {
    const file = `mmr/${labels[1]}.nodes`;
    await flipByte(`${dir}/${file}`, 13 * NODE_BYTES + 7); // node 13: the parent of leaves 7-8 (height 1)
    const rep = await fsck(dir);
    assert.equal(rep.ok, false);
    assert.equal(rep.error!.file, file);
    assert.equal(rep.error!.label, labels[1]);
    assert.equal(rep.error!.seq, 8);
    assert.match(rep.error!.what, /node 13 differs/);
  });
});

Deno.test("fsck: a flipped byte in a position file is named with its label and seq", async () => {
  await withCopy(async (dir, labels) => {
    const file = `pos/${labels[2]}.pos`;
    await flipByte(`${dir}/${file}`, 4 * POS_BYTES + 9); // seq 5, receipts offset
    const rep = await fsck(dir);
    assert.equal(rep.ok, false);
    assert.deepEqual(
      [rep.error!.file, rep.error!.label, rep.error!.seq],
      [file, labels[2], 5],
    );
    assert.match(rep.error!.what, /position record/);
  });
});

Deno.test("fsck: a checkpoint with a flipped signature byte, a raw flipped byte, or a wrong root is named", async () => {
  for (const which of ["sig", "raw", "root"] as const) {
    await withCopy(async (dir, labels) => {
      const path = `${dir}/checkpoints.cborseq`;
      const reader = await FrameReader.open(path, 0, () => {});
      await reader.next();
      const f = await reader.next(); // the second checkpoint record
      reader.close();
      assert.equal(f.kind, "ok");
      if (f.kind !== "ok") return;
      let where = `checkpoints.cborseq@${f.offset}`;
      if (which === "raw") await flipByte(path, f.offset + f.length - 12);
      else if (which === "sig") {
        // The record body ends with the CHECKPOINT, which ends with hub_sig (64 bytes).
        await flipAndReseal(path, f.offset, f.body.length, f.body.length - 3);
      } else {
        // A correctly signed CHECKPOINT (hub key from DIR/hub_key) whose mmr_root is not the label's root.
        const a = expectArray(decodeCbor(f.body), 4, "rec");
        const cp = decodeCheckpoint(expectBytes(a[3], undefined, "cp"));
        const m = decodeCbor(await Deno.readFile(`${dir}/hub_key`)) as Map<number, Uint8Array>;
        const forged = signCheckpoint({ ...cp, mmrRoot: new Uint8Array(32).fill(3) }, m.get(2)!);
        const size = (await Deno.stat(path)).size;
        const rec = encodeFrame(encodeCbor([a[0]!, a[1]!, a[2]!, encodeCheckpoint(forged)]));
        await Deno.writeFile(path, rec, { append: true });
        where = `checkpoints.cborseq@${size}`;
      }
      const rep = await fsck(dir);
      assert.equal(rep.ok, false, which);
      if (which === "raw") {
        assert.match(rep.error!.file, /^checkpoints\.cborseq@\d+$/);
        assert.match(rep.error!.what, /damaged record \(checksum mismatch\), before the indexed offset/);
      } else {
        assert.equal(rep.error!.file, where);
        assert.ok(labels.includes(rep.error!.label!));
        assert.match(
          rep.error!.what,
          which === "sig" ? /hub_sig does not verify/ : /mmr_root differs from the re-derived root/,
        );
      }
    });
  }
});

Deno.test("fsck: an index head that disagrees with the log is named", async () => {
  await withCopy(async (dir, labels) => {
    const kv = await Deno.openKv(`${dir}/index.kv`);
    const label = Uint8Array.from(labels[0]!.match(/../g)!, (h) => parseInt(h, 16));
    const h = (await kv.get<{ seq: number; peaks: Uint8Array[]; root: Uint8Array }>(["head", label])).value!;
    await kv.set(["head", label], { ...h, root: new Uint8Array(32).fill(7) });
    kv.close();
    const rep = await fsck(dir);
    assert.equal(rep.ok, false);
    assert.deepEqual([rep.error!.file, rep.error!.label, rep.error!.seq], ["index.kv", labels[0], 40]);
  });
});

Deno.test("fsck: a torn tail past the index is a warning; a log cut short of the index is an error", async () => {
  await withCopy(async (dir) => {
    const segs: number[] = [];
    for await (const r of scanLog(dir)) if (!segs.includes(r.segment)) segs.push(r.segment);
    const newest = `receipts/${segmentName(segs.at(-1)!)}.cborseq`;
    const size = (await Deno.stat(`${dir}/${newest}`)).size;
    await Deno.writeFile(`${dir}/${newest}`, new Uint8Array([0x82, 0x59, 0x01]), { append: true });
    let rep = await fsck(dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
    assert.equal(rep.warnings.length, 1);
    assert.equal(rep.warnings[0]!.file, `${newest}@${size}`);
    assert.match(rep.warnings[0]!.what, /torn log tail past the index \(short/);
    assert.equal(await fsckMain(["--data-dir", dir]), 0);

    await Deno.truncate(`${dir}/${newest}`, size - 20); // the last indexed record is torn
    rep = await fsck(dir);
    assert.equal(rep.ok, false);
    assert.match(rep.error!.file, new RegExp(`^${newest}@\\d+$`));
    assert.match(rep.error!.what, /the index covers 120 log records but the log ends after record 118/);
  });
});

Deno.test("fsck: an admission record whose cap_token or fields were altered (frame re-sealed) is named", async () => {
  for (const which of ["token", "ttl"] as const) {
    await withCopy(async (dir) => {
      const path = `${dir}/admissions.cborseq`;
      const reader = await FrameReader.open(path, 0, () => {});
      await reader.next();
      const f = await reader.next(); // the second record
      reader.close();
      assert.equal(f.kind, "ok");
      if (f.kind !== "ok") return;
      const m = decodeCbor(f.body) as Map<number, unknown>;
      const body = f.body;
      if (which === "token") {
        // A byte inside the cap_token's last signature: the chain no longer verifies.
        const tok = m.get(2) as Uint8Array;
        const at = indexOfBytes(body, tok) + tok.length - 3;
        await flipAndReseal(path, f.offset, body.length, at);
      } else {
        // ttl (key 5) 3600 -> 3601 while the token still says 3600.
        const at = indexOfBytes(body, new Uint8Array([0x05, 0x19, 0x0e, 0x10])) + 3;
        await flipAndReseal(path, f.offset, body.length, at);
      }
      const rep = await fsck(dir);
      assert.equal(rep.ok, false, which);
      assert.equal(rep.error!.file, `admissions.cborseq@${f.offset}`);
      assert.match(
        rep.error!.what,
        which === "token"
          ? /cap_token does not verify/
          : /ttl, rate or expires_at differs from its cap_token/,
      );
      assert.equal(await fsckMain(["--data-dir", dir]), 4);
    });
  }
});

Deno.test("fsck: an admission row that points at the wrong record is named", async () => {
  await withCopy(async (dir) => {
    const kv = await Deno.openKv(`${dir}/index.kv`);
    const rows = [];
    for await (const e of kv.list<number[]>({ prefix: ["adm"] })) rows.push(e);
    assert.equal(rows.length, 2);
    await kv.set(rows[1]!.key, rows[0]!.value);
    kv.close();
    const rep = await fsck(dir);
    assert.equal(rep.ok, false);
    assert.equal(rep.error!.file, "index.kv");
    assert.match(rep.error!.what, /admission row for auth_ref [0-9a-f]{64} does not point at the newest/);
  });
});

Deno.test("fsck: a cap root row that is not the least issued_at of its records, or is missing, is named", async () => {
  for (const damage of ["later", "missing"] as const) {
    await withCopy(async (dir) => {
      const kv = await Deno.openKv(`${dir}/index.kv`);
      const rows = [];
      for await (const e of kv.list<number>({ prefix: ["adm_root"] })) rows.push(e);
      assert.equal(rows.length, 2);
      if (damage === "later") await kv.set(rows[0]!.key, rows[0]!.value + 1);
      else await kv.delete(rows[0]!.key);
      kv.close();
      const rep = await fsck(dir);
      assert.equal(rep.ok, false);
      assert.equal(rep.error!.file, "index.kv");
      assert.match(
        rep.error!.what,
        damage === "later" ? /cap root row [0-9a-f]{64} is not the least/ : /no cap root row/,
      );
    });
  }
});

Deno.test("fsck: the attachment accounting rows must agree with each other and with the files", async () => {
  await withCopy(async (dir) => {
    const kv = await Deno.openKv(`${dir}/index.kv`);
    try {
      const anon = new Uint8Array(0);
      assert.equal(
        (await kv.get(["att_owner", anon])).value,
        8192,
        "both anonymous uploads are charged, in blocks",
      );
      const waits = [];
      for await (const e of kv.list({ prefix: ["att_wait"] })) waits.push(e);
      assert.equal(waits.length, 2);
      await kv.set(["att_owner", anon], 4096);
      let rep = await fsck(dir);
      assert.equal(rep.error?.file, "index.kv");
      assert.match(rep.error!.what, /attachment charge of owner "" is 4096, its rows sum to 8192/);
      await kv.set(["att_owner", anon], 8192);
      await kv.delete(waits[0]!.key);
      rep = await fsck(dir);
      assert.match(
        rep.error?.what ?? "",
        /pending attachment [0-9a-f]{64} has no wait, so it would never be collected/,
      );
      await kv.set(waits[0]!.key, waits[0]!.value);
      // A row whose file is gone (an interrupted collection) is a warning.
      const hex = toHex(waits[1]!.key[2] as Uint8Array);
      await Deno.remove(`${dir}/attachments/${hex.slice(0, 2)}/${hex}`);
      rep = await fsck(dir);
      assert.ok(rep.ok, JSON.stringify(rep.error));
      assert.match(rep.warnings.map((w) => w.what).join("\n"), /attachment row without its file/);
    } finally {
      kv.close();
    }
  });
});

Deno.test("fsck: an attachment whose bytes changed is named; a leftover temp file is a warning", async () => {
  await withCopy(async (dir) => {
    const files: string[] = [];
    for await (const d of Deno.readDir(`${dir}/attachments`)) {
      for await (const f of Deno.readDir(`${dir}/attachments/${d.name}`)) {
        files.push(`attachments/${d.name}/${f.name}`);
      }
    }
    files.sort();
    assert.equal(files.length, 2);
    const sub = files[0]!.split("/").slice(0, 2).join("/");
    await Deno.writeFile(`${dir}/${sub}/.${"ab".repeat(32)}.1234.tmp`, new Uint8Array(5));
    let rep = await fsck(dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
    assert.equal(rep.warnings.length, 1);
    assert.match(rep.warnings[0]!.what, /temporary file of an interrupted attachment put/);

    await flipByte(`${dir}/${files[1]}`, 17);
    rep = await fsck(dir);
    assert.equal(rep.ok, false);
    assert.equal(rep.error!.file, files[1]);
    assert.match(rep.error!.what, /do not hash to its name/);
    assert.equal(await fsckMain(["--data-dir", dir]), 4);
  });
});

function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  throw new Error("needle not found");
}

// Keep last: removes the data dir the tests above copy.
Deno.test("fsck: cleanup of the shared clean data dir", async () => {
  if (shared !== undefined) await Deno.remove(shared.dir, { recursive: true });
  shared = undefined;
});
