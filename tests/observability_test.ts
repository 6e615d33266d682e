/**
 * Observability on a real hub: the OBS0.2 submit log fields as named, and the spec 000 §10.2 metrics (appends per
 * label, capability checks ok and failed, revocation view update lag, checkpoint age) in /metrics, and every metric the
 * shipped alert rules and Grafana dashboard (ops/observability.ts, compile/) use.
 */
import assert from "node:assert/strict";
import {
  authRef,
  decodeRealmDescriptor,
  encodeCapToken,
  issueCapToken,
  leafHash,
  realmIdFor,
  signingKeyFromSeed,
  streamIdFor,
  toHex,
} from "../core/mod.ts";
import { adminStreamsOf, REVOCATION } from "../overlays/mod.ts";
import { Logger } from "../hub/mod.ts";
import { observabilityExprs } from "../ops/observability.ts";
import { adminRecordMsg, FED_ADMIN } from "./federation.ts";
import { http, postCbor, startTestHub, submit, Writer } from "./fixture.ts";

const metricsOf = async (url: string) => new TextDecoder().decode((await http(url + "/metrics")).body);

Deno.test("OBS0.2 submit lines carry client_id_prefix and leaf_hash_prefix; cap checks and appends are counted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-obs-" });
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger("info", "hub", "standalone", (l) => lines.push(JSON.parse(l)));
  const hub = await startTestHub(dir, { admission: "on" }, { logger });
  try {
    const w = new Writer("obs/caps", 12);
    const tok = issueCapToken({
      issuerSecret: hub.hubKey.secret,
      issuerPk: hub.hubKey.public,
      subjectPk: w.key.public,
      streamIds: [streamIdFor("obs/caps")],
      ttl: 600,
    });
    assert.equal((await postCbor(hub.url, "/authorize", encodeCapToken(tok))).status, 200);
    const ok = w.msg({ authRef: authRef(tok) });
    assert.equal((await submit(hub.url, ok)).status, 200);
    assert.equal((await submit(hub.url, w.msg({ authRef: authRef(tok) }))).status, 200);
    assert.equal((await submit(hub.url, w.msg({ authRef: new Uint8Array(32).fill(9) }))).status, 403);

    const submits = lines.filter((l) => l.msg === "submit");
    assert.equal(submits.length, 3);
    const first = submits[0]!;
    for (const k of ["label", "client_id_prefix", "stream_seq", "leaf_hash_prefix", "code", "bytes_in"]) {
      assert.ok(k in first, `field ${k}`);
    }
    for (const k of ["bytes_out", "verify_ms", "commit_ms"]) assert.ok(k in first, `field ${k}`);
    assert.equal(first.client_id_prefix, toHex(w.key.public).slice(0, 8));
    assert.equal(first.leaf_hash_prefix, toHex(leafHash(ok)).slice(0, 8));
    assert.equal(submits[2]!.code, "E.AUTH");

    const text = await metricsOf(hub.url);
    assert.match(text, /^veen_cap_checks_total\{result="ok"\} 2$/m);
    assert.match(text, /^veen_cap_checks_total\{result="fail"\} 1$/m);
    assert.match(text, new RegExp(`^veen_appends_total\\{label="${toHex(w.label).slice(0, 16)}"\\} 2$`, "m"));
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("veen_revocation_lag_ms observes a revocation folded while the hub serves", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-obs-rev-" });
  const hub = await startTestHub(dir, { adminKeys: [toHex(FED_ADMIN.public)] });
  try {
    assert.match(await metricsOf(hub.url), /^veen_revocation_lag_ms_count 0$/m);
    const recipientPk =
      decodeRealmDescriptor((await http(hub.url + "/realm")).body, hub.hubKey.public).adminPk;
    const revoke = adminStreamsOf(realmIdFor("default"), new Uint8Array(0))[1]!;
    const target = signingKeyFromSeed(new Uint8Array(32).fill(77)).public;
    const ts = Math.floor(Date.now() / 1000) - 5;
    const msg = await adminRecordMsg({
      key: FED_ADMIN,
      label: revoke.label,
      seq: 1,
      recipientPk,
      schema: REVOCATION.schemaId,
      body: REVOCATION.encode({ kind: "client-id", target, ts }),
    });
    assert.equal((await submit(hub.url, msg)).status, 200);
    const text = await metricsOf(hub.url);
    assert.match(text, /^veen_revocation_lag_ms_count 1$/m);
    const sum = Number(/^veen_revocation_lag_ms_sum (\S+)$/m.exec(text)![1]);
    assert.ok(sum >= 4_000, `lag ${sum} ms for a revocation issued 5 s ago`);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every metric the shipped alert rules and dashboard use is exported by a real hub's /metrics", async () => {
  const used = new Set(observabilityExprs().flatMap((e) => e.match(/\bveen_[a-z0-9_]+/g) ?? []));
  assert.ok(used.size >= 15, [...used].join(" "));
  const dir = await Deno.makeTempDir({ prefix: "veen-obs-assets-" });
  const hub = await startTestHub(dir, {});
  try {
    // One accepted and one refused submission, so that the labelled series have samples.
    const w = new Writer("obs/assets", 15);
    assert.equal((await submit(hub.url, w.msg())).status, 200);
    assert.equal((await submit(hub.url, w.msg({ clientSeq: 1 }))).status, 409);
    const text = await metricsOf(hub.url);
    const exported = new Set(
      text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => /^[a-z0-9_]+/.exec(l)![0]),
    );
    const missing = [...used].filter((m) => !exported.has(m)).sort();
    assert.deepEqual(
      missing,
      [],
      `used by compile/veen-alerts.yaml or veen-hub-dashboard.json, not in /metrics`,
    );
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("veen_checkpoint_age_seconds counts from the oldest entry without a CHECKPOINT; a CHECKPOINT resets it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-obs-cp-" });
  let t = 1_800_000_000_000;
  let written!: () => void;
  const checkpointed = new Promise<void>((r) => written = r);
  const logger = new Logger("debug", "hub", "standalone", (l) => {
    if (JSON.parse(l).msg === "checkpoint") written();
  });
  const hub = await startTestHub(dir, { checkpointEvery: 2, checkpointIntervalSec: 3600 }, {
    now: () => t,
    logger,
  });
  try {
    const w = new Writer("obs/cp", 14);
    assert.match(await metricsOf(hub.url), /^veen_checkpoint_age_seconds 0$/m);
    assert.equal((await submit(hub.url, w.msg())).status, 200);
    t += 90_000;
    assert.match(await metricsOf(hub.url), /^veen_checkpoint_age_seconds 90$/m);
    assert.equal((await submit(hub.url, w.msg())).status, 200); // the second entry makes a CHECKPOINT
    await checkpointed;
    assert.match(await metricsOf(hub.url), /^veen_checkpoint_age_seconds 0$/m);
    assert.match(await metricsOf(hub.url), /^veen_ready 1$/m);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});
