/**
 * AGB0 air-gap bridge end to end on two real hubs (001 L971-1235, docs/airgap-bridge.md): export a verified bundle
 * from zone 1, import it into zone 2 with the source hub down (J3: the import needs no path to zone 1), re-import
 * adds nothing, reconcile maps every imported event to exactly one origin RECEIPT (J1) and finds nothing missing
 * (J2); a flipped byte anywhere in the bundle fails verification, a tampered bundle imports nothing, exits 4 and
 * is logged on bridge/offline/log; a bundle not imported is reported missing and a doubled import duplicated.
 */
import assert from "node:assert/strict";
import {
  decodeMsg,
  decodeReceipt,
  fromHex,
  hubIdFor,
  leafHash,
  toHex,
  verifyReceiptSig,
} from "../core/mod.ts";
import { BRIDGE_IMPORT, BRIDGE_OFFLINE_LOG, chunkBytes, verifyBundle } from "../overlays/mod.ts";
import { type RealHub, startRealHub } from "../cli/testing/real_hub.ts";
import { type CliRun, newClient, runCli as runClient, tempDir } from "../cli/testing/run.ts";
import { captureIo } from "../cmd/mod.ts";
import { main } from "../mod.ts";
import { checkedViewOf, labelStateFor, readState, writeState } from "../cli/client_state.ts";
import { connectHub, streamTarget } from "../cli/hub_session.ts";
import { readKeystore } from "../cli/keystore.ts";
import { sendMessage } from "../cli/sender.ts";

const SOURCE = "export/zone1/audit";
const TARGET = `import/${SOURCE}`;

/** `veen ARGS` in-process through the whole program (client and bridge commands). */
async function runCli(args: string[]): Promise<CliRun> {
  if (args[0] !== "bridge") return await runClient(args);
  const io = captureIo({});
  const code = await main(args, io);
  const stdout = io.stdout();
  return { code, stdout, stderr: io.stderr(), json: () => JSON.parse(stdout) as Record<string, unknown> };
}

function ok(r: CliRun): Record<string, unknown> {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.json();
}

/** The items of `stream` as `veen stream --json` prints them (an empty list when the hub has none). */
async function items(hub: string, client: string, stream: string): Promise<Record<string, unknown>[]> {
  const r = await runCli(["stream", "--hub", hub, "--client", client, "--stream", stream, "--json"]);
  return r.code === 0 ? r.json().items as Record<string, unknown>[] : [];
}

/** Appends one bridge.import.v1 as `dir` (what a second, uncoordinated bridge instance would write). */
async function writeImport(hub: string, dir: string, body: Uint8Array): Promise<void> {
  const state = await readState(dir);
  const session = await connectHub({ hub, env: () => undefined, timeoutMs: 10_000, state });
  const keys = (await readKeystore(dir, undefined)).keys;
  const target = streamTarget(session, TARGET);
  const ls = labelStateFor(state, session.hubId, target, keys.client.public, Math.floor(Date.now() / 1000));
  await sendMessage(session, target, keys, ls, checkedViewOf(ls), {
    recipientPk: keys.prekey.public,
    hdr: { schema: BRIDGE_IMPORT.schemaId },
    bodyBytes: body,
  });
  await writeState(dir, state);
}

/** Two real hubs (zone 1, zone 2) and the clients of a producer and of the bridge's two sides. */
interface Zones {
  root: string;
  z1: RealHub;
  z2: RealHub;
  producer: string;
  online: string;
  offline: string;
  /** Stops zone 1 (once). */
  stopZone1(): Promise<void>;
}

async function withZones(
  prefix: string,
  f: (z: Zones) => Promise<void>,
  zone2: (root: string) => Promise<Parameters<typeof startRealHub>[1]> = () => Promise.resolve({}),
): Promise<void> {
  const t = await tempDir(prefix);
  const z1 = await startRealHub(`${t.path}/z1`);
  let z1Open = true;
  const z2 = await startRealHub(`${t.path}/z2`, await zone2(t.path));
  const stopZone1 = async () => {
    if (z1Open) await z1.close();
    z1Open = false;
  };
  try {
    await f({
      root: t.path,
      z1,
      z2,
      producer: await newClient(t.path, "producer"),
      online: await newClient(t.path, "bridge-online"),
      offline: await newClient(t.path, "bridge-offline"),
      stopZone1,
    });
  } finally {
    await stopZone1();
    await z2.close();
    await t.cleanup();
  }
}

Deno.test("bridge export, import, re-import and reconcile across two hubs; J1-J3; tampered bundles import nothing", async () => {
  await withZones("veen-airgap-", async ({ root, z1, z2, producer, online, offline, stopZone1 }) => {
    for (let i = 1; i <= 3; i++) {
      ok(
        await runCli([
          "send",
          "--hub",
          z1.url,
          "--client",
          producer,
          "--stream",
          SOURCE,
          "--body",
          `{"i":${i}}`,
          "--json",
        ]),
      );
    }
    const bundle = `${root}/b1.cbor`;
    const exp = ok(
      await runCli([
        "bridge",
        "export",
        "--hub",
        z1.url,
        "--client",
        online,
        "--stream",
        SOURCE,
        "--from",
        "2",
        "--out",
        bundle,
        "--json",
      ]),
    );
    assert.equal(exp.events, 2);
    assert.match(String(exp.bundle_id), /^[0-9a-f]{64}$/);
    assert.equal((await items(z1.url, online, "bridge/online/log")).length, 1);
    const bytes = await Deno.readFile(bundle);
    const v = verifyBundle(bytes);
    assert.ok(v.ok);

    // A flipped byte anywhere in the bundle fails verification (bundle_id, digests or signatures).
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes.slice();
      b[i] = b[i]! ^ 0x01;
      assert.equal(verifyBundle(b).ok, false, `flipping byte ${i} of ${bytes.length} went unnoticed`);
    }

    // J3: zone 2 imports with zone 1 gone; the bridge's offline client never contacts zone 1.
    const z1Heads = await (await fetch(`${z1.url}/info`)).json();
    await stopZone1();
    const imp = ok(
      await runCli(["bridge", "import", "--hub", z2.url, "--client", offline, "--bundle", bundle, "--json"]),
    );
    assert.deepEqual([imp.bundle_id, imp.imported, imp.duplicates], [exp.bundle_id, 2, 0]);
    assert.equal(imp.target_stream, TARGET);
    const pins = Object.keys(JSON.parse(await Deno.readTextFile(`${offline}/state.json`)).pins);
    assert.deepEqual(pins.length, 1);
    assert.equal(
      (z1Heads as Record<string, unknown>).entries,
      4,
      "zone 1 holds the 3 events and 1 audit record",
    );

    // The imported events carry the origin MSG and RECEIPT unchanged, at the target's own seqs 1..2.
    const imported = await items(z2.url, offline, TARGET);
    assert.deepEqual(imported.map((x) => x.stream_seq), [1, 2]);

    const again = ok(
      await runCli(["bridge", "import", "--hub", z2.url, "--client", offline, "--bundle", bundle, "--json"]),
    );
    assert.deepEqual([again.imported, again.duplicates], [0, 2]);
    assert.equal((await items(z2.url, offline, TARGET)).length, 2, "a re-import adds nothing");

    const reconcile = () =>
      runCli(["bridge", "reconcile", "--hub", z2.url, "--client", offline, "--bundle", bundle, "--json"]);
    const rec = ok(
      await reconcile(),
    );
    assert.deepEqual([rec.matched, rec.missing, rec.duplicated, rec.changed], [2, 0, 0, 0]);
    assert.equal((rec.bundles as Record<string, unknown>[])[0]!.status, "complete");

    // A flipped byte in an event's MSG: exit 4, nothing imported, the failure logged with its position.
    const tampered = `${root}/tampered.cbor`;
    const bad = bytes.slice();
    const at = bytes.length - 200;
    bad[at] = bad[at]! ^ 0x80;
    await Deno.writeFile(tampered, bad);
    const before = (await items(z2.url, offline, "bridge/offline/log")).length;
    const refused = await runCli(
      [
        "bridge",
        "import",
        "--hub",
        z2.url,
        "--client",
        offline,
        "--bundle",
        tampered,
        "--to-stream",
        "import/t",
        "--json",
      ],
    );
    assert.equal(refused.code, 4, refused.stdout + refused.stderr);
    assert.equal(refused.json().imported, 0);
    assert.equal((await items(z2.url, offline, "import/t")).length, 0);
    const log = await items(z2.url, offline, "bridge/offline/log");
    assert.equal(log.length, before + 1);
    const entry = BRIDGE_OFFLINE_LOG.decode(fromHex(String(log.at(-1)!.body_hex)));
    assert.equal(entry.verification_result, "failure");
    assert.equal(entry.error_code, "E.SIG");
    assert.equal(entry.bundle_id instanceof Uint8Array ? toHex(entry.bundle_id) : null, exp.bundle_id);
    assert.equal(typeof entry.position, "number");

    // J1 against the origin: each imported event's origin_receipt is zone 1's RECEIPT of exactly that MSG.
    const z1Pk =
      (v as { ok: true; bundle: { exportCheckpoint: { hubPk: Uint8Array } } }).bundle.exportCheckpoint.hubPk;
    for (
      const e of (v as { ok: true; bundle: { events: { receiptBytes: Uint8Array; msgBytes: Uint8Array }[] } })
        .bundle.events
    ) {
      const r = decodeReceipt(e.receiptBytes);
      assert.ok(verifyReceiptSig(r, z1Pk));
      assert.deepEqual(r.leafHash, leafHash(decodeMsg(e.msgBytes)));
    }

    // A second, uncoordinated writer doubles event 2: reconcile reports it duplicated (exit 4).
    const vb = (v as Extract<typeof v, { ok: true }>).bundle;
    const e0 = vb.events[0]!;
    await writeImport(
      z2.url,
      offline,
      BRIDGE_IMPORT.encode({
        bundle_id: vb.bundleId,
        bridge_id: "rogue",
        source_hub_id: hubIdFor(z1Pk),
        origin_label: e0.receipt.label,
        origin_seq: e0.receipt.streamSeq,
        origin_receipt: e0.receiptBytes,
        origin_msg: chunkBytes(e0.msgBytes),
        import_time: 1,
      }),
    );
    const dup = await reconcile();
    assert.equal(dup.code, 4);
    assert.deepEqual(dup.json().bundles, [{
      file: bundle,
      bundle_id: exp.bundle_id,
      status: "duplicated",
      events: 2,
      matched: 1,
      missing: [],
      duplicated: [2],
      changed: [],
      target_stream: TARGET,
      import_log: ["success", "success", "failure"],
    }]);
  });
});

Deno.test("SDR0+AGB0: record events of zone 1 are replayed in zone 2 from import/* with their origin (K1)", async () => {
  await withZones("veen-airgap-k1-", async ({ root, z1, z2, producer, online, offline }) => {
    const stream = "record/security/auth";
    for (let i = 1; i <= 2; i++) {
      ok(
        await runCli([
          ...["record", "emit", "--hub", z1.url, "--client", producer, "--stream", stream],
          ...["--subject-id", `u${i}`, "--event-type", "login", "--origin", "sso", "--to", offline, "--json"],
        ]),
      );
    }
    const bundle = `${root}/k1.cbor`;
    const exp = ok(
      await runCli([
        ...["bridge", "export", "--hub", z1.url, "--client", online, "--stream", stream],
        ...["--out", bundle, "--json"],
      ]),
    );
    ok(
      await runCli(["bridge", "import", "--hub", z2.url, "--client", offline, "--bundle", bundle, "--json"]),
    );
    const r = ok(
      await runCli([
        ...["record", "replay", "--hub", z2.url, "--client", offline, "--stream", `import/${stream}`],
        ...["--with-proof", "--json"],
      ]),
    );
    const origins = (r.events as Record<string, unknown>[]).map((e) => e.origin as Record<string, unknown>);
    assert.deepEqual(
      origins.map((o) => [o.origin_seq, o.subject_id, o.event_type, o.origin, o.bundle_id, o.bridge_id]),
      [[1, "u1", "login", "sso", exp.bundle_id, "agb0"], [2, "u2", "login", "sso", exp.bundle_id, "agb0"]],
    );
  });
});

Deno.test("bridge import under admission: refused without --cap (nothing imported), imports with a cap for import/* and bridge/offline/log", async () => {
  let issuer = "";
  const admission = async (root: string) => {
    issuer = await newClient(root, "issuer");
    const id = String(ok(await runCli(["id", "show", "--client", issuer, "--json"])).id_sign_public);
    return { admission: true, trustedIssuers: [id] };
  };
  await withZones("veen-airgap-cap-", async ({ root, z1, z2, producer, online, offline }) => {
    ok(
      await runCli([
        "send",
        "--hub",
        z1.url,
        "--client",
        producer,
        "--stream",
        SOURCE,
        "--body",
        "{}",
        "--json",
      ]),
    );
    const bundle = `${root}/b.cbor`;
    ok(
      await runCli(
        [
          "bridge",
          "export",
          "--hub",
          z1.url,
          "--client",
          online,
          "--stream",
          SOURCE,
          "--out",
          bundle,
          "--json",
        ],
      ),
    );
    const imp = (...more: string[]) =>
      runCli([
        "bridge",
        "import",
        "--hub",
        z2.url,
        "--client",
        offline,
        "--bundle",
        bundle,
        "--json",
        ...more,
      ]);
    const denied = await imp();
    assert.equal(denied.code, 4, denied.stdout + denied.stderr);
    assert.deepEqual([denied.json().code, denied.json().imported], ["E.AUTH", 0]);
    const cap = `${root}/cap.cbor`;
    ok(
      await runCli([
        ...["cap", "issue", "--issuer", issuer, "--subject", offline, "--stream", TARGET],
        ...["--stream", "bridge/offline/log", "--ttl", "600", "--out", cap, "--json"],
      ]),
    );
    ok(await runCli(["cap", "authorize", "--hub", z2.url, "--cap", cap, "--client", offline, "--json"]));
    const done = ok(await imp("--cap", cap));
    assert.deepEqual([done.imported, done.duplicates], [1, 0]);
  }, admission);
});
