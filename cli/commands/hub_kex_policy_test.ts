/** KEX1+ from the CLI against the real hub: hub kex-policy, cap issue --hub, cap fetch, id usage --hub, send at the bound. */
import assert from "node:assert/strict";
import { startRealHub } from "../testing/real_hub.ts";
import { runCli, tempDir } from "../testing/run.ts";

const ok = (r: { code: number; stdout: string; stderr: string }) =>
  assert.equal(r.code, 0, r.stdout + r.stderr);

Deno.test("real hub KEX1+: kex-policy, cap issue with the hub's default ttl, cap fetch, id usage --hub, send refused at the count bound", async () => {
  const t = await tempDir();
  try {
    const admin = `${t.path}/admin`;
    const c = `${t.path}/c`;
    ok(await runCli(["keygen", "--out", admin]));
    ok(await runCli(["keygen", "--out", c]));
    const issuer = (await runCli(["id", "show", "--client", admin, "--json"])).json()
      .id_sign_public as string;
    const hub = await startRealHub(`${t.path}/hub`, {
      admission: true,
      trustedIssuers: [issuer],
      config: {
        maxMsgsPerClientIdPerLabel: 2,
        maxClientIdLifetimeSec: 86400,
        defaultCapTtlSec: 600,
        maxCapTtlSec: 900,
      },
    });
    try {
      const policy = await runCli(["hub", "kex-policy", "--hub", hub.url, "--json"]);
      ok(policy);
      assert.deepEqual(Object.keys(policy.json()), [
        "ok",
        "max_client_id_lifetime_sec",
        "max_msgs_per_client_id_per_label",
        "default_cap_ttl_sec",
        "max_cap_ttl_sec",
        "revocation_stream",
        "rotation_window_sec",
      ]);
      assert.equal(policy.json().max_msgs_per_client_id_per_label, 2);
      assert.equal(policy.json().rotation_window_sec, null);
      assert.match(policy.json().revocation_stream as string, /^[0-9a-f]{64}$/);
      const text = await runCli(["hub", "kex-policy", "--hub", hub.url]);
      assert.match(text.stdout, /^max_client_id_lifetime_sec: 86400\n/);
      assert.match(text.stdout, /\nrotation_window_sec: unspecified\n$/);

      const cap = `${t.path}/cap.cbor`;
      const issue = ["cap", "issue", "--issuer", admin, "--subject", c, "--stream", "kex/s", "--out", cap];
      const noTtl = await runCli(issue);
      assert.equal(noTtl.code, 1, "neither --ttl nor --hub");
      const tooLong = await runCli([...issue, "--hub", hub.url, "--ttl", "901"]);
      assert.equal(tooLong.code, 1);
      assert.match(tooLong.stderr, /max_cap_ttl_sec 900/);
      const issued = await runCli([...issue, "--hub", hub.url, "--json"]);
      ok(issued);
      assert.equal(issued.json().ttl, 600, "the hub's default_cap_ttl_sec");
      const ref = issued.json().auth_ref as string;
      ok(await runCli(["cap", "authorize", "--hub", hub.url, "--cap", cap, "--client", c]));
      const fetched = `${t.path}/fetched.cbor`;
      ok(await runCli(["cap", "fetch", "--hub", hub.url, "--auth-ref", ref, "--out", fetched]));
      assert.deepEqual(await Deno.readFile(fetched), await Deno.readFile(cap));
      const missing = await runCli([
        "cap",
        "fetch",
        "--hub",
        hub.url,
        "--auth-ref",
        "00".repeat(32),
        "--out",
        fetched,
      ]);
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /^E\.NOT_FOUND/);

      const send = [
        "send",
        "--hub",
        hub.url,
        "--client",
        c,
        "--stream",
        "kex/s",
        "--cap",
        cap,
        "--body",
        "{}",
      ];
      ok(await runCli(send));
      ok(await runCli(send));
      const usage = await runCli(["id", "usage", "--client", c, "--hub", hub.url, "--json"]);
      ok(usage);
      const row = (usage.json().labels as Record<string, unknown>[])[0]!;
      assert.equal(row.msgs_sent, 2);
      assert.equal(row.exceeds_msg_bound, true);
      assert.equal(row.exceeds_lifetime_bound, false);
      assert.equal(row.rotation_recommended, true);
      const local = (await runCli(["id", "usage", "--client", c, "--json"])).json().labels as Record<
        string,
        unknown
      >[];
      assert.deepEqual([local[0]!.exceeds_msg_bound, local[0]!.rotation_recommended], [null, false]);
      const third = await runCli(send);
      assert.equal(third.code, 4);
      assert.match(third.stderr, /^E\.AUTH.*rotate client key/);
    } finally {
      await hub.close();
    }
  } finally {
    await t.cleanup();
  }
});
