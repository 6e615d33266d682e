/**
 * `veen audit summary --env FILE` against a real hub: the given streams, then per tenant of the environment
 * descriptor the streams the client directory knows under its stream_prefix, each row tagged with the tenant, and a
 * row for a tenant with no known stream (CLI goals 3 §8). `--env` without `--hub-name` and with `--hub`.
 */
import assert from "node:assert/strict";
import { withAdminHub } from "../testing/admin_hub.ts";
import { runCli } from "../testing/run.ts";
import { ok as passed } from "../testing/with_real_hub.ts";

const ok = (r: Awaited<ReturnType<typeof runCli>>) => passed(r).json();

Deno.test("audit summary --env: known streams per tenant, tagged with tenant_id and label_class", async () => {
  await withAdminHub(async (h) => {
    const c = await h.client("c");
    const other = await h.client("other");
    for (const s of ["misc", "acme/orders", "acme/logs"]) ok(await h.send(c, s));
    ok(await h.send(other, "acme/unseen")); // on the hub, but this client never used it
    const audit = ["--requester", "aa".repeat(32), "--resource-id", "orders/1", "--resource-class", "order"];
    ok(
      await runCli([
        "op",
        "query-audit",
        "--hub",
        h.hub,
        "--client",
        c,
        "--stream",
        "acme/orders",
        ...audit,
        "--json",
      ]),
    );
    const envFile = `${h.root}/prod.env.json`;
    await Deno.writeTextFile(
      envFile,
      JSON.stringify({
        version: 1,
        name: "prod",
        cluster_context: "k",
        namespace: "veen",
        hubs: {},
        tenants: {
          acme: { stream_prefix: "acme/", label_class: "wallet" },
          globex: { stream_prefix: "globex/", label_class: "log" },
        },
      }),
    );
    const summary = (...more: string[]) =>
      runCli(["audit", "summary", "--hub", h.hub, "--client", c, "--json", ...more]);
    assert.equal((await summary()).code, 1, "--stream or --env is needed");
    const out = ok(await summary("--env", envFile, "--stream", "misc", "--stream", "acme/orders"));
    assert.equal(out.env, envFile);
    const rows = out.streams as Record<string, unknown>[];
    assert.deepEqual(
      rows.map((r) => [r.stream, r.tenant_id, r.tenant_label_class, r.stream_prefix, r.known_stream]),
      [
        ["misc", null, null, null, true],
        ["acme/orders", "acme", "wallet", "acme/", true],
        ["acme/logs", "acme", "wallet", "acme/", true],
        [null, "globex", "log", "globex/", false],
      ],
    );
    // The stream rows keep their shape and only gain the tenant fields.
    const plain = ok(await summary("--stream", "acme/orders")).streams as Record<string, unknown>[];
    assert.deepEqual(rows[1], {
      ...plain[0],
      tenant_id: "acme",
      tenant_label_class: "wallet",
      stream_prefix: "acme/",
      known_stream: true,
    });
    assert.deepEqual(plain[0]!.schemas, { "query.audit.v1": 1 });
    const text = await runCli(["audit", "summary", "--hub", h.hub, "--client", c, "--env", envFile]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^acme\/logs: no operations; .*; tenant acme$/m);
    assert.match(text.stdout, /^tenant globex \(prefix "globex\/"\): no known stream$/m);
  });
});
