/**
 * `veen selftest discovery` (spec 001 spec-5): advertisements of a hub, the rpc overlay and a service on the
 * disc.* streams, the verified fold and its queries, expiry at RECEIPT hub_ts + ttl_sec, retire and revive, and
 * `veen connect` finding the service, pinning the hub key and calling it over RPC0 (with `veen rpc serve` in the
 * background). Names carry the run id, so it also works against a deployed hub (`--hub URL`).
 */
import { check, type Harness, short } from "./harness.ts";
import { type Client, keygen } from "./core_steps/context.ts";

const SUITE = "discovery";

export const DISCOVERY_GOAL =
  "disc advertise-hub/overlay/service and query; expiry at hub_ts + ttl_sec; retire hides, a later advertise " +
  "revives; connect selects hub (key pinned), overlay and service and calls it over RPC0";

interface DiscCtx {
  url: string;
  hubPk: string;
  op: Client;
  caller: Client;
  server: Client;
  name: string;
  stream: string;
  serviceId?: string;
}

function steps(h: Harness): { name: string; goal: string; run(c: DiscCtx, ev: string[]): Promise<void> }[] {
  const w = (c: DiscCtx) => ["--hub", c.url, "--client", c.op.dir, "--to", c.caller.dir];
  const query = (c: DiscCtx, ...f: string[]) =>
    h.ok(["disc", "query", "--hub", c.url, "--client", c.caller.dir, ...f]);
  const ids = (r: Record<string, unknown>, key: string) =>
    (r.results as Record<string, unknown>[]).map((x) => x[key]);
  const advertiseService = (c: DiscCtx, name: string, ttl: string) =>
    h.ok([
      "disc",
      "advertise-service",
      ...w(c),
      "--name",
      name,
      "--overlay",
      "rpc@v1",
      "--method",
      "add",
      "--service-stream",
      c.stream,
      "--ttl-sec",
      ttl,
    ]);
  return [
    {
      name: "advertise",
      goal: "advertise this hub, the rpc@v1 overlay (schema rpc.v1) and a service offering add",
      async run(c, ev) {
        const hub = await h.ok(["disc", "advertise-hub", ...w(c), "--region", `selftest-${h.runId}`]);
        const ov = await h.ok([
          "disc",
          "advertise-overlay",
          ...w(c),
          "--name",
          "rpc",
          "--version",
          "v1",
          "--schema",
          "rpc.v1",
        ]);
        const sv = await advertiseService(c, c.name, "600");
        c.serviceId = String(sv.service_id);
        ev.push(
          `hub ${short(hub.hub_id)}, overlay ${short(ov.overlay_id)}, service ${c.name} ${
            short(c.serviceId)
          }`,
        );
      },
    },
    {
      name: "query",
      goal: "disc query finds the hub by region and the service by method and name prefix",
      async run(c, ev) {
        const hubs = await query(c, "--kind", "hub", "--region", `selftest-${h.runId}`);
        check(ids(hubs, "hub_pk").includes(c.hubPk), "disc query --kind hub: this hub is not listed");
        const sv = await query(c, "--kind", "service", "--method", "add", "--name-prefix", c.name);
        check(
          ids(sv, "service_id").includes(c.serviceId),
          `disc query --kind service: ${c.name} is not listed`,
        );
        ev.push(
          `hub found by region; service found by method add (fold upto_seq ${
            (sv.fold as Record<string, unknown>).upto_seq
          })`,
        );
      },
    },
    {
      name: "expiry",
      goal: "an advertisement with ttl_sec 5 is live at hub_ts + 4 and gone at hub_ts + 5",
      async run(c, ev) {
        const name = `${c.name}-short`;
        const a = await advertiseService(c, name, "5");
        const ts = a.hub_ts as number;
        const at = (t: number) => query(c, "--kind", "service", "--name-prefix", name, "--at", String(t));
        check(ids(await at(ts + 4), "service_id").includes(a.service_id), "not live at hub_ts + 4");
        check(
          !ids(await at(ts + 5), "service_id").includes(a.service_id),
          "still returned at hub_ts + ttl_sec",
        );
        ev.push(`${name}: hub_ts ${ts}, live at +4, expired at +5`);
      },
    },
    {
      name: "retire-revive",
      goal: "retire hides the service; advertising it again revives it",
      async run(c, ev) {
        await h.ok(["disc", "retire", ...w(c), "--kind", "service", "--id", c.serviceId!]);
        const gone = await query(c, "--kind", "service", "--name-prefix", c.name);
        check(!ids(gone, "service_id").includes(c.serviceId), "a retired service is still returned");
        await advertiseService(c, c.name, "600");
        const back = await query(c, "--kind", "service", "--name-prefix", c.name);
        check(ids(back, "service_id").includes(c.serviceId), "the re-advertised service is not returned");
        ev.push(`retired ${short(c.serviceId)}, then revived by a later advertise`);
      },
    },
    {
      name: "connect",
      goal: "veen connect: hub selected and its key pinned, service found, add(2,3) answered 5 over RPC0",
      async run(c, ev) {
        const serve = h.spawnBackground([
          "rpc",
          "serve",
          "--hub",
          c.url,
          "--client",
          c.server.dir,
          "--stream",
          c.stream,
          "--max-requests",
          "1",
          "--poll-ms",
          "50",
          "--for-ms",
          "60000",
        ]);
        try {
          const r = await h.ok([
            "connect",
            "--hub",
            c.url,
            "--client",
            c.caller.dir,
            "--method",
            "add",
            "--args",
            "[2,3]",
            "--to",
            c.server.dir,
            "--service",
            c.name,
            "--region",
            `selftest-${h.runId}`,
            "--timeout-ms",
            "30000",
          ]);
          check(r.result === 5, `connect: result ${JSON.stringify(r.result)}, expected 5`);
          const phases = r.phases as Record<string, unknown>[];
          check(phases[0]?.hub_pk === c.hubPk, "connect did not select and pin this hub's key");
          ev.push(`connect phases ${phases.map((p) => p.phase).join(" → ")}: result 5`);
        } finally {
          await h.endBackground(serve, false);
        }
      },
    },
  ];
}

export async function discoverySuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, DISCOVERY_GOAL);
  let c: DiscCtx | undefined;
  const ok = await h.step(SUITE, "setup", "a hub and operator, caller and server clients", async (ev) => {
    const { url, info } = await h.suiteHub(ev, "discovery", {}, "discovery");
    c = {
      url,
      hubPk: String(info.hub_pk),
      op: await keygen(h, "disc-operator"),
      caller: await keygen(h, "disc-caller"),
      server: await keygen(h, "disc-server"),
      name: `calc-${h.runId}`,
      stream: h.stream(`svc/calc-${h.runId}`),
    };
  }, { critical: true });
  if (!ok || c === undefined) return;
  for (const s of steps(h)) await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev));
}
