/** ANCHOR0 end to end: the real hub's CHECKPOINT, the file backend, and every way verification must fail. */
import assert from "node:assert/strict";
import { decodeCheckpoint, encodeCheckpoint, toHex } from "../../core/mod.ts";
import { ANCHOR_RECORD_LEN } from "../../overlays/mod.ts";
import { newClient, runCli, tempDir } from "../testing/run.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";

Deno.test("anchor: publish the latest CHECKPOINT, verify it; tampered root, signature, log or no anchor fail", async () => {
  await withRealHub({ checkpointEvery: 2 }, async (hub, root) => {
    const c = await newClient(root, "c");
    ok(await runCli(["bench", "send", "--hub", hub.url, "--client", c, "--stream", "ops", "--count", "2"]));
    const backend = `${root}/anchors`;
    const cp = `${root}/cp.cbor`;
    const publish = (...extra: string[]) =>
      runCli([
        "anchor",
        "publish",
        "--hub",
        hub.url,
        "--stream",
        "ops",
        "--backend-dir",
        backend,
        "--json",
        ...extra,
      ]);
    await hub.settled(); // the checkpointer cuts CHECKPOINTs behind the commits
    const pub = await publish("--out", cp);
    ok(pub);
    const ref = pub.json().anchor_ref as string;
    assert.match(ref, /^0{16}[0-9a-f]{64}$/); // u64be(position 0) || digest
    assert.equal(pub.json().upto_seq, 2);
    assert.equal(
      toHex(await Deno.readFile(`${backend}/bindings/${ref}.cbor`)),
      toHex(await Deno.readFile(cp)),
    );
    assert.equal((await Deno.stat(`${backend}/anchors.log`)).size, ANCHOR_RECORD_LEN);
    assert.equal(pub.json().already_anchored, false);
    const skipped = ok(await publish("--skip-anchored"));
    assert.deepEqual(
      [skipped.json().already_anchored, skipped.json().anchor_ref, skipped.json().upto_seq],
      [true, ref, 2],
    );
    assert.equal((await Deno.stat(`${backend}/anchors.log`)).size, ANCHOR_RECORD_LEN);

    const verify = (file: string, ...extra: string[]) =>
      runCli(["anchor", "verify", "--checkpoint", file, "--backend-dir", backend, ...extra]);
    const good = ok(await verify(cp, "--hub", hub.url));
    assert.match(good.stdout, /hub_sig: ok\n/);
    assert.match(good.stdout, /anchor: ok\nvalid: yes\n$/);
    ok(await verify(cp, "--hub-key", toHex(hub.hubPk), "--anchor-ref", ref));
    ok(await runCli(["verify-anchor", "--checkpoint", cp, "--backend-dir", backend], { VEEN_HUB: hub.url }));

    // The same CHECKPOINT from `hub checkpoint --out`, anchored again from the file: position 1, chained.
    const cp2 = `${root}/cp2.cbor`;
    ok(await runCli(["hub", "checkpoint", "--hub", hub.url, "--stream", "ops", "--out", cp2]));
    const again = ok(
      await runCli([
        "anchor",
        "publish",
        "--checkpoint",
        cp2,
        "--hub-key",
        toHex(hub.hubPk),
        "--backend-dir",
        backend,
        "--nonce",
        "00ff",
        "--ts",
        "1700000000",
        "--json",
      ]),
    );
    assert.equal(again.json().position, 1);
    ok(await verify(cp, "--hub-key", toHex(hub.hubPk), "--anchor-ref", ref));
    ok(await verify(cp2, "--hub-key", toHex(hub.hubPk), "--anchor-ref", again.json().anchor_ref as string));

    const key = ["--hub-key", toHex(hub.hubPk)];
    const c0 = decodeCheckpoint(await Deno.readFile(cp));
    // Tampered root: the signature no longer verifies, and no anchor is recorded for that root.
    const badRoot = `${root}/bad-root.cbor`;
    const r = c0.mmrRoot.slice();
    r[0]! ^= 1;
    await Deno.writeFile(badRoot, encodeCheckpoint({ ...c0, mmrRoot: r }));
    const v1 = await verify(badRoot, ...key);
    assert.equal(v1.code, 4);
    assert.match(v1.stdout, /hub_sig: FAILED\n/);
    assert.match(v1.stdout, /anchor: missing\nvalid: no\n$/);
    assert.match(v1.stderr, /^E\.SIG:/);
    // Tampered root with the genuine anchor_ref: the anchor does not bind that root either.
    const v1b = await verify(badRoot, ...key, "--anchor-ref", ref);
    assert.equal(v1b.code, 4);
    assert.match(v1b.stdout, /anchor: FAILED\n/);
    // Tampered signature (root intact, so the anchor itself still holds).
    const badSig = `${root}/bad-sig.cbor`;
    const s = c0.hubSig.slice();
    s[10]! ^= 1;
    await Deno.writeFile(badSig, encodeCheckpoint({ ...c0, hubSig: s }));
    const v2 = await verify(badSig, ...key);
    assert.equal(v2.code, 4);
    assert.match(v2.stdout, /hub_sig: FAILED\n(.*\n)*anchor: ok\nvalid: no\n$/);
    // A checkpoint signed by another key fails under the pinned one.
    assert.equal((await verify(cp, "--hub-key", "11".repeat(32))).code, 4);
    // No anchor in this backend.
    const none = await runCli([
      "anchor",
      "verify",
      "--checkpoint",
      cp,
      "--backend-dir",
      `${root}/empty`,
      ...key,
    ]);
    assert.equal(none.code, 4);
    assert.match(none.stderr, /^E\.NOT_FOUND: No anchor recorded for mmr_root/);
    // A damaged anchor log record.
    const log = await Deno.readFile(`${backend}/anchors.log`);
    log[20]! ^= 1; // inside record 0's root
    await Deno.writeFile(`${backend}/anchors.log`, log);
    const v3 = await verify(cp, ...key);
    assert.equal(v3.code, 4);
    assert.match(v3.stdout, /anchor: FAILED\n/);
    // Damage in the last record stops publishing: nothing is ever chained onto a broken record.
    log[20 + ANCHOR_RECORD_LEN]! ^= 1;
    await Deno.writeFile(`${backend}/anchors.log`, log);
    const stuck = await runCli(["anchor", "publish", "--checkpoint", cp, ...key, "--backend-dir", backend]);
    assert.equal(stuck.code, 4);
    assert.match(stuck.stderr, /^E\.SIG: Anchor log .* is damaged at record 1/);

    // A timer (compile/veen-anchor@.timer) runs `publish --skip-anchored` on a cadence: a root already bound
    // is not anchored again, and the next CHECKPOINT is.
    const timer = (backendDir: string) =>
      runCli([
        "anchor",
        "publish",
        "--stream",
        "ops",
        "--skip-anchored",
        "--hub-key",
        toHex(hub.hubPk),
        "--json",
      ], {
        VEEN_HUB: hub.url,
        VEEN_ANCHOR_DIR: backendDir,
      });
    const tick1 = ok(await timer(`${root}/timer`)).json();
    const tick2 = ok(await timer(`${root}/timer`)).json();
    assert.deepEqual([tick1.already_anchored, tick1.position, tick1.upto_seq], [false, 0, 2]);
    assert.deepEqual([tick2.already_anchored, tick2.anchor_ref], [true, tick1.anchor_ref]);
    ok(await runCli(["bench", "send", "--hub", hub.url, "--client", c, "--stream", "ops", "--count", "2"]));
    await hub.settled();
    const tick3 = ok(await timer(`${root}/timer`)).json();
    assert.deepEqual([tick3.already_anchored, tick3.position, tick3.upto_seq], [false, 1, 4]);
    assert.equal((await Deno.stat(`${root}/timer/anchors.log`)).size, 2 * ANCHOR_RECORD_LEN);
  });
});

Deno.test("anchor: usage errors for a missing backend dir or stream", async () => {
  const r1 = await runCli(["anchor", "verify", "--checkpoint", "/nonexistent"]);
  assert.equal(r1.code, 1);
  const r2 = await runCli(["anchor", "publish", "--backend-dir", "/tmp/x", "--hub", "http://127.0.0.1:1"]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /--stream/);
});

Deno.test("anchor verify --stream checks the anchor the hub stored (ANCHOR0.2, GET /anchor); a tampered ledger fails", async () => {
  const t = await tempDir();
  const root = t.path;
  const ledger = `${root}/ledger`;
  try {
    await withRealHub({
      checkpointEvery: 1,
      config: { anchorBackend: `file:${ledger}`, anchorIntervalSec: 0 },
    }, async (hub) => {
      const c = await newClient(root, "c2");
      // One commit per message (--single), so that checkpoint_every 1 makes one CHECKPOINT per entry.
      ok(
        await runCli([
          "bench",
          "send",
          "--hub",
          hub.url,
          "--client",
          c,
          "--stream",
          "ops",
          "--count",
          "2",
          "--single",
        ]),
      );
      await hub.settled();
      const verify = (...extra: string[]) =>
        runCli(["anchor", "verify", "--hub", hub.url, "--stream", "ops", "--backend-dir", ledger, ...extra]);
      const good = ok(await verify("--json"));
      assert.deepEqual([good.json().upto_seq, good.json().anchor, good.json().valid], [2, "ok", true]);
      const log = await Deno.readFile(`${ledger}/anchors.log`);
      assert.equal(log.length, 2 * ANCHOR_RECORD_LEN); // seq 1, then seq 2 (anchor_interval_sec 0)
      log[log.length - ANCHOR_RECORD_LEN + 20]! ^= 1; // the root of the last record
      await Deno.writeFile(`${ledger}/anchors.log`, log);
      const bad = await verify();
      assert.equal(bad.code, 4);
      assert.match(bad.stdout, /anchor: FAILED\nvalid: no\n/);
      // No --checkpoint and no --stream: a usage error.
      assert.equal((await runCli(["anchor", "verify", "--hub", hub.url, "--backend-dir", ledger])).code, 1);
    });
  } finally {
    await t.cleanup();
  }
});
