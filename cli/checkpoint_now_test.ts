/**
 * `veen hub checkpoint --now` against a real hub with admin_keys (SDR0 on-demand checkpoints): the admin's request
 * makes the hub emit a CHECKPOINT at the head at once (so `anchor publish` right after finds one) and sign an
 * export checkpoint over several streams; a producer's request is refused, and a stream without entries is
 * E.NOT_FOUND.
 */
import assert from "node:assert/strict";
import { decodeExportCheckpoint, fromHex, verifyExportCheckpointSig } from "../core/mod.ts";
import { withAdminHub } from "./testing/admin_hub.ts";
import { runCli } from "./testing/run.ts";

/** `veen hub checkpoint --hub HUB --stream S... --now --admin SIGNER --json ...` (default stream record/app/a). */
const checkpointNow = (hub: string, signer: string, streams = ["record/app/a"], ...more: string[]) =>
  runCli([
    "hub",
    "checkpoint",
    "--hub",
    hub,
    ...streams.flatMap((s) => ["--stream", s]),
    "--now",
    "--admin",
    signer,
    "--json",
    ...more,
  ]);

Deno.test("hub checkpoint --now: a CHECKPOINT at the head at once, anchor publish right after, export checkpoint over two streams", async () => {
  await withAdminHub(async (h) => {
    const producer = await h.client("producer");
    let last: Record<string, unknown> = {};
    for (let i = 0; i < 3; i++) last = (await h.send(producer, "record/app/a", `{"n":${i}}`)).json();
    await h.send(producer, "record/app/b", "{}");
    const backend = `${h.root}/anchors`;
    const publish = () =>
      runCli([
        "anchor",
        "publish",
        "--hub",
        h.hub,
        "--stream",
        "record/app/a",
        "--backend-dir",
        backend,
        "--json",
      ]);
    const before = await publish();
    assert.equal(before.code, 4, before.stdout + before.stderr);
    assert.match(before.stdout, /E\.NOT_FOUND/);

    const r = await checkpointNow(
      h.hub,
      h.admin,
      ["record/app/a", "record/app/b"],
      "--export-out",
      `${h.root}/export.cbor`,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const j = r.json();
    assert.equal(j.upto_seq, 3);
    assert.equal(j.mmr_root, last.mmr_root);
    const list = j.checkpoints as Record<string, unknown>[];
    assert.deepEqual(list.map((c) => [c.stream, c.upto_seq]), [["record/app/a", 3], ["record/app/b", 1]]);
    const exp = decodeExportCheckpoint(await Deno.readFile(`${h.root}/export.cbor`));
    assert.ok(verifyExportCheckpointSig(exp));
    assert.deepEqual(exp.streams.map((s) => s.lastSeq), [3, 1]);
    assert.deepEqual(exp.streams[0]!.mmrRoot, fromHex(j.mmr_root as string));

    const after = await publish();
    assert.equal(after.code, 0, after.stdout + after.stderr);
    assert.equal(after.json().upto_seq, 3);
    // A second request at the same head answers the same CHECKPOINT.
    const again = await checkpointNow(h.hub, h.admin);
    assert.equal(again.json().mmr_root, j.mmr_root);
    const latest = await runCli(["hub", "checkpoint", "--hub", h.hub, "--stream", "record/app/a", "--json"]);
    assert.equal(latest.json().upto_seq, 3);
    // The hub restarts from a store with on-demand CHECKPOINTs and goes on checkpointing after them.
    await h.restart();
    const kept = await runCli(["hub", "checkpoint", "--hub", h.hub, "--stream", "record/app/a", "--json"]);
    assert.equal(kept.json().mmr_root, j.mmr_root);
    const fourth = (await h.send(producer, "record/app/a", "{}")).json();
    const next = (await checkpointNow(h.hub, h.admin)).json();
    assert.deepEqual([next.upto_seq, next.mmr_root], [4, fourth.mmr_root]);
  });
});

Deno.test("hub checkpoint --now: a producer's request is E.AUTH, an empty stream E.NOT_FOUND, flags without --now are usage errors", async () => {
  await withAdminHub(async (h) => {
    const producer = await h.client("producer");
    await h.send(producer, "record/app/a", "{}");
    const asProducer = await checkpointNow(h.hub, producer);
    assert.equal(asProducer.code, 4);
    assert.equal(asProducer.json().code, "E.AUTH");
    const empty = await checkpointNow(h.hub, h.admin, ["record/app/none"]);
    assert.equal(empty.code, 4);
    assert.equal(empty.json().code, "E.NOT_FOUND");
    const usage = await runCli(["hub", "checkpoint", "--hub", h.hub, "--stream", "x", "--admin", h.admin]);
    assert.equal(usage.code, 1);
  });
});
