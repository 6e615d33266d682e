/**
 * SDR0 recorder end to end on real hubs (001 L740-970, docs/recorder.md): `record init` classifies the streams
 * long_term, `record emit` appends record.event.v1 sealed to the admin, `record replay` returns exactly the range
 * or the hub_ts window with every item verified; `veen stream --from --to` is exact. Failure paths on a malicious
 * hub: a corrupted RECEIPT, a withheld item and a CHECKPOINT the served items do not reach are loud (exit 4), never
 * a shorter answer (I2).
 */
import assert from "node:assert/strict";
import { withAdminHub } from "../cli/testing/admin_hub.ts";
import { hubSeedOf, startMaliciousHub } from "../cli/testing/malicious_hub.ts";
import { startRealHub } from "../cli/testing/real_hub.ts";
import { type CliRun, newClient, runCli, tempDir } from "../cli/testing/run.ts";

const STREAM = "record/security/auth";

function ok(r: CliRun): Record<string, unknown> {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.json();
}

function refused(r: CliRun, code: string, detail?: RegExp): void {
  assert.equal(r.code, 4, `exit ${r.code}\n${r.stdout}${r.stderr}`);
  const j = r.json();
  assert.equal(j.code, code, String(j.detail));
  if (detail !== undefined) assert.match(String(j.detail), detail);
}

const emit = (hub: string, producer: string, to: string, n: number, ...more: string[]) =>
  runCli([
    "record",
    "emit",
    "--hub",
    hub,
    "--client",
    producer,
    "--stream",
    STREAM,
    "--subject-id",
    `user-${n}`,
    "--event-type",
    "login",
    "--origin",
    "auth-service",
    "--payload",
    `{"n":${n}}`,
    "--to",
    to,
    "--json",
    ...more,
  ]);

const replay = (hub: string, client: string, ...more: string[]) =>
  runCli(["record", "replay", "--hub", hub, "--client", client, "--stream", STREAM, "--json", ...more]);

Deno.test("record init, emit and replay: long_term class, sealed to the admin, exact seq range, hub_ts window", async () => {
  await withAdminHub(async (h) => {
    const producer = await h.client("producer");
    const init = ok(
      await runCli(["record", "init", "--hub", h.hub, "--stream", STREAM, "--admin", h.admin, "--json"]),
    );
    assert.deepEqual((init.streams as Record<string, unknown>[])[0]!.class, "long_term");
    const cls = ok(await runCli(["label-class", "show", "--hub", h.hub, "--stream", STREAM, "--json"]));
    assert.deepEqual([cls.class, cls.sensitivity], ["long_term", "high"]);
    assert.match(String(cls.retention_policy), /^long_term: never dropped/);

    const times: number[] = [];
    for (let i = 1; i <= 4; i++) {
      h.clock.t += 100;
      times.push(h.clock.t);
      const e = ok(await emit(h.hub, producer, h.admin, i, "--event-time", String(1000 + i)));
      assert.equal(e.stream_seq, i);
      assert.equal(e.hub_ts, h.clock.t);
    }
    const range = ok(await replay(h.hub, h.admin, "--from", "2", "--to", "3", "--with-proof"));
    const events = range.events as Record<string, unknown>[];
    assert.deepEqual(events.map((e) => e.hub_commit_seq), [2, 3]);
    const producerId = String(ok(await runCli(["id", "show", "--client", producer, "--json"])).client_id);
    assert.deepEqual(
      {
        subject_id: events[0]!.subject_id,
        principal_id: events[0]!.principal_id,
        event_type: events[0]!.event_type,
        event_time: events[0]!.event_time,
        origin: events[0]!.origin,
        payload: events[0]!.payload,
        hub_commit_time: events[0]!.hub_commit_time,
        proof: events[0]!.proof,
      },
      {
        subject_id: "user-2",
        principal_id: producerId,
        event_type: "login",
        event_time: 1002,
        origin: "auth-service",
        payload: { n: 2 },
        hub_commit_time: times[1],
        proof: "verified",
      },
    );
    const window = ok(
      await replay(h.hub, h.admin, "--start-time", String(times[1]), "--end-time", String(times[2])),
    );
    assert.deepEqual((window.events as Record<string, unknown>[]).map((e) => e.hub_commit_seq), [2, 3]);
    assert.deepEqual((window.streams as Record<string, unknown>[])[0]!.verified, 4);
    // The producer sealed to the admin: it verifies the items but cannot read them.
    const blind = ok(await replay(h.hub, producer, "--to", "1"));
    assert.equal((blind.events as Record<string, unknown>[])[0]!.decrypted, false);

    refused(await replay(h.hub, h.admin, "--from", "3", "--to", "9"), "E.NOT_FOUND", /1\.\.4/);
    const stream = (...more: string[]) =>
      runCli(["stream", "--hub", h.hub, "--client", h.admin, "--stream", STREAM, "--json", ...more]);
    refused(await stream("--from", "2", "--to", "9"), "E.NOT_FOUND", /not the whole range 2\.\.9/);
    const part = ok(await stream("--from", "2", "--to", "3", "--with-proof"));
    assert.deepEqual((part.items as Record<string, unknown>[]).map((i) => i.stream_seq), [2, 3]);
    const byTime = ok(await stream("--start-time", String(times[3])));
    assert.deepEqual((byTime.items as Record<string, unknown>[]).map((i) => i.stream_seq), [4]);
    const other = await runCli([
      "record",
      "emit",
      "--hub",
      h.hub,
      "--client",
      producer,
      "--stream",
      "other/x",
      "--subject-id",
      "s",
      "--event-type",
      "t",
      "--origin",
      "o",
      "--json",
    ]);
    assert.equal(other.code, 1);
    assert.match(String(other.json().detail), /not a recorder stream/);
  });
});

Deno.test("record replay on a lying hub: a corrupted RECEIPT, a withheld item and a CHECKPOINT beyond the served items fail loudly", async () => {
  const t = await tempDir("veen-recorder-");
  const hub = await startRealHub(`${t.path}/hub`);
  const evil = await startMaliciousHub({ upstream: hub.url, hubSeed: await hubSeedOf(`${t.path}/hub`) });
  try {
    const c = await newClient(t.path, "c");
    for (let i = 1; i <= 4; i++) ok(await emit(evil.url, c, c, i));
    ok(
      await runCli([
        "hub",
        "checkpoint",
        "--hub",
        evil.url,
        "--stream",
        STREAM,
        "--now",
        "--client",
        c,
        "--json",
      ]),
    );
    assert.equal((ok(await replay(evil.url, c, "--with-proof")).events as unknown[]).length, 4);

    evil.tamper.stream = (items) =>
      items.map((it) =>
        it.receipt.streamSeq === 2 ? { ...it, receipt: { ...it.receipt, hubTs: it.receipt.hubTs + 1 } } : it
      );
    refused(await replay(evil.url, c, "--with-proof"), "E.SIG", /hub_sig/);

    evil.tamper.stream = (items) => items.filter((it) => it.receipt.streamSeq !== 3);
    refused(await replay(evil.url, c), "E.SEQ", /stream_seq 4 where 3 was due/);

    // The hub serves and reports only 2 items, but its CHECKPOINT covers 4.
    evil.tamper.stream = (items) => items.filter((it) => it.receipt.streamSeq <= 2);
    evil.tamper.healthz = (hz) => ({ ...hz, last_stream_seq: 2 });
    refused(await replay(evil.url, c), "E.SEQ", /withheld/);
  } finally {
    await evil.close();
    await hub.close();
    await t.cleanup();
  }
});
