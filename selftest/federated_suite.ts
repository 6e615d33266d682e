/**
 * `veen selftest federated` (CLI-GOALS-2 §8.1; also `selftest overlays --subset fed-auth`, CORE-GOALS 2.1): two
 * hubs it starts (huba, hubb) in one realm, with one realm admin key (hubb's `realm_admin_key` names huba's file)
 * and one admin key, and distinct hub_ids. An authority record naming huba primary for stream S is published to
 * both hubs (each folds its own admin streams; replication is not built), confirmed with `fed authority show` and
 * `hub role --stream S`; a send to huba passes and one to hubb is E.AUTH `not primary for label`. A newer record
 * (higher ts) names hubb; the view flips on both and the sends reverse. A failing step exits 5 naming it.
 */
import { decodeRealmDescriptor, fromHex, toHex } from "../core/mod.ts";
import { fail, type Harness, type HubHandle, short } from "./harness.ts";
import { type Client, keygen, needOwnHub, sendArgs, str, untilSecond } from "./core_steps/context.ts";

const SUITE = "federated";
export const FEDERATED_GOAL =
  "authority records decide which hub orders a stream: the primary accepts, the other hub refuses with E.AUTH " +
  "(not primary for label), and a newer record flips it (FED1/AUTH1, CLI-GOALS-2 §8.1)";

const STREAM = "selftest/fed";
const TTL = 3600;

interface FedCtx {
  h: Harness;
  hubs: { a: HubHandle; b: HubHandle };
  ids: { a: string; b: string };
  admin: Client;
  alice: Client;
  /** ts of the first record; the flip is ts + 1. */
  ts: number;
}

type Side = "a" | "b";
const other = (s: Side): Side => s === "a" ? "b" : "a";

/** Publishes a record naming `primary` (ts `ts`) on both hubs; checks that each then reports it deciding. */
async function publishOnBoth(c: FedCtx, primary: Side, ts: number, ev: string[]): Promise<void> {
  for (const side of ["a", "b"] as const) {
    const r = await c.h.ok([
      "fed",
      "authority",
      "publish",
      "--hub",
      c.hubs[side].url,
      "--realm",
      "default",
      "--stream",
      STREAM,
      "--primary-hub",
      c.ids[primary],
      "--replica-hub",
      c.ids[other(primary)],
      "--policy",
      "single-primary",
      "--ttl",
      String(TTL),
      "--ts",
      String(ts),
      "--admin",
      c.admin.dir,
    ]);
    ev.push(
      `veen fed authority publish --hub hub${side} (primary hub${primary}, ts ${ts}): chosen primary ${
        short(r.primary_hub)
      }, ts ${r.ts}`,
    );
    if (r.primary_hub !== c.ids[primary] || r.ts !== ts) {
      fail(`hub${side} chose primary ${r.primary_hub} ts ${r.ts}, not hub${primary} ts ${ts}`);
    }
  }
}

/** `fed authority show` and `hub role --stream` on both hubs agree that `primary` is primary. */
async function confirm(c: FedCtx, primary: Side, ev: string[]): Promise<void> {
  for (const side of ["a", "b"] as const) {
    const url = c.hubs[side].url;
    const s = await c.h.ok([
      "fed",
      "authority",
      "show",
      "--hub",
      url,
      "--realm",
      "default",
      "--stream",
      STREAM,
    ]);
    ev.push(`veen fed authority show --hub hub${side}: policy ${s.policy}, primary ${short(s.primary_hub)}`);
    if (s.policy !== "single-primary" || s.primary_hub !== c.ids[primary] || s.active_now !== true) {
      fail(`hub${side} shows ${JSON.stringify(s)}, not hub${primary} single-primary active`);
    }
    const r = await c.h.ok(["hub", "role", "--hub", url, "--stream", STREAM]);
    const stream = (r.stream ?? {}) as Record<string, unknown>;
    ev.push(`veen hub role --hub hub${side} --stream: local_is_primary ${stream.local_is_primary}`);
    if (stream.primary_hub !== c.ids[primary] || stream.local_is_primary !== (side === primary)) {
      fail(`hub role on hub${side} says ${JSON.stringify(stream)}`);
    }
  }
}

/** A send to `primary` passes; one to the other hub is E.AUTH `not primary for label`. */
async function sends(c: FedCtx, primary: Side, ev: string[]): Promise<void> {
  const r = await c.h.ok([...sendArgs(c.hubs[primary].url, c.alice.dir, STREAM), "--body", "{}"]);
  ev.push(`send to hub${primary}: stream_seq ${r.stream_seq}`);
  const o = other(primary);
  const e = await c.h.refused([...sendArgs(c.hubs[o].url, c.alice.dir, STREAM), "--body", "{}"], "E.AUTH");
  ev.push(`send to hub${o}: ${e.code} (${e.detail})`);
  if (!String(e.detail).startsWith("not primary for label")) {
    fail(`detail does not say "not primary for label": ${e.detail}`);
  }
}

const STEPS: readonly { name: string; goal: string; run(c: FedCtx, ev: string[]): Promise<void> }[] = [
  {
    name: "publish-a",
    goal: "an authority record naming huba primary, published to both hubs, is the one each chooses",
    run: (c, ev) => publishOnBoth(c, "a", c.ts, ev),
  },
  {
    name: "confirm-a",
    goal: "fed authority show and hub role --stream on both hubs name huba primary",
    run: (c, ev) => confirm(c, "a", ev),
  },
  {
    name: "send-a",
    goal: "a send to huba passes; one to hubb is E.AUTH (not primary for label)",
    run: (c, ev) => sends(c, "a", ev),
  },
  {
    name: "flip",
    goal: "a newer record (higher ts) naming hubb flips the authority view on both hubs",
    async run(c, ev) {
      // The flip takes effect after huba's last entry (its RECEIPT's hub_ts), so that entry stays huba's to
      // replicate: the record deciding at a RECEIPT's hub_ts must name its signer (docs/replication.md).
      const head = await c.h.json(`${c.hubs.a.url}/healthz`);
      const flipTs = Math.floor(Date.now() / 1000) + 1;
      ev.push(`huba head ${head.last_stream_seq}; flip at ts ${flipTs}`);
      await untilSecond(flipTs);
      await publishOnBoth(c, "b", flipTs, ev);
      await confirm(c, "b", ev);
    },
  },
  {
    name: "cutover",
    goal:
      "hubb takes over: veen bridge --replicate copies huba's entries with their RECEIPTs, hub promote confirms " +
      "nothing is lost",
    async run(c, ev) {
      const b = await c.h.ok([
        "bridge",
        "--from",
        c.hubs.a.url,
        "--to",
        c.hubs.b.url,
        "--replicate",
        "--stream",
        STREAM,
      ]);
      ev.push(`veen bridge --replicate: ${JSON.stringify(b).slice(0, 200)}`);
      const p = await c.h.ok([
        "hub",
        "promote",
        "--stream",
        STREAM,
        "--hub",
        c.hubs.b.dir,
        "--old-primary",
        c.hubs.a.url,
      ]);
      ev.push(
        `veen hub promote: local_seq ${p.local_seq}, old primary's ${p.old_primary_seq}, may_lose ${p.may_lose}`,
      );
      if (p.may_lose !== 0) fail(`promote says ${p.may_lose} entries may be lost`);
      // Clients keep sequencing state per (hub, label): alice resyncs against the new primary (RESYNC0).
      const r = await c.h.ok(["resync", "--hub", c.hubs.b.url, "--client", c.alice.dir, "--stream", STREAM]);
      ev.push(`veen resync --hub hubb: ${JSON.stringify(r).slice(0, 160)}`);
    },
  },
  {
    name: "send-b",
    goal: "after the flip a send to hubb passes; one to huba is E.AUTH (not primary for label)",
    run: (c, ev) => sends(c, "b", ev),
  },
];

export async function federatedSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, FEDERATED_GOAL);
  let c: FedCtx | undefined;
  await h.step(
    SUITE,
    "setup",
    "start huba and hubb in one realm (shared realm admin key, one admin key) with distinct hub_ids",
    async (ev) => {
      needOwnHub(h, "starts two hubs sharing a realm admin key");
      const admin = await keygen(h, "fed-admin");
      const env = { VEEN_ADMIN_KEYS: admin.clientId, VEEN_ROLE: "primary" };
      const a = await h.startHub("huba", { env }, "role primary, admin key");
      const b = await h.startHub(
        "hubb",
        { env: { ...env, VEEN_REALM_ADMIN_KEY: `${a.dir}/realm_admin_key` } },
        "role primary, admin key, huba's realm admin key",
      );
      const ids = {
        a: str((await h.ok(["hub", "role", "--hub", a.url])).hub_id, "hub_id"),
        b: str((await h.ok(["hub", "role", "--hub", b.url])).hub_id, "hub_id"),
      };
      ev.push(`huba ${a.url} hub_id ${short(ids.a)}; hubb ${b.url} hub_id ${short(ids.b)}`);
      if (ids.a === ids.b) fail("the two hubs have the same hub_id");
      const [da, db] = await Promise.all([a, b].map(async (x) => {
        const r = await h.http(`${x.url}/realm`);
        if (r.status !== 200) fail(`GET ${x.url}/realm answered ${r.status}`);
        return decodeRealmDescriptor(r.body, fromHex(x.hubPk, 32));
      }));
      if (toHex(da!.realmId) !== toHex(db!.realmId) || toHex(da!.adminPk) !== toHex(db!.adminPk)) {
        fail("the two hubs' signed realm descriptors differ in realm_id or realm admin key");
      }
      ev.push(`shared realm ${short(toHex(da!.realmId))}, realm admin key ${short(toHex(da!.adminPk))}`);
      c = {
        h,
        hubs: { a, b },
        ids,
        admin,
        alice: await keygen(h, "fed-alice"),
        ts: Math.floor(Date.now() / 1000) - 60,
      };
    },
    { critical: true },
  );
  for (const s of STEPS) await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev));
}
