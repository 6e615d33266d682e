/**
 * Discovery and connect end to end on a real hub: advertisements on the disc.* streams, the verified resumable
 * fold, expiry at RECEIPT hub_ts + ttl_sec, retire and revive, the 100-result cap, and `veen connect` selecting the
 * advertised hub (pinning its key), overlay and service and calling it over RPC0.
 */
import assert from "node:assert/strict";
import { toHex } from "../../core/mod.ts";
import { startRealHub } from "../testing/real_hub.ts";
import { newClient, runCli, tempDir } from "../testing/run.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";

const results = (r: Record<string, unknown>) => r.results as Record<string, unknown>[];

/** `veen connect ... --method add --args [2,3] --json` from `caller` to the service card `server`. */
const connectAdd = (h: string[], caller: string, server: string, ...extra: string[]) =>
  runCli([
    "connect",
    ...h,
    "--client",
    caller,
    "--method",
    "add",
    "--args",
    "[2,3]",
    "--to",
    server,
    ...extra,
    "--timeout-ms",
    "15000",
    "--json",
  ]);

/** `veen rpc serve` on svc/calc answering one request (run concurrently with the caller). */
const serveOnce = (h: string[], server: string) =>
  runCli([
    "rpc",
    "serve",
    ...h,
    "--stream",
    "svc/calc",
    "--client",
    server,
    "--poll-ms",
    "20",
    "--max-requests",
    "1",
    "--for-ms",
    "30000",
  ]);

/** Advertises the hub of `w`'s --hub, the rpc@v1 overlay and the calc service (method add on svc/calc). */
async function advertiseRpcService(w: string[], authMode: string, ...hubFlags: string[]): Promise<void> {
  ok(await runCli(["disc", "advertise-hub", ...w, ...hubFlags]));
  ok(
    await runCli([
      "disc",
      "advertise-overlay",
      ...w,
      "--name",
      "rpc",
      "--version",
      "v1",
      "--schema",
      "rpc.v1",
    ]),
  );
  const service = [
    "--name",
    "calc",
    "--overlay",
    "rpc@v1",
    "--method",
    "add",
    "--service-stream",
    "svc/calc",
  ];
  ok(await runCli(["disc", "advertise-service", ...w, ...service, "--auth-mode", authMode]));
}

Deno.test("disc: advertise, query, expiry at hub_ts + ttl_sec, retire hides, a later advertise revives, strangers cannot retire", async () => {
  await withRealHub({}, async (hub, root) => {
    const op = await newClient(root, "operator");
    const reader = await newClient(root, "reader");
    const mallory = await newClient(root, "mallory");
    const h = ["--hub", hub.url];
    const w = [...h, "--client", op, "--to", reader];
    const calc = (...extra: string[]) =>
      runCli([
        "disc",
        "advertise-service",
        ...w,
        "--name",
        "calc",
        "--overlay",
        "rpc@v1",
        "--method",
        "add",
        "--service-stream",
        "svc/calc",
        ...extra,
      ]);
    const q = (...f: string[]) => runCli(["disc", "query", ...h, "--client", reader, "--json", ...f]);

    const hubAd = ok(
      await runCli(["disc", "advertise-hub", ...w, "--region", "eu", "--tag", "public", "--json"]),
    ).json();
    assert.equal(hubAd.stream, "disc.hubs.v1");
    const hubs = results(ok(await q("--kind", "hub", "--region", "eu")).json());
    assert.equal(hubs.length, 1);
    assert.equal(hubs[0]!.hub_pk, toHex(hub.hubPk));
    assert.deepEqual(hubs[0]!.endpoints, [{ kind: "http", url: hub.url }]);

    const ad = ok(
      await calc("--ttl-sec", "30", "--json"),
    ).json();
    const id = String(ad.service_id);
    const hubTs = ad.hub_ts as number;
    assert.equal(ad.expires_at, hubTs + 30);
    const at = (t: number) => q("--kind", "service", "--method", "add", "--at", String(t));
    assert.equal(results(ok(await at(hubTs + 29)).json()).length, 1);
    assert.equal(results(ok(await at(hubTs + 30)).json()).length, 0, "expired at hub_ts + ttl_sec");

    // A stranger's retire is ignored; the publisher's hides the entry; a later advertise revives it.
    ok(
      await runCli([
        "disc",
        "retire",
        ...h,
        "--client",
        mallory,
        "--to",
        reader,
        "--kind",
        "service",
        "--id",
        id,
      ]),
    );
    assert.equal(results(ok(await at(hubTs + 1)).json()).length, 1);
    ok(await runCli(["disc", "retire", ...w, "--kind", "service", "--id", id, "--reason", "maintenance"]));
    const retired = ok(await at(hubTs + 1)).json();
    assert.equal(results(retired).length, 0);
    assert.ok(
      Number((retired.fold as Record<string, number>).resumed_from) > 0,
      "the fold resumed from its summary",
    );
    const again = ok(
      await calc("--json"),
    ).json();
    assert.equal(again.service_id, id);
    const revived = results(ok(await q("--kind", "service", "--name-prefix", "ca")).json());
    assert.deepEqual(revived.map((s) => [s.service_id, s.stream_seq]), [[id, again.stream_seq]]);
    assert.equal(
      (await q("--kind", "overlay", "--method", "add")).code,
      1,
      "--method does not filter overlays",
    );
  });
});

Deno.test("disc query returns at most 100 results and says more", async () => {
  await withRealHub({}, async (hub, root) => {
    const op = await newClient(root, "operator");
    for (let i = 0; i < 102; i++) {
      ok(
        await runCli([
          "disc",
          "advertise-overlay",
          "--hub",
          hub.url,
          "--client",
          op,
          "--name",
          `o${i}`,
          "--version",
          "v1",
        ]),
      );
    }
    const r = ok(
      await runCli([
        "disc",
        "query",
        "--hub",
        hub.url,
        "--client",
        op,
        "--kind",
        "overlay",
        "--limit",
        "500",
        "--json",
      ]),
    ).json();
    assert.equal(results(r).length, 100);
    assert.equal(r.more, true);
  });
});

Deno.test("connect: selects the advertised hub, pins its key, finds the rpc service, calls it; a hub with another key fails phase hub", async () => {
  await withRealHub({}, async (hub, root) => {
    const op = await newClient(root, "operator");
    const server = await newClient(root, "server");
    const caller = await newClient(root, "caller");
    const h = ["--hub", hub.url];
    const w = [...h, "--client", op, "--to", caller];
    await advertiseRpcService(w, "none", "--region", "eu");
    const serving = serveOnce(h, server);
    const c = ok(
      await connectAdd(h, caller, server, "--region", "eu"),
    ).json();
    ok(await serving);
    assert.equal(c.result, 5);
    const phases = c.phases as Record<string, unknown>[];
    assert.deepEqual(phases.map((p) => p.phase), ["hub", "service", "authorize", "call"]);
    assert.equal(phases[0]!.hub_pk, toHex(hub.hubPk));
    const state = JSON.parse(await Deno.readTextFile(`${caller}/state.json`));
    assert.ok(Object.values(state.pins).some((p) => (p as { hub_pk: string }).hub_pk === toHex(hub.hubPk)));

    // An advertisement naming this hub's key with another hub's endpoint: phase hub fails with E.SIG.
    const other = await startRealHub(`${root}/hub2`);
    try {
      const liar = await newClient(root, "liar");
      ok(
        await runCli([
          "disc",
          "advertise-hub",
          "--hub",
          hub.url,
          "--client",
          liar,
          "--to",
          caller,
          "--advertise",
          hub.url,
          "--endpoint",
          `http=${other.url}`,
          "--region",
          "us",
          "--tag",
          "evil",
        ]),
      );
      const bad = await runCli([
        "connect",
        ...h,
        "--client",
        caller,
        "--method",
        "add",
        "--to",
        server,
        "--tag",
        "evil",
        "--json",
      ]);
      assert.equal(bad.code, 4, bad.stdout + bad.stderr);
      assert.equal(bad.json().code, "E.SIG");
      assert.match(String(bad.json().detail), /^connect phase hub: /);
    } finally {
      await other.close();
    }
  });
});

Deno.test("connect: a cap_token service gets --cap authorized at the chosen hub; an untrusted cap fails phase authorize", async () => {
  const keys = await tempDir();
  try {
    const caller = await newClient(keys.path, "caller");
    const stranger = await newClient(keys.path, "stranger");
    const issuer = String(
      ok(await runCli(["id", "show", "--client", caller, "--json"])).json().id_sign_public,
    );
    await withRealHub({ trustedIssuers: [issuer] }, async (hub, root) => {
      const op = await newClient(root, "operator");
      const server = await newClient(root, "server");
      const h = ["--hub", hub.url];
      const w = [...h, "--client", op, "--to", caller];
      await advertiseRpcService(w, "cap_token");
      const capOf = async (iss: string, out: string) =>
        ok(
          await runCli([
            "cap",
            "issue",
            "--issuer",
            iss,
            "--subject",
            caller,
            "--stream",
            "svc/calc",
            "--ttl",
            "600",
            "--out",
            out,
          ]),
        );
      await capOf(stranger, `${root}/bad.cap`);
      await capOf(caller, `${root}/good.cap`);
      const call = (cap: string) => connectAdd(h, caller, server, "--cap", cap);
      const bad = await call(`${root}/bad.cap`);
      assert.equal(bad.code, 4, bad.stdout);
      assert.equal(bad.json().code, "E.CAP");
      assert.equal(bad.json().phase, "authorize");
      const serving = serveOnce(h, server);
      const good = ok(await call(`${root}/good.cap`)).json();
      ok(await serving);
      assert.equal(good.result, 5);
      const auth = (good.phases as Record<string, unknown>[]).find((p) => p.phase === "authorize")!;
      assert.match(String(auth.auth_ref), /^[0-9a-f]{64}$/);
    });
  } finally {
    await keys.cleanup();
  }
});
