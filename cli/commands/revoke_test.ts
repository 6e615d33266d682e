/** `cap revoke` / `cap revocations` / `cap status` against a real hub: the admin plane end to end (KEX1+ §4.3). */
import assert from "node:assert/strict";
import { startRealHub } from "../testing/real_hub.ts";
import { runCli, tempDir } from "../testing/run.ts";

const ok = (r: { code: number; stdout: string; stderr: string }) =>
  assert.equal(r.code, 0, r.stdout + r.stderr);

/** `veen cap revoke --kind client-id` of `target` by admin client `admin`, with more flags after. */
const revokeClient = (hub: string, admin: string, target: string, ...more: string[]) =>
  runCli([
    "cap",
    "revoke",
    "--hub",
    hub,
    "--admin",
    admin,
    "--kind",
    "client-id",
    "--target",
    target,
    ...more,
  ]);

/** `veen send` of `{}` on stream s. */
const sendAs = (hub: string, dir: string) =>
  runCli(["send", "--hub", hub, "--client", dir, "--stream", "s", "--body", "{}"]);

/** A keygen'd client in `dir`; returns its client_id. */
async function client(dir: string): Promise<string> {
  ok(await runCli(["keygen", "--out", dir]));
  return (await runCli(["id", "show", "--client", dir, "--json"])).json().client_id as string;
}

/** A hub whose admin_keys hold ROOT/admin's client_id, on a clock the test moves (seconds in `clock.t`). */
async function withAdminHub(
  f: (h: { hub: string; root: string; admin: string; clock: { t: number } }) => Promise<void>,
  restart?: (dataDir: string, clock: { t: number }, admin: string) => Promise<void>,
) {
  const t = await tempDir();
  try {
    const admin = `${t.path}/admin`;
    const adminId = await client(admin);
    const clock = { t: Math.floor(Date.now() / 1000) };
    const cfg = { adminKeys: [adminId] };
    const hub = await startRealHub(`${t.path}/hub`, { config: cfg, now: () => clock.t * 1000 });
    try {
      await f({ hub: hub.dataDir, root: t.path, admin, clock });
    } finally {
      await hub.close();
    }
    if (restart !== undefined) await restart(`${t.path}/hub`, clock, admin);
  } finally {
    await t.cleanup();
  }
}

Deno.test("cap revoke: a revoked client_id is refused from the next submit on, also after a restart", async () => {
  let victimDir = "";
  await withAdminHub(async ({ hub, root, admin, clock }) => {
    const victim = `${root}/victim`;
    victimDir = victim;
    const victimId = await client(victim);
    const send = (body: string) =>
      runCli(["send", "--hub", hub, "--client", victim, "--stream", "s", "--body", body, "--json"]);
    ok(await send('{"n":1}'));
    const rv = await revokeClient(
      hub,
      admin,
      victimId,
      "--reason",
      "lost laptop",
      "--ttl",
      "100",
      "--ts",
      String(clock.t),
      "--json",
    );
    ok(rv);
    assert.equal(rv.json().active_now, true);
    assert.equal(rv.json().ts, clock.t);
    const refused = await send('{"n":2}');
    assert.equal(refused.code, 4, refused.stdout);
    assert.equal(refused.json().code, "E.AUTH");
    assert.match(refused.json().detail as string, /Revoked \(client-id: lost laptop\)/);
    const list = await runCli(["cap", "revocations", "--hub", hub, "--active-only", "--json"]);
    ok(list);
    assert.deepEqual(
      (list.json().revocations as Record<string, unknown>[]).map((r) => [r.kind, r.target, r.ttl, r.reason]),
      [["client-id", victimId, 100, "lost laptop"]],
    );
    // [ts, ts+ttl): one second before the end it still holds, at ts+ttl it has lapsed.
    clock.t += 99;
    assert.equal((await send('{"n":2}')).code, 4);
    clock.t += 1;
    ok(await send('{"n":2}'));
    const none = await runCli(["cap", "revocations", "--hub", hub, "--active-only", "--json"]);
    assert.deepEqual(none.json().revocations, []);
    clock.t -= 50; // back inside the interval: enforced again (records are never removed)
    assert.equal((await send('{"n":3}')).code, 4);
  }, async (dataDir, clock) => {
    // A restart reads the persisted view: still revoked.
    const hub = await startRealHub(dataDir, { now: () => clock.t * 1000 });
    try {
      const r = await sendAs(dataDir, victimDir);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(r.stderr, /E\.AUTH: Revoked/);
    } finally {
      await hub.close();
    }
    // Without views.kv the view is rebuilt from the revocation stream alone.
    await Deno.remove(`${dataDir}/views.kv`);
    const again = await startRealHub(dataDir, { now: () => clock.t * 1000 });
    try {
      const r = await sendAs(dataDir, victimDir);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      const l = await runCli(["cap", "revocations", "--hub", dataDir, "--json"]);
      assert.equal((l.json().revocations as unknown[]).length, 1);
    } finally {
      await again.close();
    }
  });
});

Deno.test("cap revoke: non-admins are refused before anything is appended; an admin cannot revoke the last admin", async () => {
  await withAdminHub(async ({ hub, root, admin }) => {
    const other = `${root}/other`;
    const otherId = await client(other);
    const r = await revokeClient(hub, other, otherId, "--json");
    assert.equal(r.code, 4);
    assert.equal(r.json().code, "E.AUTH");
    const list = await runCli(["cap", "revocations", "--hub", hub, "--json"]);
    assert.deepEqual(list.json().revocations, []);
    const adminId = (await runCli(["id", "show", "--client", admin, "--json"])).json().client_id as string;
    const last = await revokeClient(hub, admin, adminId, "--json");
    assert.equal(last.code, 4);
    assert.match(last.json().detail as string, /no admin key usable/);
    const wrongRealm = await revokeClient(hub, admin, otherId, "--realm", "elsewhere", "--json");
    assert.equal(wrongRealm.code, 4);
    assert.match(wrongRealm.json().detail as string, /not elsewhere/);
  });
});

Deno.test("CORE-GOALS spellings: veen revoke and label-class set take the hub and the admin from the environment", async () => {
  await withAdminHub(async ({ hub, root, admin }) => {
    const victimId = await client(`${root}/v2`);
    const env = { VEEN_HUB: hub, VEEN_ADMIN: admin };
    const r = await runCli(["revoke", "--kind", "client-id", "--target", victimId, "--json"], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json().kind, "client-id");
    const c = await runCli(["label-class", "set", "--stream", "chat/user", "--class", "user", "--json"], env);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const missing = await runCli(["revoke", "--hub", hub, "--kind", "client-id", "--target", victimId]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Missing required flag --admin \(or set VEEN_ADMIN\)/);
  });
});
