/**
 * `veen hub backup` / `veen hub restore` end to end against real hubs on loopback (docs/operations.md "Back up and
 * restore"): an online backup under concurrent submits restores into a new dir where every RECEIPT acknowledged
 * before the backup started is present with its proof, fsck passes and the heads equal the metadata, without a
 * full replay; a damaged or cut backup, a non-empty dir and a dir a hub holds are refused with exit 4 and nothing
 * written; POST /admin/backup refuses requests not signed with the hub key, and replays.
 */
import assert from "node:assert/strict";
import {
  bytesEqual,
  decodeCbor,
  decodeMmrProof,
  decodeReceipt,
  encodeCbor,
  fromHex,
  signingKeyFromSeed,
  toHex,
  verifyInclusion,
} from "../core/mod.ts";
import { captureIo, type HubState, writeHubState } from "../cmd/mod.ts";
import { fsck, hubMain } from "../hub/mod.ts";
import { writeBackup } from "../hub/backup.ts";
import { openDiskStore } from "../hub/disk_store.ts";
import { ADMIN_AUTH_HEADER, signAdminRequest } from "../hub/admin_auth.ts";
import { errorCode, http, startTestHub, submit, Writer } from "./fixture.ts";
import { snapshotDir } from "./util.ts";

async function veenHub(args: string[]) {
  const io = captureIo();
  const code = await hubMain([...args, "--json"], io);
  const out = io.out.join("");
  // Under --json a failure is `{ok: false, code, detail}` on stdout.
  const json = out.trim() === "" ? {} : JSON.parse(out);
  return { code, json, err: io.err.join("") + (json.ok === false ? `${json.code}: ${json.detail}` : "") };
}

interface Acked {
  label: Uint8Array;
  seq: number;
  receipt: Uint8Array;
}

async function send(url: string, w: Writer): Promise<Acked> {
  const r = await submit(url, w.msg());
  assert.equal(r.status, 200, `submit: ${r.status}`);
  const rc = decodeReceipt(r.body);
  return { label: w.label, seq: rc.streamSeq, receipt: r.body };
}

async function empty(dir: string): Promise<boolean> {
  for await (const _ of Deno.readDir(dir)) return false;
  return true;
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("an online backup under concurrent submits restores every acknowledged entry, verified, without a full replay", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-backup-" });
  const src = `${root}/src`;
  const dst = `${root}/dst`;
  const file = `${root}/hub.backup`;
  // Small segments, so that the backup spans rotated segments, sidecars and the active one.
  const hub = await startTestHub(src, { segmentBytes: 8 * 1024 });
  let restored: Awaited<ReturnType<typeof startTestHub>> | undefined;
  try {
    const writers = [new Writer("backup/a", 3), new Writer("backup/b", 4), new Writer("backup/c", 5)];
    const acked: Acked[] = [];
    for (let i = 0; i < 40; i++) acked.push(await send(hub.url, writers[i % 3]!));
    // Concurrent writers: each sends until the backup is done. The cap only bounds a backup that waited for the
    // load to end (then all 3 × CAP go in first); a fixed 80 each was sent before a quick backup finished.
    const CAP = 5000;
    let stop = false;
    let reachedLoad!: () => void;
    const loaded = new Promise<void>((r) => (reachedLoad = r));
    const load = writers.map(async (w) => {
      for (let i = 0; i < CAP && !stop; i++) {
        acked.push(await send(hub.url, w));
        if (acked.length === 70) reachedLoad();
      }
    });
    await loaded;
    // What was acknowledged up to here was acknowledged before the backup started.
    const ackedBefore = acked.slice();
    const b = await veenHub(["backup", "--hub", hub.url, "--hub-key", `${src}/hub_key`, "--out", file]);
    const ackedDuring = acked.length - ackedBefore.length;
    // The backup did not wait for the load to end (the index writer yields to it instead of running on).
    const finishedUnderLoad = acked.length < 40 + 3 * CAP;
    stop = true;
    await Promise.all(load);
    assert.equal(b.code, 0, b.err);
    assert.equal(b.json.taken, "online");
    assert.deepEqual(b.json.secrets, ["hub_key", "realm_admin_key"]);
    assert.ok(ackedDuring > 0, "submits went on during the backup");
    assert.ok(finishedUnderLoad, "the backup finished while submits went on");

    const r = await veenHub(["restore", "--backup", file, "--data-dir", dst]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.json.labels, b.json.labels);
    // No full replay: at most the log past the backed-up index (the index writer runs every 250 ms).
    assert.ok(
      r.json.replayed_at_open < r.json.entries,
      `replayed ${r.json.replayed_at_open} of ${r.json.entries}`,
    );
    const rep = await fsck(dst);
    assert.equal(rep.error, undefined, JSON.stringify(rep.error));
    assert.equal(rep.summary.entries, b.json.entries);

    restored = await startTestHub(dst);
    assert.equal(toHex(restored.hubKey.public), toHex(hub.hubKey.public));
    for (const l of b.json.labels as { label: string; last_stream_seq: number; mmr_root: string }[]) {
      const h = JSON.parse(
        new TextDecoder().decode((await http(`${restored.url}/healthz?label=${l.label}`)).body),
      );
      assert.equal(h.last_stream_seq, l.last_stream_seq);
      assert.equal(h.last_mmr_root, l.mmr_root);
    }
    for (const a of ackedBefore) {
      const q = `label=${toHex(a.label)}&seq=${a.seq}`;
      const rc = await http(`${restored.url}/receipt?${q}`);
      assert.equal(rc.status, 200);
      assert.ok(bytesEqual(rc.body, a.receipt), `receipt ${q}`);
      const [proof, size, root] = decodeCbor((await http(`${restored.url}/proof?${q}`)).body) as [
        Uint8Array,
        number,
        Uint8Array,
      ];
      assert.ok(verifyInclusion(decodeMmrProof(encodeCbor(proof)), root, { seq: a.seq, size }), `proof ${q}`);
    }
    // The restored hub goes on from the backup's heads.
    const next = await send(restored.url, new Writer("backup/fresh", 9));
    assert.equal(next.seq, 1);
  } finally {
    await restored?.close();
    await hub.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("entries acknowledged after the cut are not restored, and the restored heads are the cut's", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-backup-" });
  const src = `${root}/src`;
  await Deno.mkdir(src);
  const store = await openDiskStore(src, { segmentBytes: 8 * 1024 });
  const hub = await startTestHub(src, {}, { store });
  let restored: Awaited<ReturnType<typeof startTestHub>> | undefined;
  try {
    const w = new Writer("backup/cut", 10);
    for (let i = 0; i < 30; i++) await send(hub.url, w);
    const chunks: Uint8Array[] = [];
    let after: Acked[] = [];
    const meta = await writeBackup({
      dataDir: src,
      store: {
        snapshot: (copy) =>
          store.snapshot(async (cut) => {
            // Durable and acknowledged after the cut, before the files are copied.
            for (let i = 0; i < 10; i++) after.push(await send(hub.url, w));
            return await copy(cut);
          }),
      },
      hubPk: hub.hubKey.public,
      taken: "online",
      now: Date.now,
    }, (c) => Promise.resolve(void chunks.push(c)));
    assert.equal(meta.entries, 30);
    await Deno.writeFile(`${root}/b`, new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer()));
    const r = await veenHub(["restore", "--backup", `${root}/b`, "--data-dir", `${root}/dst`]);
    assert.equal(r.code, 0, r.err);
    assert.equal((await fsck(`${root}/dst`)).error, undefined);
    restored = await startTestHub(`${root}/dst`);
    const label = toHex(w.label);
    const h = JSON.parse(
      new TextDecoder().decode((await http(`${restored.url}/healthz?label=${label}`)).body),
    );
    assert.equal(h.last_stream_seq, 30);
    assert.equal(h.last_mmr_root, meta.labels[0]!.mmr_root);
    assert.equal((await http(`${restored.url}/receipt?label=${label}&seq=${after[0]!.seq}`)).status, 404);
    after = [];
  } finally {
    await restored?.close();
    await hub.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a damaged, cut or foreign backup is refused with exit 4 and nothing written", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-backup-" });
  const src = `${root}/src`;
  const file = `${root}/hub.backup`;
  try {
    const hub = await startTestHub(src);
    try {
      const w = new Writer("backup/tamper", 6);
      for (let i = 0; i < 10; i++) await send(hub.url, w);
      await hub.settled();
    } finally {
      await hub.close();
    }
    // No hub runs on src: the backup is taken from the data dir, under its lock.
    const b = await veenHub(["backup", "--hub", src, "--out", file]);
    assert.equal(b.code, 0, b.err);
    assert.equal(b.json.taken, "offline");
    assert.equal(
      (await veenHub(["backup", "--hub", src, "--out", file])).code,
      4,
      "an existing file is refused",
    );
    const good = await Deno.readFile(file);
    const cases: [string, Uint8Array][] = [
      [
        "flipped byte",
        (() => {
          const c = good.slice();
          c[Math.floor(c.length / 2)]! ^= 0x01;
          return c;
        })(),
      ],
      [
        "flipped checksum",
        (() => {
          const c = good.slice();
          c[c.length - 20]! ^= 0x80;
          return c;
        })(),
      ],
      ["truncated", good.slice(0, good.length - 100)],
      ["cut at a frame", good.slice(0, Math.floor(good.length / 3))],
      ["empty", new Uint8Array(0)],
      ["trailing bytes", new Uint8Array([...good, 0])],
    ];
    for (const [what, bytes] of cases) {
      const bad = `${root}/bad.backup`;
      await Deno.writeFile(bad, bytes);
      const dst = `${root}/dst-${what.replace(/ /g, "-")}`;
      const r = await veenHub(["restore", "--backup", bad, "--data-dir", dst]);
      assert.equal(r.code, 4, `${what}: ${r.err}`);
      assert.match(r.err, /E\.SIZE: Backup .* is damaged/, `${what}: ${r.err}`);
      assert.equal(await exists(dst), false, `${what}: nothing is written`);
      // An existing empty dir stays empty.
      await Deno.mkdir(dst);
      assert.equal((await veenHub(["restore", "--backup", bad, "--data-dir", dst])).code, 4);
      assert.ok(await empty(dst), `${what}: the dir stays empty`);
    }
    // The intact file restores.
    const ok = await veenHub(["restore", "--backup", file, "--data-dir", `${root}/dst-ok`]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal((await fsck(`${root}/dst-ok`)).error, undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("restore refuses a non-empty data dir and one a running hub holds, changing nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-backup-" });
  const src = `${root}/src`;
  const file = `${root}/hub.backup`;
  const hub = await startTestHub(src);
  try {
    await send(hub.url, new Writer("backup/refuse", 7));
    // What `veen hub start` writes for the CLI: the URL of the hub holding the dir.
    await writeHubState(
      src,
      { listen: hub.url.slice("http://".length), url: hub.url, pid: Deno.pid } as HubState,
    );
    assert.equal(
      (await veenHub(["backup", "--hub", src, "--out", file])).code,
      0,
      "through the hub holding src",
    );
    const full = `${root}/full`;
    await Deno.mkdir(full);
    await Deno.writeTextFile(`${full}/notes.txt`, "keep");
    const r1 = await veenHub(["restore", "--backup", file, "--data-dir", full]);
    assert.equal(r1.code, 4);
    assert.match(r1.err, /E\.DUP: Data dir .* is not empty/);
    assert.deepEqual(Object.keys(await snapshotDir(full)), ["notes.txt"]);
    const before = await snapshotDir(src, true);
    const r2 = await veenHub(["restore", "--backup", file, "--data-dir", src]);
    assert.equal(r2.code, 4);
    assert.match(r2.err, /E\.UNAVAILABLE: Data dir .* is in use by another process/);
    const after = await snapshotDir(src, true);
    delete before["lock"];
    delete after["lock"];
    assert.deepEqual(after, before);
  } finally {
    await hub.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("POST /admin/backup answers only requests signed with the hub key, once each", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-backup-" });
  const hub = await startTestHub(`${root}/src`);
  try {
    const post = (h?: string) =>
      http(`${hub.url}/admin/backup`, {
        method: "POST",
        headers: h === undefined ? {} : { [ADMIN_AUTH_HEADER]: h },
      });
    const none = await post();
    assert.equal(none.status, 403);
    assert.equal(errorCode(none), "E.AUTH");
    const now = Math.floor(Date.now() / 1000);
    const other = signAdminRequest(
      signingKeyFromSeed(new Uint8Array(32).fill(9)),
      "POST",
      "/admin/backup",
      now,
    );
    assert.equal(errorCode(await post(other)), "E.AUTH");
    const stale = signAdminRequest(hub.hubKey, "POST", "/admin/backup", now - 3600);
    assert.equal(errorCode(await post(stale)), "E.AUTH");
    const wrongPath = signAdminRequest(hub.hubKey, "POST", "/admin/other", now);
    assert.equal(errorCode(await post(wrongPath)), "E.AUTH");
    const good = signAdminRequest(hub.hubKey, "POST", "/admin/backup", now);
    const ok = await post(good);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("content-type"), "application/octet-stream");
    assert.ok(ok.body.length > 0);
    assert.equal(errorCode(await post(good)), "E.AUTH", "a replayed request is refused");
  } finally {
    await hub.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a hub refuses to start on a data dir holding an unfinished restore", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-backup-" });
  try {
    await Deno.mkdir(`${root}/dir/.restore-1234`, { recursive: true });
    await assert.rejects(() => startTestHub(`${root}/dir`), /holds an unfinished restore/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// The hub key is parsed by the restore; keep the helper honest about its format.
Deno.test("the backup metadata names the hub key it restores", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-backup-" });
  try {
    const hub = await startTestHub(`${root}/src`);
    await hub.close();
    const b = await veenHub(["backup", "--hub", `${root}/src`, "--out", `${root}/b`]);
    assert.equal(b.code, 0, b.err);
    assert.equal(b.json.hub_id.length, 64);
    assert.equal(fromHex(b.json.profile_id, 32).length, 32);
    assert.deepEqual(b.json.labels, []);
    const r = await veenHub(["restore", "--backup", `${root}/b`, "--data-dir", `${root}/dst`]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await Deno.readFile(`${root}/dst/hub_key`), await Deno.readFile(`${root}/src/hub_key`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
