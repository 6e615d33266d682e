/**
 * Tenant hubs of an authority hub (`admin_source`, overlay decisions "Realm and admin records", docs/federation.md
 * "Tenant hubs"), end to end on loopback through the CLI: records published once on the authority reach the tenant
 * through `veen bridge --replicate` (byte-identical, folded before the bridge pass ends), local admin submits on
 * the tenant are refused naming the source, the views survive restarts and a lost views.kv, and admin entries
 * signed by another hub are refused.
 */
import assert from "node:assert/strict";
import { captureIo } from "../cmd/mod.ts";
import { realmIdFor, toHex } from "../core/mod.ts";
import { adminStreamsOf } from "../overlays/mod.ts";
import { HubHttp } from "../cli/mod.ts";
import { type RealHub, startRealHub } from "../cli/testing/real_hub.ts";
import { runCli, tempDir } from "../cli/testing/run.ts";
import { bridgeMain } from "../bridge/mod.ts";
import { fsck } from "../hub/mod.ts";
import { replicateLabel } from "../bridge/replicate.ts";
import { http } from "./fixture.ts";

type Run = Awaited<ReturnType<typeof runCli>>;
const ok = (r: Run) => {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.json();
};

const streams = adminStreamsOf(realmIdFor("default"), new Uint8Array(0));
const labelOf = (name: string) => toHex(streams.find((s) => s.name === name)!.label);

/** `veen label-class set` of stream "s" on `hub` as `signer`. */
const setClass = (hub: string, cls: string, signer: string) =>
  runCli(["label-class", "set", "--hub", hub, "--stream", "s", "--class", cls, "--signer", signer, "--json"]);

async function keygen(dir: string): Promise<string> {
  ok(await runCli(["keygen", "--out", dir, "--json"]));
  return (await runCli(["id", "show", "--client", dir, "--json"])).json().client_id as string;
}

async function bridge(from: RealHub, to: RealHub, ...extra: string[]) {
  const io = captureIo();
  const code = await bridgeMain(["--from", from.url, "--to", to.url, "--replicate", "--json", ...extra], io);
  return { code, lines: io.stdout().trim().split("\n").map((l) => JSON.parse(l)), stderr: io.stderr() };
}

const get = async (h: RealHub, path: string) => (await http(h.url + path)).body;
const headOf = async (h: RealHub, label: string) =>
  JSON.parse(new TextDecoder().decode(await get(h, `/healthz?label=${label}`))).last_stream_seq as number;

/** Runs `f` in a temp dir with an admin client ROOT/admin; the hubs it pushes on `hubs` are closed afterwards. */
async function withRealm(
  f: (x: { root: string; hubs: RealHub[]; admin: string; adminId: string }) => Promise<void>,
): Promise<void> {
  const t = await tempDir("veen-tenant-");
  const hubs: RealHub[] = [];
  try {
    const admin = `${t.path}/admin`;
    await f({ root: t.path, hubs, admin, adminId: await keygen(admin) });
  } finally {
    for (const h of hubs) await h.close();
    await t.cleanup();
  }
}

Deno.test("a tenant hub replicates the authority's admin labels: revocations and label classes reach it, local admin submits are refused, restarts keep the views", async () => {
  await withRealm(async ({ root, hubs, admin, adminId }) => {
    const victim = `${root}/victim`;
    const victimId = await keygen(victim);
    const authDir = `${root}/auth`;
    const auth = await startRealHub(authDir, { config: { adminKeys: [adminId] }, checkpointEvery: 1 });
    hubs.push(auth);
    const tenantDir = `${root}/tenant`;
    const tenantConfig = {
      adminKeys: [adminId],
      realmAdminKey: `${authDir}/realm_admin_key`,
      adminSource: auth.url,
    };
    let tenant = await startRealHub(tenantDir, { config: tenantConfig, checkpointEvery: 1 });
    hubs.push(tenant);
    const send = (n: number) =>
      runCli([
        "send",
        "--hub",
        tenantDir,
        "--client",
        victim,
        "--stream",
        "s",
        "--body",
        `{"n":${n}}`,
        "--json",
      ]);
    ok(await send(1));

    // Published once, on the authority, with the CLI.
    ok(
      await runCli([
        "cap",
        "revoke",
        "--hub",
        authDir,
        "--admin",
        admin,
        "--kind",
        "client-id",
        "--target",
        victimId,
        "--reason",
        "left",
        "--json",
      ]),
    );
    ok(
      await setClass(authDir, "bulk", admin),
    );
    const showClass = async () =>
      ok(await runCli(["label-class", "show", "--hub", tenantDir, "--stream", "s", "--json"])).class;
    assert.equal(await showClass(), "unset");

    // A local admin submit on the tenant is refused naming the source, and nothing is appended.
    const local = await setClass(tenantDir, "x", admin);
    assert.equal(local.code, 4, local.stdout + local.stderr);
    assert.equal(local.json().code, "E.AUTH");
    assert.match(
      local.json().detail as string,
      new RegExp(`^Admin records of this realm are written at "${auth.url}"`),
    );
    assert.equal(await headOf(tenant, labelOf("label_class")), 0);

    // GET /replication lists the admin labels with the source as primary; one bridge pass copies them.
    const list = JSON.parse(new TextDecoder().decode(await get(tenant, "/replication")));
    assert.equal(list.admin_source, auth.url);
    const adminRows = list.labels.filter((l: { policy: string }) => l.policy === "admin_source");
    assert.deepEqual(
      adminRows.map((l: { label: string }) => l.label).sort(),
      streams.map((s) => toHex(s.label)).sort(),
    );
    const authInfo = JSON.parse(new TextDecoder().decode(await get(auth, "/info")));
    assert.ok(adminRows.every((l: { primary_hub: string }) => l.primary_hub === authInfo.hub_id));
    await auth.settled();
    const pass = await bridge(auth, tenant);
    assert.equal(pass.code, 0, pass.stderr);
    assert.deepEqual(
      pass.lines.filter((l) => l.appended > 0).map((l) => [l.label, l.appended, l.checkpoint]).sort(),
      [[labelOf("revocation"), 1, 1], [labelOf("label_class"), 1, 1]].sort(),
    );
    // Enforced at once after the pass, byte-identical to the authority's.
    const refused = await send(2);
    assert.equal(refused.code, 4, refused.stdout);
    assert.match(refused.json().detail as string, /^Revoked \(client-id: left\)/);
    assert.equal(await showClass(), "bulk");
    for (const name of ["revocation", "label_class"]) {
      assert.deepEqual(
        await get(tenant, `/stream?label=${labelOf(name)}`),
        await get(auth, `/stream?label=${labelOf(name)}`),
      );
    }
    // The tenant signs no CHECKPOINT of its own for an admin label: it serves the authority's.
    await tenant.settled();
    assert.deepEqual(
      await get(tenant, `/checkpoint_latest?label=${labelOf("revocation")}`),
      await get(auth, `/checkpoint_latest?label=${labelOf("revocation")}`),
    );

    // Restart, then restart with views.kv lost: the fold reads the replicated entries from the store.
    for (const between of [async () => {}, () => Deno.remove(`${tenantDir}/views.kv`)]) {
      await tenant.close();
      hubs.pop();
      await between();
      tenant = await startRealHub(tenantDir, { config: tenantConfig });
      hubs.push(tenant);
      assert.match((await send(2)).json().detail as string, /^Revoked/);
      assert.equal(await showClass(), "bulk");
    }

    // --follow keeps the tenant current: a class set on the authority while the bridge idles reaches the tenant.
    const steps = [
      async () => {
        ok(
          await setClass(authDir, "log", admin),
        );
      },
      async () => {
        assert.equal(await showClass(), "log");
        throw new Error("test done");
      },
    ];
    const io = captureIo();
    io.sleep = async () => await steps.shift()!();
    await bridgeMain(["--from", auth.url, "--to", tenant.url, "--replicate", "--follow"], io);
    assert.equal(steps.length, 0, io.stdout() + io.stderr());
    // Offline, fsck verifies the replicated admin entries under the authority's key (primaries.json).
    await tenant.close();
    hubs.pop();
    const report = await fsck(tenantDir);
    assert.ok(report.ok, JSON.stringify(report.error));
  });
});

Deno.test("a tenant refuses admin entries signed by a hub other than its admin source", async () => {
  await withRealm(async ({ root, hubs, admin, adminId }) => {
    const auth = await startRealHub(`${root}/auth`, { config: { adminKeys: [adminId] } });
    hubs.push(auth);
    const shared = { adminKeys: [adminId], realmAdminKey: `${root}/auth/realm_admin_key` };
    const rogueDir = `${root}/rogue`;
    const rogue = await startRealHub(rogueDir, { config: shared });
    hubs.push(rogue);
    const tenant = await startRealHub(`${root}/tenant`, {
      config: { ...shared, adminSource: auth.url, adminSourceKey: toHex(auth.hubPk) },
    });
    hubs.push(tenant);
    ok(
      await setClass(rogueDir, "rogue", admin),
    );
    const label = streams.find((s) => s.name === "label_class")!.label;
    await assert.rejects(
      replicateLabel({
        from: new HubHttp(rogue.url),
        to: new HubHttp(tenant.url),
        primaryPk: rogue.hubPk,
        label,
        maxItems: 10,
      }),
      (e: Error & { code?: string; detail?: string }) =>
        e.code === "E.AUTH" && /is not the admin source$/.test(e.detail ?? ""),
    );
    assert.equal(await headOf(tenant, toHex(label)), 0);
    // The bridge from the rogue hub skips the admin labels: their primary is the authority.
    const pass = await bridge(rogue, tenant);
    assert.equal(pass.code, 0, pass.stderr);
    assert.equal(pass.lines.filter((l) => l.event === "skipped").length, streams.length);
    assert.equal(await headOf(tenant, toHex(label)), 0);
    const cls = ok(
      await runCli(["label-class", "show", "--hub", `${root}/tenant`, "--stream", "s", "--json"]),
    );
    assert.equal(cls.class, "unset");
  });
});
