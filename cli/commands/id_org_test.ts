/** `veen id org create|show` against a real hub on loopback. */
import assert from "node:assert/strict";
import { newClient, runCli } from "../testing/run.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";

const REALM = "example-app";

Deno.test("id org create|show: LWW profile keeps created_at, shows groups and members; id status --org-id", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c];
    const orgPk = "06".repeat(32);
    const made = ok(
      await runCli([
        "id",
        "org",
        "create",
        ...base,
        "--org-pk",
        orgPk,
        "--display-name",
        "Acme",
        "--metadata-json",
        '{"tier":1}',
        "--created-at",
        "50",
        "--updated-at",
        "100",
        "--json",
      ]),
    ).json();
    const orgId = String(made.org_id);
    const derived = ok(
      await runCli(["id", "derive", "--realm", REALM, "--principal-pk", orgPk, "--org-pk", orgPk, "--json"]),
    ).json();
    assert.equal(orgId, derived.org_id);
    const rename = (name: string, at: string) =>
      runCli(["id", "org", "create", ...base, "--org-id", orgId, "--display-name", name, "--updated-at", at]);
    ok(await rename("Old", "90"));
    ok(await rename("Acme Inc", "110"));
    ok(
      await runCli([
        "id",
        "group",
        "add",
        ...base,
        "--org-id",
        orgId,
        "--group",
        "eds",
        "--ctx-id",
        "41".repeat(32),
      ]),
    );
    const show = ok(await runCli(["id", "org", "show", ...base, "--org-id", orgId, "--json"])).json();
    const p = show.profile as Record<string, unknown>;
    assert.equal(p.display_name, "Acme Inc");
    assert.equal(p.created_at, 50, "created_at is kept from the current profile");
    assert.equal(p.metadata, null, "each record is the whole profile");
    assert.deepEqual((show.groups as Record<string, unknown>[]).map((g) => [g.name, g.members]), [
      ["eds", ["41".repeat(32)]],
    ]);
    const st = ok(await runCli(["id", "status", ...base, "--org-id", orgId, "--json"])).json();
    assert.equal(
      ((st.orgs as Record<string, unknown>[])[0]!.profile as Record<string, unknown>).display_name,
      "Acme Inc",
    );
    assert.equal((await runCli(["id", "org", "show", ...base])).code, 1, "show needs --org-id or --org-pk");
  });
});
