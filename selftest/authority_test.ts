/**
 * `veen selftest authority` (spec 000 §8.2): it passes against its own `--profile authority` hub and against a
 * deployed authority hub holding an admin record (whose RECEIPT it verifies), and it can fail: against a hub that
 * is not an authority it exits 5 at authority/role.
 */
import assert from "node:assert/strict";
import { decodeRealmDescriptor, realmIdFor, signingKeyFromSeed, toHex } from "../core/mod.ts";
import { adminStreamsOf, REVOCATION } from "../overlays/mod.ts";
import { adminRecordMsg, FED_ADMIN } from "../tests/federation.ts";
import { http, startTestHub, submit } from "../tests/fixture.ts";
import { assertIncludes, assertNothingLeft, runVeen } from "./testing/run_veen.ts";

Deno.test("selftest authority passes against its own --profile authority hub and leaves nothing behind", async () => {
  const run = await runVeen(["selftest", "authority", "--seed", "3"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assertIncludes(run.stdout, [
    "[ok  ] authority/serve",
    "[ok  ] authority/role",
    "result: PASS (4 ok, 0 skipped)",
  ]);
  await assertNothingLeft(run);
});

Deno.test("selftest authority --hub verifies a deployed authority's admin records, and fails on a non-authority", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-st-auth-" });
  const plainDir = await Deno.makeTempDir({ prefix: "veen-st-plain-" });
  const hub = await startTestHub(dir, { profile: "authority", adminKeys: [toHex(FED_ADMIN.public)] });
  const plain = await startTestHub(plainDir);
  try {
    const recipientPk =
      decodeRealmDescriptor((await http(hub.url + "/realm")).body, hub.hubKey.public).adminPk;
    const target = signingKeyFromSeed(new Uint8Array(32).fill(78)).public;
    const msg = await adminRecordMsg({
      key: FED_ADMIN,
      label: adminStreamsOf(realmIdFor("default"), new Uint8Array(0))[1]!.label,
      seq: 1,
      recipientPk,
      schema: REVOCATION.schemaId,
      body: REVOCATION.encode({ kind: "client-id", target, ts: 1 }),
    });
    assert.equal((await submit(hub.url, msg)).status, 200);
    const ok = await runVeen(["selftest", "authority", "--hub", hub.url]);
    assert.equal(ok.code, 0, `exit ${ok.code}\n${ok.stdout}\n${ok.stderr}`);
    assertIncludes(ok.stdout, ["1 RECEIPTs verify", "result: PASS (4 ok, 0 skipped)"]);
    const bad = await runVeen(["selftest", "authority", "--hub", plain.url]);
    assert.equal(bad.code, 5, `exit ${bad.code}\n${bad.stdout}\n${bad.stderr}`);
    assertIncludes(bad.stdout, ["[FAIL] authority/role", 'role is "standalone", not "authority"']);
  } finally {
    await hub.close();
    await plain.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(plainDir, { recursive: true });
  }
});
