/** `veen id status` against a real hub: a principal with a ctx, an org and a handle, and its usage errors. */
import assert from "node:assert/strict";
import { newClient, runCli } from "../testing/run.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";

Deno.test("id status prints the ctx (profile, links, revoked), the org and the handles asked for", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c];
    const me = ok(await runCli(["id", "principal", "--client", c, "--realm", "app", "--json"])).json();
    const ctxId = String((me.realms as Record<string, string>[])[0]!.ctx_id);
    ok(await runCli(["id", "profile", "set", ...base, "--realm", "app", "--display-name", "Al"]));
    ok(
      await runCli([
        "id",
        "handle",
        "set",
        ...base,
        "--realm",
        "app",
        "--handle",
        "@al",
        "--target-type",
        "ctx",
        "--target-id",
        ctxId,
      ]),
    );
    ok(await runCli(["id", "revoke", ...base, "--ctx-id", ctxId, "--realm", "app"]));
    const st = ok(
      await runCli([
        "id",
        "status",
        ...base,
        "--realm",
        "app",
        "--handle",
        "@al",
        "--handle",
        "@nobody",
        "--json",
      ]),
    ).json();
    const ctx = (st.ctxs as Record<string, unknown>[])[0]!;
    assert.equal(ctx.ctx_id, ctxId);
    assert.equal((ctx.profile as Record<string, unknown>).display_name, "Al");
    assert.equal(ctx.revoked, true);
    assert.deepEqual((st.handles as Record<string, unknown>[]).map((h) => [h.handle, h.target_id]), [
      ["@al", ctxId],
      ["@nobody", null],
    ]);
    assert.deepEqual(st.revoked_ctx_ids, [ctxId]);
    const text = ok(await runCli(["id", "status", ...base, "--realm", "app", "--handle", "@al"])).stdout;
    assert.match(text, new RegExp(`ctx ${ctxId}: display_name Al, 0 active link\\(s\\)`));
    assert.match(text, new RegExp(`handle @al: ctx ${ctxId}`));
    const quiet = ok(await runCli(["id", "status", ...base, "--quiet"]));
    assert.equal(quiet.stdout, "");
  });
});

Deno.test("id status: --handle without --realm is a usage error, before any hub is asked", async () => {
  const r = await runCli([
    "id",
    "status",
    "--hub",
    "http://127.0.0.1:9",
    "--client",
    "/nonexistent",
    "--handle",
    "@a",
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--handle needs --realm/);
});
