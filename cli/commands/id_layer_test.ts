import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startRealHub } from "../testing/real_hub.ts";
import { newClient, runCli, tempDir } from "../testing/run.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";

function ht(tag: string, ...parts: (string | Buffer)[]): string {
  const h = createHash("sha256").update(tag, "utf8").update(new Uint8Array([0]));
  for (const p of parts) h.update(typeof p === "string" ? Buffer.from(p, "utf8") : p);
  return h.digest("hex");
}

const P = "01".repeat(32), DEV = "02".repeat(32), ORG = "03".repeat(32);

Deno.test("id derive --json prints realm_id, ctx_id, principal_id and, when given, device_id and org_id", async () => {
  const r = await runCli(["id", "derive", "--realm", "example-app", "--principal-pk", P, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const realm = ht("id/realm", "example-app");
  assert.deepEqual(r.json(), {
    ok: true,
    realm_id: realm,
    ctx_id: ht("id/ctx", Buffer.from(P, "hex"), Buffer.from(realm, "hex")),
    principal_id: ht("id/principal", Buffer.from(P, "hex")),
  });
  const all = await runCli([
    "id",
    "derive",
    "--realm",
    realm,
    "--principal-pk",
    P,
    "--device-pk",
    DEV,
    "--org-pk",
    ORG,
    "--json",
  ]);
  assert.equal(all.code, 0, all.stderr);
  const j = all.json();
  assert.equal(j.realm_id, realm, "64 hex characters are taken as the realm_id itself");
  assert.equal(j.ctx_id, r.json().ctx_id);
  assert.equal(j.device_id, ht("id/device", Buffer.from(DEV, "hex")));
  assert.equal(j.org_id, ht("id/org", Buffer.from(ORG, "hex")));
  const text = await runCli(["id", "derive", "--realm", "example-app", "--principal-pk", P]);
  assert.match(
    text.stdout,
    new RegExp(`^realm_id: ${realm}\nctx_id: [0-9a-f]{64}\nprincipal_id: [0-9a-f]{64}\n$`),
  );
});

Deno.test("id derive refuses a missing or malformed key with a usage or size error", async () => {
  assert.equal((await runCli(["id", "derive", "--realm", "x"])).code, 1);
  const short = await runCli(["id", "derive", "--realm", "x", "--principal-pk", "01".repeat(31)]);
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /--principal-pk/);
});

Deno.test("id device add|disable|expire and id status against a real hub: ACTIVE at now == expires_at, then not", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c];
    const show = ok(await runCli(["id", "show", "--client", c, "--json"])).json();
    const add = ok(
      await runCli(["id", "device", "add", ...base, "--label", "laptop", "--expires-at", "2000", "--json"]),
    );
    const deviceId = add.json().device_id as string;
    assert.equal(deviceId, ht("id/device", Buffer.from(show.client_id as string, "hex")));
    assert.equal(
      add.json().principal_pk,
      show.id_sign_public,
      "the principal defaults to the client's id key",
    );
    const other = "05".repeat(32);
    ok(await runCli(["id", "device", "add", ...base, "--device-pk", other, "--dh-pk", "06".repeat(32)]));
    const st = async (now: number) =>
      ok(await runCli(["id", "status", ...base, "--now", String(now), "--json"])).json() as {
        devices: { device_id: string; active: boolean; label: string | null }[];
        fold: { upto_seq: number };
      };
    const at = await st(2000);
    assert.equal(at.devices.length, 2);
    assert.equal(
      at.devices.find((d) => d.device_id === deviceId)!.active,
      true,
      "now == expires_at is active",
    );
    assert.equal(at.devices.find((d) => d.device_id === deviceId)!.label, "laptop");
    assert.equal((await st(2001)).devices.find((d) => d.device_id === deviceId)!.active, false);
    ok(await runCli(["id", "device", "expire", ...base, "--expires-at", "3000"]));
    assert.equal(
      (await st(2001)).devices.find((d) => d.device_id === deviceId)!.active,
      true,
      "expiry moved",
    );
    ok(await runCli(["id", "device", "disable", ...base, "--device-pk", other]));
    const after = await st(1);
    assert.equal(after.fold.upto_seq, 4);
    const o = after.devices.find((d) => d.device_id === ht("id/device", Buffer.from(other, "hex")))!;
    assert.equal(o.active, false);
    const missing = await runCli(["id", "device", "disable", ...base, "--device-pk", "07".repeat(32)]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /^E\.NOT_FOUND: Principal [0-9a-f]{64} has no device/);
    assert.equal((await st(1)).fold.upto_seq, 4, "nothing was sent for an unknown device");
  });
});

Deno.test("id handle set|resolve against a real hub: LWW per (realm, handle) by ts, not arrival", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c, "--realm", "example-app", "--handle", "@alice"];
    assert.equal(ok(await runCli(["id", "handle", "resolve", ...base])).stdout, "unset\n");
    const set = (id: string, ts: number) =>
      runCli(["id", "handle", "set", ...base, "--target-type", "ctx", "--target-id", id, "--ts", String(ts)]);
    ok(await set("0a".repeat(32), 5));
    ok(await set("0b".repeat(32), 9));
    ok(await set("0c".repeat(32), 7));
    const r = ok(await runCli(["id", "handle", "resolve", ...base, "--json"])).json();
    assert.equal(r.target_id, "0b".repeat(32));
    assert.equal(r.stream_seq, 2);
    assert.equal(ok(await runCli(["id", "handle", "resolve", ...base])).stdout, `ctx ${"0b".repeat(32)}\n`);
    const other = ["--hub", hub.url, "--client", c, "--realm", "other", "--handle", "@alice"];
    assert.equal(ok(await runCli(["id", "handle", "resolve", ...other])).stdout, "unset\n", "per realm");
    const bad = await runCli([
      "id",
      "handle",
      "set",
      ...base.slice(0, -1),
      "a b",
      "--target-type",
      "ctx",
      "--target-id",
      "0a".repeat(32),
    ]);
    assert.equal(bad.code, 1);
  });
});

Deno.test("id revoke --auth-ref: the hub refuses the auth_ref at once and id status lists it; a device revocation makes it inactive", async () => {
  const t = await tempDir();
  try {
    const admin = await newClient(t.path, "admin");
    const adminId = ok(await runCli(["id", "show", "--client", admin, "--json"])).json().client_id as string;
    const hub = await startRealHub(`${t.path}/hub`, {
      config: { adminKeys: [adminId], trustedIssuers: [adminId] },
    });
    try {
      const c = await newClient(t.path, "c");
      const cap = `${t.path}/cap.cbor`;
      const issued = ok(
        await runCli([
          "cap",
          "issue",
          "--issuer",
          admin,
          "--subject",
          `${c}/identity_card.pub`,
          "--stream",
          "app",
          "--ttl",
          "600",
          "--out",
          cap,
          "--json",
        ]),
      );
      const ref = issued.json().auth_ref as string;
      ok(await runCli(["cap", "authorize", "--hub", hub.url, "--cap", cap, "--client", c]));
      const send = () =>
        runCli(["send", "--hub", hub.url, "--client", c, "--stream", "app", "--body", "{}", "--cap", cap]);
      ok(await send());
      const base = ["--hub", hub.url, "--client", c];
      const noAdmin = await runCli(["id", "revoke", ...base, "--auth-ref", ref]);
      assert.equal(noAdmin.code, 1, "an auth_ref revocation needs the admin client");
      const rv = ok(await runCli(["id", "revoke", ...base, "--auth-ref", ref, "--admin", admin, "--json"]));
      assert.equal(typeof rv.json().hub_revocation_stream_seq, "number");
      const refused = await send();
      assert.notEqual(refused.code, 0, "the hub refuses the revoked auth_ref");
      assert.match(refused.stderr, /^E\.AUTH/);
      const show = ok(await runCli(["id", "show", "--client", c, "--json"])).json();
      ok(await runCli(["id", "device", "add", ...base]));
      ok(
        await runCli(["id", "revoke", ...base, "--device-pk", show.client_id as string, "--reason", "lost"]),
      );
      const st = ok(await runCli(["id", "status", ...base, "--json"])).json() as {
        devices: { active: boolean; revoked: boolean }[];
        revoked_auth_refs: string[];
      };
      assert.deepEqual(st.revoked_auth_refs, [ref]);
      assert.deepEqual(st.devices.map((d) => [d.active, d.revoked]), [[false, true]]);
      assert.equal((await runCli(["id", "revoke", ...base])).code, 1);
    } finally {
      await hub.close();
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("id group add|remove|members and id role add|list against a real hub: OR-set with re-add, roles through groups", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const org = ok(
      await runCli(["id", "derive", "--realm", "r", "--principal-pk", P, "--org-pk", ORG, "--json"]),
    )
      .json().org_id as string;
    const base = ["--hub", hub.url, "--client", c, "--org-id", org, "--group", "editors"];
    const a = "0a".repeat(32), b = "0b".repeat(32);
    const add = ok(await runCli(["id", "group", "add", ...base, "--ctx-id", a, "--ctx-id", b, "--json"]));
    assert.equal(add.json().group_id, ht("id/group", Buffer.from(org, "hex"), "editors"));
    ok(await runCli(["id", "group", "remove", ...base, "--ctx-id", a]));
    assert.equal(ok(await runCli(["id", "group", "members", ...base])).stdout, `${b}\n`);
    ok(await runCli(["id", "group", "add", ...base, "--ctx-id", a]));
    assert.deepEqual(ok(await runCli(["id", "group", "members", ...base, "--json"])).json().members, [a, b]);
    const roles = ["--hub", hub.url, "--client", c, "--org-id", org];
    ok(await runCli(["id", "role", "add", ...roles, "--role", "editor", "--group", "editors"]));
    ok(await runCli(["id", "role", "add", ...roles, "--role", "admin", "--ctx-id", a]));
    assert.equal(ok(await runCli(["id", "role", "list", ...roles, "--ctx-id", a])).stdout, "admin\neditor\n");
    ok(await runCli(["id", "group", "remove", ...base, "--ctx-id", a]));
    assert.deepEqual(
      ok(await runCli(["id", "role", "list", ...roles, "--ctx-id", a, "--json"])).json().roles,
      ["admin"],
    );
    assert.equal((await runCli(["id", "role", "add", ...roles, "--role", "x"])).code, 1);
    const other = ["--hub", hub.url, "--client", c, "--org-id", org, "--group", "admins"];
    assert.equal(ok(await runCli(["id", "group", "members", ...other])).stdout, "");
  });
});
