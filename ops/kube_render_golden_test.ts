/**
 * Golden manifests: `veen kube render` (hub layout with every input file, authority and tenant profiles) and the
 * `kube job send|stream` Jobs give exactly the bytes in ops/testdata/*.golden (a suffix `deno fmt` leaves alone),
 * with the VEEN version written as `<VERSION>`. A change to these bytes is a change to what users apply to their
 * clusters; refresh the files with `VEEN_UPDATE_GOLDEN=1 deno test -A ops/kube_render_golden_test.ts` only when
 * that is intended.
 */
import assert from "node:assert/strict";
import { VERSION } from "../version.ts";
import { jobObject } from "./kube_job.ts";
import { renderObjects } from "./kube_render.ts";
import { type RenderFlags, renderInput } from "./kube_render_input.ts";
import { toJson, toYaml } from "./manifest.ts";

const P1 = "1db91032b4bf4cd8b9f56a782b299458e6f782d3a1276f04c50c7b02651038ca";
const testdata = new URL("./testdata/", import.meta.url);

async function golden(name: string, text: string): Promise<void> {
  const got = text.replaceAll(VERSION, "<VERSION>");
  const path = new URL(`${name}.golden`, testdata);
  if (Deno.env.get("VEEN_UPDATE_GOLDEN") === "1") await Deno.writeTextFile(path, got);
  assert.equal(got, await Deno.readTextFile(path), `ops/testdata/${name}.golden differs`);
}

async function render(f: RenderFlags): Promise<ReturnType<typeof renderObjects>> {
  return renderObjects(await renderInput(f));
}

Deno.test("kube render gives the golden bytes for the hub layout and both profiles, YAML and JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-kube-golden-" });
  try {
    await Deno.writeTextFile(`${dir}/hub-config.toml`, `[hub]\nprofile_id = "${P1}"\nlog_level = "warn"\n`);
    await Deno.writeTextFile(
      `${dir}/hub.env`,
      `# comment\nexport VEEN_QUEUE_MAX=1024\nB_VAR="two words"\nA_VAR='x=y'\n`,
    );
    await Deno.writeTextFile(`${dir}/ann.json`, `{"prometheus.io/scrape":"true","example.com/team":"ops"}`);
    const hub = await render({
      namespace: "veen-tenants",
      name: "alpha",
      image: "veen-hub:1.2.3",
      dataPvc: "veen-alpha-data",
      config: `${dir}/hub-config.toml`,
      envFile: `${dir}/hub.env`,
      podAnnotations: `${dir}/ann.json`,
      resourcesCpu: "500m,1",
      resourcesMem: "512Mi",
      keysSecret: "alpha-keys",
      tenantId: "alpha",
    });
    await golden("render_hub.yaml", toYaml(hub));
    await golden("render_hub.json", toJson(hub));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const authority = await render({
    profile: "authority",
    image: "veen:1",
    storage: "5Gi",
    storageClass: "fast",
    selftestSchedule: "*/5 * * * *",
    allowFromLabel: ["team=ops,tier=edge"],
    universeId: "u1",
  });
  await golden("render_authority.yaml", toYaml(authority));
  await golden(
    "render_tenant.yaml",
    toYaml(await render({ profile: "tenant", tenantId: "t1", image: "veen:1" })),
  );
});

Deno.test("kube job send and stream give the golden Job bytes", async () => {
  const base = {
    name: "veen-job-send-0123456789",
    namespace: "veen-tenants",
    image: "veen:1",
    hubUrl: "http://veen-hub-alpha.veen-tenants.svc.cluster.local:8080",
    clientSecret: "alice",
    stream: "core/main",
    env: [["A", "1"]] as [string, string][],
    universeId: "default",
    deadlineSeconds: 300,
  };
  const send = jobObject({
    ...base,
    action: "send",
    body: '{"x":1}',
    capSecret: "alice-cap",
    timeoutMs: 5000,
  });
  const stream = jobObject({ ...base, action: "stream", from: 3, withProof: true, statePvc: "state" });
  await golden("jobs.yaml", toYaml([send, stream]));
});
