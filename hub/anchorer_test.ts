import assert from "node:assert/strict";
import { decodeCheckpoint, fromHex, toHex, verifyCheckpointSig } from "../core/mod.ts";
import { ANCHOR_RECORD_LEN } from "../overlays/mod.ts";
import { FileAnchorLog } from "../cmd/mod.ts";
import { errorCode, http, startTestHub, submit, testConfig, Writer } from "../tests/fixture.ts";
import type { RunningHub } from "./hub.ts";
import { validateConfig } from "./config.ts";
import { ANCHORS_FILE, encodeAnchorEntry } from "./anchorer.ts";
import { fsck } from "./fsck.ts";
import { encodeFrame } from "./frame.ts";

interface AnchorJson {
  label: string;
  upto_seq: number;
  mmr_root: string;
  anchor_ref: string;
  anchored_at: number;
  checkpoint: string;
}

async function anchorOf(hub: RunningHub, w: Writer): Promise<AnchorJson | string> {
  const r = await http(`${hub.url}/anchor?label=${toHex(w.label)}`);
  return r.status === 200 ? JSON.parse(new TextDecoder().decode(r.body)) : `${r.status} ${errorCode(r)}`;
}

/** The anchor the hub serves, checked against the ledger and the hub key. */
async function checkedAnchor(hub: RunningHub, w: Writer, ledger: FileAnchorLog): Promise<AnchorJson> {
  const a = await anchorOf(hub, w);
  assert.ok(typeof a !== "string", `GET /anchor: ${a}`);
  const cp = decodeCheckpoint(fromHex(a.checkpoint));
  assert.ok(verifyCheckpointSig(cp, hub.hubKey.public));
  assert.deepEqual([cp.uptoSeq, toHex(cp.mmrRoot), toHex(cp.labelCurr)], [a.upto_seq, a.mmr_root, a.label]);
  assert.equal(await ledger.verify(cp.mmrRoot, fromHex(a.anchor_ref)), true);
  return a;
}

Deno.test("the hub anchors each label's latest CHECKPOINT at anchor_interval_sec, once, and keeps anchor_ref across restarts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-anchor-" });
  const clock = { ms: 1_700_000_000_000 };
  const ledger = new FileAnchorLog(`${dir}/ledger`);
  const cfg = { checkpointEvery: 1, anchorBackend: `file:${ledger.dir}`, anchorIntervalSec: 60 };
  const start = () => startTestHub(`${dir}/hub`, cfg, { now: () => clock.ms, retentionIntervalMs: 0 });
  const ledgerRecords = async () => (await Deno.stat(ledger.logPath)).size / ANCHOR_RECORD_LEN;
  let hub = await start();
  try {
    const w = new Writer("t/anchor");
    assert.equal(await anchorOf(hub, w), "404 E.NOT_FOUND");
    assert.equal((await submit(hub.url, w.msg())).status, 200);
    await hub.settled();
    // A label's first CHECKPOINT is anchored at once.
    const a1 = await checkedAnchor(hub, w, ledger);
    assert.deepEqual([a1.upto_seq, a1.anchored_at], [1, clock.ms / 1000]);
    // Within the interval a newer CHECKPOINT waits.
    assert.equal((await submit(hub.url, w.msg())).status, 200);
    await hub.settled();
    await hub.anchorPass();
    assert.equal((await checkedAnchor(hub, w, ledger)).upto_seq, 1);
    // Once the interval has passed, the next pass anchors it (no new entry needed).
    clock.ms += 60_000;
    await hub.anchorPass();
    const a2 = await checkedAnchor(hub, w, ledger);
    assert.equal(a2.upto_seq, 2);
    assert.equal(hub.metrics.anchored, 2);
    await hub.close();
    // After a restart the stored anchor is served, and an anchored CHECKPOINT is not anchored again.
    hub = await start();
    await hub.settled();
    clock.ms += 600_000;
    await hub.anchorPass();
    assert.deepEqual(await checkedAnchor(hub, w, ledger), a2);
    assert.equal(await ledgerRecords(), 2);
    assert.equal(hub.metrics.anchored, 0);
    assert.equal(hub.metrics.anchorFail, 0);
    assert.match(hub.metrics.render(), /^veen_anchor_total 0$/m);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an anchor backend that cannot be written counts in veen_anchor_fail_total; the next pass retries", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-anchor-" });
  const blocker = `${dir}/blocker`;
  await Deno.writeFile(blocker, new Uint8Array([1])); // a file where the ledger's directory would be
  const ledger = new FileAnchorLog(`${blocker}/ledger`);
  const hub = await startTestHub(`${dir}/hub`, {
    checkpointEvery: 1,
    anchorBackend: `file:${ledger.dir}`,
    anchorIntervalSec: 0,
  }, { retentionIntervalMs: 0 });
  try {
    const w = new Writer("t/anchor-fail");
    assert.equal(
      (await submit(hub.url, w.msg())).status,
      200,
      "a failing anchor backend never blocks submits",
    );
    await hub.settled();
    assert.equal(hub.metrics.anchorFail, 1);
    assert.match(hub.metrics.render(), /^veen_anchor_fail_total 1$/m);
    assert.equal(await anchorOf(hub, w), "404 E.NOT_FOUND");
    await Deno.remove(blocker);
    await hub.anchorPass();
    assert.equal((await checkedAnchor(hub, w, ledger)).upto_seq, 1);
    assert.equal(hub.metrics.anchorFail, 1);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("anchor_backend must be file:DIR", () => {
  const cfg = testConfig("/tmp/x", { anchorBackend: "s3://bucket" });
  assert.throws(() => validateConfig(cfg), /anchor_backend must be "file:DIR" or empty, not "s3:\/\/bucket"/);
  validateConfig(testConfig("/tmp/x", { anchorBackend: "file:/tmp/ledger" }));
});

Deno.test("fsck checks anchors.cborseq: each anchored CHECKPOINT is the hub's for its record's label and upto_seq", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-anchor-" });
  const ledger = new FileAnchorLog(`${dir}/ledger`);
  const cfg = { checkpointEvery: 1, anchorBackend: `file:${ledger.dir}`, anchorIntervalSec: 0 };
  const hub = await startTestHub(`${dir}/hub`, cfg, { retentionIntervalMs: 0 });
  let a: AnchorJson;
  try {
    const w = new Writer("t/anchor-fsck");
    for (let i = 0; i < 3; i++) assert.equal((await submit(hub.url, w.msg())).status, 200);
    await hub.settled();
    a = await checkedAnchor(hub, w, ledger);
  } finally {
    await hub.close();
  }
  try {
    assert.equal((await fsck(`${dir}/hub`)).ok, true);
    // A record that names another upto_seq than its CHECKPOINT.
    const forged = encodeAnchorEntry({
      label: fromHex(a.label),
      uptoSeq: a.upto_seq - 1,
      anchorRef: fromHex(a.anchor_ref),
      anchoredAt: a.anchored_at,
      checkpoint: fromHex(a.checkpoint),
    });
    const f = await Deno.open(`${dir}/hub/${ANCHORS_FILE}`, { append: true });
    await f.write(encodeFrame(forged));
    f.close();
    const rep = await fsck(`${dir}/hub`);
    assert.equal(rep.ok, false);
    assert.match(rep.error!.what, /anchored CHECKPOINT label_curr or upto_seq differs from its record/);
    assert.match(rep.error!.file, /^anchors\.cborseq@\d+$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
