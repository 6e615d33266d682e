/** `schema register|show|list|usage` and `hub profile` against a real hub with admin_keys: META0+ end to end. */
import assert from "node:assert/strict";
import { schemaIdFor, toHex, utf8 } from "../../core/mod.ts";
import { H } from "../../core/mod.ts";
import { removeViews, withAdminHub } from "../testing/admin_hub.ts";
import { runCli } from "../testing/run.ts";

type Run = Awaited<ReturnType<typeof runCli>>;
const ok = (r: Run) => {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.json();
};

Deno.test("schema register/show/list/usage: registered descriptors, unknown ids exit 4 E.PROFILE, usage counted by the client", async () => {
  await withAdminHub(async (h) => {
    const alice = await h.client("alice");
    const id = toHex(schemaIdFor("test.operation.v1"));
    const unknown = await runCli(["schema", "show", "--hub", h.hub, "--schema-id", id, "--json"]);
    assert.equal(unknown.code, 4, unknown.stdout);
    assert.equal(unknown.json().code, "E.PROFILE");
    const reg = ok(
      await runCli([
        "schema",
        "register",
        "--hub",
        h.hub,
        "--realm",
        "default",
        "--name",
        "test.operation.v1",
        "--version",
        "v1",
        "--doc-url",
        "https://example.invalid/op",
        "--admin",
        h.admin,
        "--json",
      ]),
    );
    assert.deepEqual(
      [reg.schema_id, reg.name, reg.version, reg.doc_url, reg.owner],
      [id, "test.operation.v1", "v1", "https://example.invalid/op", null],
    );
    assert.ok(Math.abs((reg.ts as number) - Date.now() / 1000) < 60, `ts ${reg.ts} is now`);
    const owner = "ab".repeat(32);
    const other = "cd".repeat(32);
    ok(
      await runCli([
        "schema",
        "register",
        "--hub",
        h.hub,
        "--name",
        "acme.thing.v1",
        "--version",
        "v2",
        "--owner",
        owner,
        "--schema-id",
        other,
        "--admin",
        h.admin,
        "--json",
      ]),
    );
    const shown = ok(await runCli(["schema", "show", "--hub", h.hub, "--schema-id", id, "--json"]));
    assert.equal(shown.name, "test.operation.v1");
    const text = await runCli(["schema", "show", "--hub", h.hub, "--schema-id", other]);
    assert.match(text.stdout, new RegExp(`^owner: ${owner}$`, "m"));
    assert.match(text.stdout, /^doc_url: none$/m);
    const names = (r: Run) => (ok(r).schemas as Record<string, unknown>[]).map((d) => d.name);
    assert.deepEqual(names(await runCli(["schema", "list", "--hub", h.hub, "--json"])), [
      "test.operation.v1",
      "acme.thing.v1",
    ]);
    assert.deepEqual(
      names(await runCli(["schema", "list", "--hub", h.hub, "--name-prefix", "test.", "--json"])),
      ["test.operation.v1"],
    );
    assert.deepEqual(
      names(await runCli(["schema", "list", "--hub", h.hub, "--owner", owner, "--json"])),
      ["acme.thing.v1"],
    );
    const wrongRealm = await runCli(["schema", "list", "--hub", h.hub, "--realm", "elsewhere", "--json"]);
    assert.equal(wrongRealm.code, 4);

    // Two MSGs with the registered schema, one with a schema nobody registered (delivered, reported unknown).
    const send = (stream: string, schema: string) => h.send(alice, stream, "{}", "--schema", schema);
    ok(await send("ops", "test.operation.v1"));
    ok(await send("ops2", "test.operation.v1"));
    ok(await send("ops", "nobody.registered.v1"));
    const usageOf = async (...more: string[]) =>
      ok(await runCli(["schema", "usage", "--hub", h.hub, "--client", alice, "--json", ...more]));
    const usage = await usageOf("--stream", "ops", "--stream", "ops2");
    const byName = Object.fromEntries(
      (usage.schemas as Record<string, unknown>[]).map((s) => [s.name, [s.count, (s.labels as []).length]]),
    );
    assert.deepEqual(byName, { "test.operation.v1": [2, 2], unknown: [1, 1] });
    assert.equal(usage.items, 3);
    // --limit reads the last N items of each stream.
    const last = await usageOf("--stream", "ops", "--limit", "1", "--schema-id", id);
    assert.deepEqual((last.schemas as Record<string, unknown>[]).map((s) => s.count), [0]);
    // Someone who cannot open the payloads counts them apart.
    const bob = await h.client("bob");
    const blind = ok(
      await runCli(["schema", "usage", "--hub", h.hub, "--client", bob, "--stream", "ops", "--json"]),
    );
    assert.deepEqual([blind.schemas, blind.not_decryptable], [[], 2]);
    const used = ok(
      await runCli([
        "schema",
        "show",
        "--hub",
        h.hub,
        "--schema-id",
        id,
        "--client",
        alice,
        "--stream",
        "ops",
        "--json",
      ]),
    );
    assert.equal(used.used_count, 1);
    assert.equal((used.used_labels as string[]).length, 1);

    // The registry survives a restart and a lost views.kv.
    await h.restart(() => removeViews(h.hub));
    assert.equal(
      ok(await runCli(["schema", "show", "--hub", h.hub, "--schema-id", other, "--json"])).owner,
      owner,
    );
  });
});

Deno.test("schema register: a non-admin is refused (nothing registered); schema-id uses the one table", async () => {
  await withAdminHub(async (h) => {
    const mallory = await h.client("mallory");
    const r = await runCli([
      "schema",
      "register",
      "--hub",
      h.hub,
      "--name",
      "x.v1",
      "--version",
      "v1",
      "--admin",
      mallory,
      "--json",
    ]);
    assert.equal(r.code, 4);
    assert.equal(r.json().code, "E.AUTH");
    assert.deepEqual(ok(await runCli(["schema", "list", "--hub", h.hub, "--json"])).schemas, []);
    const wallet = ok(await runCli(["schema-id", "wallet.open.v1", "--json"]));
    assert.equal(wallet.schema_id, toHex(H(utf8("wallet.open.v1"))));
  });
});

Deno.test("hub profile: the v0.0.1+ feature descriptor is true to what the hub enforces", async () => {
  await withAdminHub(async (h) => {
    const p = ok(await runCli(["hub", "profile", "--hub", h.hub, "--json"]));
    assert.equal(p.version, "veen-0.0.1+");
    assert.match(p.profile_id as string, /^[0-9a-f]{64}$/);
    const id = ok(await runCli(["hub", "key", "--hub", h.hub, "--json"]));
    assert.equal(p.hub_id, id.hub_id);
    assert.deepEqual(p.features, {
      core: true,
      fed1: true, // authority records are folded and AUTH1 enforced on every hub
      auth1: true,
      kex1_plus: false, // the client key bounds are not configured
      sh1_plus: true,
      lclass0: true,
      meta0_plus: true,
    });
    const text = await runCli(["hub", "profile", "--hub", h.hub]);
    assert.match(
      text.stdout,
      /^version: veen-0\.0\.1\+\nprofile_id: [0-9a-f]{64}\nhub_id: [0-9a-f]{64}\nfeatures:\n/,
    );
    assert.match(text.stdout, /^ {2}meta0_plus: true$/m);
  });
  // With the test-only key that stops folding label classes and schemas, the hub does not claim them.
  await withAdminHub(async (h) => {
    const p = ok(await runCli(["hub", "profile", "--hub", h.hub, "--json"]));
    assert.deepEqual([
      (p.features as Record<string, boolean>).lclass0,
      (p.features as Record<string, boolean>).meta0_plus,
    ], [false, false]);
  }, { unsafeSkipAdminFold: true });
  // KEX1+ is claimed once both client key bounds are set; SH1+ not when a test-only key breaks its stages.
  await withAdminHub(async (h) => {
    const f = ok(await runCli(["hub", "profile", "--hub", h.hub, "--json"])).features as Record<
      string,
      boolean
    >;
    assert.deepEqual([f.kex1_plus, f.sh1_plus], [true, false]);
  }, { maxClientIdLifetimeSec: 86400, maxMsgsPerClientIdPerLabel: 1000, unsafeSkipPowCheck: true });
  // With the test-only key that skips AUTH1, the hub claims neither FED1 nor AUTH1.
  await withAdminHub(async (h) => {
    const f = ok(await runCli(["hub", "profile", "--hub", h.hub, "--json"])).features as Record<
      string,
      boolean
    >;
    assert.deepEqual([f.fed1, f.auth1], [false, false]);
  }, { unsafeSkipAuthority: true });
});
