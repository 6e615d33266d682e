/**
 * FED1/AUTH1 end to end through the CLI against a real hub on a clock the test moves: `fed authority publish|show`,
 * `hub role`, `label authority`, and the AUTH1 stage of /submit (active at exactly ts, unspecified again at ts+ttl,
 * tie-break, multi-primary, refusals take no seq, the view survives restarts and rebuilds, replicas refuse
 * unspecified labels).
 */
import assert from "node:assert/strict";
import { encodeErrorBody, VeenError } from "../../core/mod.ts";
import { removeViews, withAdminHub } from "../testing/admin_hub.ts";
import { runCli } from "../testing/run.ts";
import { hubMain } from "../../hub/mod.ts";
import { captureIo } from "../../cmd/mod.ts";

const ok = (r: { code: number; stdout: string; stderr: string }) =>
  assert.equal(r.code, 0, r.stdout + r.stderr);

const OTHER = "00".repeat(32);
const HIGHER = "ff".repeat(32);

/** `veen fed authority publish --json` for stream `s` with `primary`, `ts`, `ttl` and more flags. */
const publish = (
  hub: string,
  admin: string,
  s: string,
  primary: string,
  ts: number,
  ttl: number,
  ...more: string[]
) =>
  runCli([
    "fed",
    "authority",
    "publish",
    "--hub",
    hub,
    "--admin",
    admin,
    "--stream",
    s,
    "--primary-hub",
    primary,
    "--ts",
    String(ts),
    "--ttl",
    String(ttl),
    "--json",
    ...more,
  ]);

const show = (hub: string, s: string, ...more: string[]) =>
  runCli(["fed", "authority", "show", "--hub", hub, "--stream", s, ...more]);

const hubIdOf = async (hub: string) => (await runCli(["hub-id", "--hub", hub])).stdout.trim();

/** Asserts a send refused with E.AUTH and `detail`. */
function refused(r: Awaited<ReturnType<typeof runCli>>, detail: string): void {
  assert.equal(r.code, 4, r.stdout + r.stderr);
  assert.equal(r.json().code, "E.AUTH");
  assert.equal(r.json().detail, detail);
}

Deno.test("fed authority: active at exactly ts, unspecified again at ts+ttl; refusals take no seq", async () => {
  await withAdminHub(async (h) => {
    const client = await h.client("alice");
    const none = await show(h.hub, "fed/chat", "--json");
    ok(none);
    assert.deepEqual(
      { ...none.json(), realm_id: undefined, stream_id: undefined },
      {
        ok: true,
        realm_id: undefined,
        stream_id: undefined,
        primary_hub: null,
        replica_hubs: [],
        policy: "unspecified",
        ts: null,
        ttl: null,
        expires_at: null,
        active_now: false,
      },
    );
    const text = await show(h.hub, "fed/chat", "--realm", "default");
    ok(text);
    for (
      const l of ["primary_hub: none", "replica_hubs: []", "policy: unspecified", "ts: 0", "expires_at: 0"]
    ) {
      assert.ok(text.stdout.includes(l), text.stdout);
    }
    const first = await h.send(client, "fed/chat");
    ok(first);
    const seq0 = first.json().stream_seq as number;
    const ts = h.clock.t + 10;
    const p = await publish(h.hub, h.admin, "fed/chat", OTHER, ts, 100, "--replica-hub", HIGHER);
    ok(p);
    assert.equal(p.json().policy, "unspecified", "a record from the future does not decide yet");
    ok(await h.send(client, "fed/chat"));
    h.clock.t = ts;
    const at = (await show(h.hub, "fed/chat", "--json")).json();
    assert.equal(at.policy, "single-primary");
    assert.equal(at.primary_hub, OTHER);
    assert.deepEqual(at.replica_hubs, [HIGHER]);
    assert.equal(at.expires_at, ts + 100);
    assert.equal(at.active_now, true);
    refused(await h.send(client, "fed/chat"), "not primary for label");
    refused(await h.send(client, "fed/chat"), "not primary for label");
    ok(await h.send(client, "other/stream"));
    h.clock.t = ts + 99;
    refused(await h.send(client, "fed/chat"), "not primary for label");
    h.clock.t = ts + 100;
    assert.equal((await show(h.hub, "fed/chat", "--json")).json().policy, "unspecified");
    const after = await h.send(client, "fed/chat");
    ok(after);
    assert.equal(after.json().stream_seq, seq0 + 2, "the three refusals took no seq");
  });
});

Deno.test("fed authority: newest ts decides, equal ts by primary_hub ascending; hub role and label authority", async () => {
  await withAdminHub(async (h) => {
    const client = await h.client("alice");
    const self = await hubIdOf(h.hub);
    const ts = h.clock.t;
    ok(await publish(h.hub, h.admin, "s", self, ts, 1000));
    ok(await h.send(client, "s"));
    const tie = await publish(h.hub, h.admin, "s", OTHER, ts, 1000);
    ok(tie);
    assert.equal(tie.json().primary_hub, OTHER, "equal ts: the lower primary_hub decides");
    refused(await h.send(client, "s"), "not primary for label");
    const high = await publish(h.hub, h.admin, "s", HIGHER, ts, 1000);
    assert.equal(high.json().primary_hub, OTHER, "a higher primary_hub at the same ts does not");
    assert.equal((high.json().published as Record<string, unknown>).ts, ts);
    const older = await publish(h.hub, h.admin, "s", self, ts - 1, 1000);
    assert.equal(older.json().primary_hub, OTHER, "an older record does not");
    const newer = await publish(h.hub, h.admin, "s", self, ts + 1, 1000, "--replica-hub", OTHER);
    assert.equal(newer.json().primary_hub, OTHER, "a record from the future does not decide yet");
    h.clock.t = ts + 1;
    // The flip made this hub primary after OTHER, which it cannot ask for its last seq (no peer_hubs): it answers
    // 503 catching up (docs/replication.md) until `hub promote` forces the cutover.
    const waiting = await h.send(client, "s");
    assert.equal(waiting.code, 4, waiting.stdout + waiting.stderr);
    assert.match(waiting.stdout + waiting.stderr, new RegExp(`catching up: the old primary ${OTHER}`));
    assert.equal(await hubMain(["promote", "--stream", "s", "--hub", h.hub], captureIo()), 0);
    ok(await h.send(client, "s"));
    const role = await runCli(["hub", "role", "--hub", h.hub, "--stream", "s", "--json"]);
    ok(role);
    const r = role.json();
    assert.equal(r.hub_id, self);
    assert.equal(r.role, "standalone");
    const stream = r.stream as Record<string, unknown>;
    assert.equal(stream.policy, "single-primary");
    assert.equal(stream.primary_hub, self);
    assert.equal(stream.local_is_primary, true);
    assert.deepEqual(Object.keys(stream), [
      "realm_id",
      "stream_id",
      "label",
      "policy",
      "primary_hub",
      "local_is_primary",
    ]);
    const bare = await runCli(["hub", "role", "--hub", h.hub, "--json"]);
    assert.deepEqual(bare.json(), { ok: true, hub_id: self, role: "standalone" });
    const la = await runCli([
      "label",
      "authority",
      "--hub",
      h.hub,
      "--label",
      stream.label as string,
      "--json",
    ]);
    ok(la);
    assert.equal(la.json().stream_id, stream.stream_id);
    assert.deepEqual(la.json().replica_hubs, [OTHER]);
    assert.equal(la.json().locally_authorized, true);
    assert.equal(la.json().local_hub_id, self);
    const unknown = await runCli(["label", "authority", "--hub", h.hub, "--label", HIGHER]);
    ok(unknown);
    assert.match(unknown.stdout, /realm_id: unspecified\n/);
    assert.match(unknown.stdout, /policy: unspecified\n/);
    assert.match(unknown.stdout, /locally_authorized: true\n/);
    const wrongRealm = await runCli(["hub", "role", "--hub", h.hub, "--realm", "elsewhere", "--json"]);
    assert.equal(wrongRealm.code, 4);
    assert.equal(wrongRealm.json().code, "E.AUTH");
  });
});

Deno.test("fed authority: the view survives a restart and a rebuild of views.kv; multi-primary is accepted and counted", async () => {
  await withAdminHub(async (h) => {
    const client = await h.client("alice");
    ok(await publish(h.hub, h.admin, "s", OTHER, h.clock.t, 1000));
    ok(await publish(h.hub, h.admin, "m", OTHER, h.clock.t, 1000, "--policy", "multi-primary"));
    refused(await h.send(client, "s"), "not primary for label");
    await h.restart();
    refused(await h.send(client, "s"), "not primary for label");
    await h.restart(() => removeViews(h.hub));
    refused(await h.send(client, "s"), "not primary for label");
    ok(await h.send(client, "m"));
    const metrics = await (await fetch(`${h.url()}/metrics`)).text();
    assert.match(metrics, /veen_multi_primary_accepted_total 1\n/);
    assert.match(metrics, /veen_authority_refused_total 1\n/);
    const profile = await runCli(["hub", "profile", "--hub", h.hub, "--json"]);
    const features = profile.json().features as Record<string, unknown>;
    assert.deepEqual([features.fed1, features.auth1], [true, true]);
  });
});

Deno.test("fed authority: a hub started with role replica refuses unspecified labels, never admin labels", async () => {
  await withAdminHub(async (h) => {
    const client = await h.client("alice");
    refused(await h.send(client, "s"), "replica: no authority record for label");
    const info = await (await fetch(`${h.url()}/info`)).json();
    assert.equal(info.role, "replica");
    const role = await runCli(["hub", "role", "--hub", h.hub]);
    assert.match(role.stdout, /role: federated-replica\n/);
    ok(await publish(h.hub, h.admin, "s", await hubIdOf(h.hub), h.clock.t, 1000));
    ok(await h.send(client, "s"));
  }, { role: "replica" });
});

Deno.test("fed authority publish: a bad --policy or --primary-hub is a usage error and publishes nothing", async () => {
  await withAdminHub(async (h) => {
    for (const [primary, more] of [[OTHER, ["--policy", "nobody"]], ["abc", []]] as const) {
      const bad = await publish(h.hub, h.admin, "s", primary, h.clock.t, 10, ...more);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    }
    assert.equal((await show(h.hub, "s", "--json")).json().policy, "unspecified");
  });
});

Deno.test("hub role, fed authority show and label authority: E.PROFILE (exit 4) from a hub without AUTH1", async () => {
  await withAdminHub(async (h) => {
    // A hub as it was before AUTH1: every route but GET /authority.
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      const u = new URL(req.url);
      if (u.pathname === "/authority") {
        const body = encodeErrorBody(new VeenError("E.NOT_FOUND", "No route"));
        return new Response(body.slice().buffer, { status: 404 });
      }
      const r = await fetch(h.url() + u.pathname + u.search, { method: req.method, body: req.body });
      return new Response(await r.arrayBuffer(), { status: r.status, headers: r.headers });
    });
    try {
      const old = `http://127.0.0.1:${server.addr.port}`;
      for (
        const args of [
          ["hub", "role", "--hub", old],
          ["hub", "role", "--hub", old, "--stream", "s"],
          ["fed", "authority", "show", "--hub", old, "--stream", "s"],
          ["label", "authority", "--hub", old, "--label", OTHER],
        ]
      ) {
        const r = await runCli([...args, "--json"]);
        assert.equal(r.code, 4, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
        assert.equal(r.json().code, "E.PROFILE");
      }
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("authority set (CORE-GOALS): hub and admin from the environment, single-primary for 86400 s by default", async () => {
  await withAdminHub(async (h) => {
    const env = { VEEN_HUB: h.hub, VEEN_ADMIN: h.admin };
    const r = await runCli(
      ["authority", "set", "--realm", "default", "--stream", "fed/chat", "--primary-hub", OTHER, "--json"],
      env,
    );
    ok(r);
    assert.equal(r.json().policy, "single-primary");
    assert.equal(r.json().ttl, 86400);
    assert.equal(r.json().primary_hub, OTHER);
    const wrong = await runCli([
      "authority",
      "set",
      "--realm",
      "other",
      "--stream",
      "s",
      "--primary-hub",
      OTHER,
    ], env);
    assert.equal(wrong.code, 4, wrong.stderr);
  });
});
