/**
 * `veen id bridge` (spec 001 ID §12.1) between two real hubs on loopback: copies keep schema and body bytes with
 * parent_id = the original msg_id, re-runs copy nothing, the folded identity is the same on both hubs, and a
 * duplicate copy on the target changes nothing (readers deduplicate by the original msg_id).
 */
import assert from "node:assert/strict";
import { readState } from "../client_state.ts";
import { schemaIdFor, toHex } from "../../core/mod.ts";
import { connectHub, streamTarget } from "../hub_session.ts";
import { decryptionSecrets, readKeystore } from "../keystore.ts";
import { copyMirror, scanMirror } from "../stream_mirror.ts";
import { type RealHub, startRealHub } from "../testing/real_hub.ts";
import { newClient, runCli, tempDir } from "../testing/run.ts";
import { ok } from "../testing/with_real_hub.ts";

const REALM = "example-app";
const ORG_PK = "06".repeat(32);
const OTHER_DEVICE = "05".repeat(32);
const ATTESTATION = toHex(schemaIdFor("federation.mirror.v1"));

async function withTwoHubs(f: (a: RealHub, b: RealHub, c: string) => Promise<void>): Promise<void> {
  const t = await tempDir();
  const a = await startRealHub(`${t.path}/a`);
  const b = await startRealHub(`${t.path}/b`);
  try {
    await f(a, b, await newClient(t.path, "c"));
  } finally {
    await a.close();
    await b.close();
    await t.cleanup();
  }
}

/** Writes a principal, devices, a profile, an org with a group and role, a handle and a revocation on `hub`. */
async function writeIdentity(hub: RealHub, c: string, orgId: string, ctxId: string): Promise<void> {
  const base = ["--hub", hub.url, "--client", c];
  const run = async (...args: string[]) => ok(await runCli(["id", ...args, ...base]));
  await run("principal", "--publish", "--created-at", "1000");
  await run("device", "add", "--label", "laptop", "--expires-at", "5000");
  await run("device", "add", "--device-pk", OTHER_DEVICE, "--dh-pk", "07".repeat(32), "--label", "phone");
  await run("device", "disable", "--device-pk", OTHER_DEVICE);
  await run("profile", "set", "--realm", REALM, "--display-name", "Alice", "--updated-at", "10");
  await run("org", "create", "--org-pk", ORG_PK, "--display-name", "Acme", "--updated-at", "10");
  await run("group", "add", "--org-id", orgId, "--group", "eds", "--ctx-id", ctxId);
  await run("role", "add", "--org-id", orgId, "--role", "editor", "--group", "eds");
  await run(
    "handle",
    "set",
    "--realm",
    REALM,
    "--handle",
    "@alice",
    "--target-type",
    "ctx",
    "--target-id",
    ctxId,
  );
}

/** `id status` of everything bridged, without the fold statistics (which differ by hub). */
async function status(hub: RealHub, c: string, orgId: string): Promise<Record<string, unknown>> {
  const j = ok(
    await runCli([
      "id",
      "status",
      "--hub",
      hub.url,
      "--client",
      c,
      "--realm",
      REALM,
      "--org-id",
      orgId,
      "--handle",
      "@alice",
      "--now",
      "4000",
      "--json",
    ]),
  ).json();
  delete j.fold;
  return j;
}

function bridge(a: RealHub, b: RealHub, c: string, ...more: string[]) {
  return runCli([
    "id",
    "bridge",
    "--from-hub",
    a.url,
    "--to-hub",
    b.url,
    "--client",
    c,
    "--realm",
    REALM,
    "--handles",
    "--json",
    ...more,
  ]);
}

async function items(hub: RealHub, c: string, stream: string) {
  const r = ok(
    await runCli(["stream", "--hub", hub.url, "--client", c, "--stream", stream, "--with-proof", "--json"]),
  );
  return r.json().items as Record<string, unknown>[];
}

Deno.test("id bridge copies identity streams with parent_id = origin, idempotently; state equal on both hubs", async () => {
  await withTwoHubs(async (a, b, c) => {
    const me = ok(await runCli(["id", "principal", "--client", c, "--realm", REALM, "--json"])).json();
    const ctxId = String((me.realms as Record<string, string>[])[0]!.ctx_id);
    const orgId = String(
      ok(
        await runCli([
          "id",
          "derive",
          "--realm",
          REALM,
          "--principal-pk",
          ORG_PK,
          "--org-pk",
          ORG_PK,
          "--json",
        ]),
      )
        .json().org_id,
    );
    await writeIdentity(a, c, orgId, ctxId);
    const onA = await status(a, c, orgId);
    assert.equal((onA.devices as unknown[]).length, 2);

    const plan = ok(await bridge(a, b, c, "--org-id", orgId, "--dry-run")).json();
    assert.equal(plan.to_mirror, 9);
    const run = ok(await bridge(a, b, c, "--org-id", orgId)).json();
    assert.equal(run.mirrored_count, 9);
    assert.deepEqual(
      (run.streams as Record<string, unknown>[]).map((s) => [s.kind, s.mirrored_count]),
      [["principal", 4], ["ctx", 1], ["handles", 1], ["org", 3]],
    );
    assert.deepEqual(await status(b, c, orgId), onA, "the folded identity is the same on both hubs");

    // Copies keep schema and body bytes, with parent_id = the original msg_id (attestations follow each).
    const pStream = String(me.stream_id_principal);
    const src = await items(a, c, pStream);
    const schemaOf = (it: Record<string, unknown>) => (it.payload_hdr as Record<string, string>).schema;
    const dst = (await items(b, c, pStream)).filter((it) => schemaOf(it) !== ATTESTATION);
    assert.equal(dst.length, src.length);
    for (let i = 0; i < src.length; i++) {
      assert.equal((dst[i]!.payload_hdr as Record<string, string>).parent_id, src[i]!.msg_id);
      assert.equal(
        (dst[i]!.payload_hdr as Record<string, string>).schema,
        (src[i]!.payload_hdr as Record<string, string>).schema,
      );
      assert.deepEqual(dst[i]!.body ?? dst[i]!.body_hex, src[i]!.body ?? src[i]!.body_hex);
    }

    const again = ok(await bridge(a, b, c, "--org-id", orgId)).json();
    assert.equal(again.mirrored_count, 0, "a re-run copies nothing");
    assert.equal(again.already_mirrored, 9);

    // A later change on A reaches B on the next run, and only it.
    ok(await runCli(["id", "device", "expire", "--hub", a.url, "--client", c, "--expires-at", "3000"]));
    const more = ok(await bridge(a, b, c, "--org-id", orgId)).json();
    assert.equal(more.mirrored_count, 1);
    const after = await status(a, c, orgId);
    assert.notDeepEqual(after, onA);
    assert.deepEqual(await status(b, c, orgId), after);
  });
});

Deno.test("id bridge: a duplicate copy on the target (a second bridge's) leaves the folded identity unchanged", async () => {
  await withTwoHubs(async (a, b, c) => {
    const me = ok(await runCli(["id", "principal", "--client", c, "--realm", REALM, "--json"])).json();
    const ctxId = String((me.realms as Record<string, string>[])[0]!.ctx_id);
    const orgId = String(
      ok(
        await runCli([
          "id",
          "derive",
          "--realm",
          REALM,
          "--principal-pk",
          ORG_PK,
          "--org-pk",
          ORG_PK,
          "--json",
        ]),
      )
        .json().org_id,
    );
    await writeIdentity(a, c, orgId, ctxId);
    ok(await bridge(a, b, c, "--org-id", orgId));
    const before = await status(b, c, orgId);
    assert.equal(
      (before.devices as Record<string, unknown>[]).find((d) => d.device_pk === OTHER_DEVICE)!.active,
      false,
    );

    // Copy a record of the principal stream again, as a second bridge with its own index would: a reader that did
    // not deduplicate by the original msg_id would see the phone enabled again.
    const keys = (await readKeystore(c, undefined)).keys;
    const state = await readState(c);
    const connect = (hub: string) => connectHub({ hub, env: () => undefined, timeoutMs: 10_000, state });
    const src = await connect(a.url), dst = await connect(b.url);
    const stream = String(me.stream_id_principal);
    const scan = await scanMirror({
      src,
      dst,
      from: streamTarget(src, stream),
      to: streamTarget(dst, stream),
      dir: `${c}/dup-scan`,
      secrets: decryptionSecrets(keys),
    });
    // Only the phone's first record (device add, not disabled) is copied again, after its disable.
    assert.equal(scan.candidates.length, 4);
    scan.candidates = [scan.candidates[2]!];
    scan.index.copies.clear();
    const counts = await copyMirror(scan, { keys, state, dir: c, now: 1, attest: false });
    assert.equal(counts.mirrored_count, 1);
    assert.deepEqual(await status(b, c, orgId), before);
    const refolded = ok(
      await runCli(["id", "status", "--hub", b.url, "--client", c, "--now", "4000", "--refold", "--json"]),
    ).json();
    assert.deepEqual(refolded.devices, before.devices);
  });
});
