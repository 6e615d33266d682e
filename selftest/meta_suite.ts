/**
 * `veen selftest meta` (CLI-GOALS-2 §8.4): label classes (LCLASS0) and the schema registry (META0+) end to end,
 * against a hub the suite starts itself with `admin_keys` set to an admin client it creates. Needs its own hub (the
 * admin key must be the hub's), so with `--hub URL` every step is reported as skipped.
 */
import { check, type Harness, type HubHandle, short, StepSkipped } from "./harness.ts";
import { type Client, keygen, sendArgs } from "./core_steps/context.ts";

const SUITE = "meta";

export const META_GOAL =
  "hub profile claims lclass0/meta0_plus; label-class set/show/list and veen_submit_class_total; schema register, " +
  "a MSG with that schema, schema show/list and non-zero usage; non-admin records refused (CLI-GOALS-2 §8.4)";

const CLASS = "selftest-audit";
const SCHEMA = "test.operation.v1";

interface MetaCtx {
  url: string;
  hub?: HubHandle;
  admin: Client;
  alice: Client;
  bob: Client;
  label?: string;
  schemaId?: string;
}

type MetaStep = { name: string; goal: string; run(c: MetaCtx, ev: string[]): Promise<void> };

const counter = (m: Record<string, unknown>, key: string) =>
  ((m.counters ?? {}) as Record<string, number>)[key] ?? 0;

function steps(h: Harness): MetaStep[] {
  const S = (name: string) => h.stream(name);
  return [
    {
      name: "hub-profile",
      goal: "hub profile: version veen-0.0.1+, lclass0 and meta0_plus claimed",
      async run(c, ev) {
        const p = await h.ok(["hub", "profile", "--hub", c.url]);
        const f = p.features as Record<string, boolean>;
        check(p.version === "veen-0.0.1+", `hub profile: version ${p.version}`);
        check(f.core === true, "hub profile: core is not claimed");
        check(f.lclass0 === true, "hub profile: lclass0 is not claimed");
        check(f.meta0_plus === true, "hub profile: meta0_plus is not claimed");
        ev.push(`hub profile: ${Object.entries(f).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      },
    },
    {
      name: "label-class",
      goal: "label-class set, show and list: the hub applies the class and retention hint",
      async run(c, ev) {
        const stream = S("meta/classified");
        const set = await h.ok([
          "label-class",
          "set",
          "--hub",
          c.url,
          "--stream",
          stream,
          "--class",
          CLASS,
          "--sensitivity",
          "medium",
          "--retention-hint",
          "86400",
          "--signer",
          c.admin.dir,
        ]);
        c.label = String(set.label);
        ev.push(`label-class set --stream ${stream}: record stream_seq ${set.record_stream_seq}`);
        const show = await h.ok(["label-class", "show", "--hub", c.url, "--stream", stream]);
        check(show.class === CLASS, `label-class show: class "${show.class}", expected "${CLASS}"`);
        check(show.retention_hint === 86400, `label-class show: retention_hint ${show.retention_hint}`);
        check(show.sensitivity === "medium", `label-class show: sensitivity ${show.sensitivity}`);
        check(typeof show.pad_block_effective === "number", "label-class show: no pad_block_effective");
        ev.push(
          `label-class show: class ${show.class}, sensitivity ${show.sensitivity}, retention_hint ${show.retention_hint}, ` +
            `pad_block_effective ${show.pad_block_effective}; retention_policy "${show.retention_policy}"`,
        );
        const list = await h.ok(["label-class", "list", "--hub", c.url, "--class", CLASS]);
        const labels = (list.label_classes as Record<string, unknown>[]).map((x) => x.label);
        check(labels.includes(c.label), `label-class list --class ${CLASS} lacks ${short(c.label)}`);
        ev.push(`label-class list --class ${CLASS}: ${labels.length} label(s), ${short(c.label)} among them`);
      },
    },
    {
      name: "class-metrics",
      goal: "a MSG on the classified label is counted in veen_submit_class_total{class}",
      async run(c, ev) {
        const key = `veen_submit_class_total{class="${CLASS}"}`;
        const before = counter(await h.ok(["hub", "metrics", "--hub", c.url]), key);
        await h.ok([...sendArgs(c.url, c.alice.dir, S("meta/classified")), "--body", '{"n":1}']);
        const after = counter(await h.ok(["hub", "metrics", "--hub", c.url]), key);
        check(after === before + 1, `${key} went from ${before} to ${after} after one MSG, expected +1`);
        ev.push(`${key}: ${before} → ${after} after one send`);
      },
    },
    {
      name: "schema-register",
      goal: `schema register ${SCHEMA}: the descriptor under schema-id ${SCHEMA}`,
      async run(c, ev) {
        const id = String((await h.ok(["schema-id", SCHEMA])).schema_id);
        const reg = await h.ok([
          "schema",
          "register",
          "--hub",
          c.url,
          "--name",
          SCHEMA,
          "--version",
          "v1",
          "--admin",
          c.admin.dir,
        ]);
        check(
          reg.schema_id === id,
          `schema register: schema_id ${short(reg.schema_id)}, schema-id says ${short(id)}`,
        );
        c.schemaId = id;
        ev.push(`schema register: ${SCHEMA} ${reg.version} as ${short(id)}, ts ${reg.ts}`);
      },
    },
    {
      name: "schema-usage",
      goal: "a MSG with that schema; schema show and list find it; schema usage counts it",
      async run(c, ev) {
        const id = c.schemaId ?? String((await h.ok(["schema-id", SCHEMA])).schema_id);
        const stream = S("meta/ops");
        await h.ok([...sendArgs(c.url, c.alice.dir, stream), "--schema", SCHEMA, "--body", '{"op":"x"}']);
        const show = await h.ok([
          "schema",
          "show",
          "--hub",
          c.url,
          "--schema-id",
          id,
          "--client",
          c.alice.dir,
          "--stream",
          stream,
        ]);
        check(show.name === SCHEMA, `schema show: name ${show.name}`);
        check((show.used_count as number) > 0, `schema show: used_count ${show.used_count}`);
        const list = await h.ok(["schema", "list", "--hub", c.url, "--name-prefix", "test."]);
        check(
          (list.schemas as Record<string, unknown>[]).some((d) => d.schema_id === id),
          `schema list --name-prefix test. lacks ${short(id)}`,
        );
        const usage = await h.ok([
          "schema",
          "usage",
          "--hub",
          c.url,
          "--client",
          c.alice.dir,
          "--stream",
          stream,
        ]);
        const u = (usage.schemas as Record<string, unknown>[]).find((s) => s.schema_id === id);
        check(
          u !== undefined && (u.count as number) > 0,
          `schema usage --stream ${stream}: no count for ${SCHEMA}`,
        );
        check(u.name === SCHEMA, `schema usage: name ${u.name}`);
        ev.push(
          `schema show: used_count ${show.used_count}; schema list has it; schema usage: ${u.name} ${u.count}`,
        );
      },
    },
    {
      name: "refusals",
      goal: "a non-admin's label class is refused (E.AUTH); an unknown schema id exits 4 (E.PROFILE)",
      async run(c, ev) {
        await h.refused([
          "label-class",
          "set",
          "--hub",
          c.url,
          "--stream",
          S("meta/classified"),
          "--class",
          "hijacked",
          "--signer",
          c.bob.dir,
        ], "E.AUTH");
        const show = await h.ok(["label-class", "show", "--hub", c.url, "--stream", S("meta/classified")]);
        check(show.class === CLASS, `after a refused record the class is "${show.class}"`);
        ev.push(`label-class set by bob: exit 4 E.AUTH; class still ${show.class}`);
        await h.refused(["schema", "show", "--hub", c.url, "--schema-id", "ee".repeat(32)], "E.PROFILE");
        ev.push("schema show of an unregistered id: exit 4 E.PROFILE");
      },
    },
  ];
}

export async function metaSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, META_GOAL);
  let c: MetaCtx | undefined;
  const ok = await h.step(
    SUITE,
    "setup",
    "start a hub whose admin_keys hold a new admin client",
    async (ev) => {
      if (h.deployed) {
        throw new StepSkipped(
          "needs a hub whose admin_keys hold a key this run creates; not run with --hub",
        );
      }
      const admin = await keygen(h, "meta-admin");
      const alice = await keygen(h, "meta-alice");
      const bob = await keygen(h, "meta-bob");
      const hub = await h.startHub(
        "meta",
        { env: { VEEN_ADMIN_KEYS: admin.clientId } },
        "admin_keys: meta-admin",
      );
      c = { url: hub.url, hub, admin, alice, bob };
      ev.push(`veen hub start: ${hub.url} pid ${hub.pid}, admin_keys ${short(admin.clientId)}`);
    },
    { critical: true },
  );
  if (!ok || c === undefined) return;
  for (const s of steps(h)) await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev));
}
