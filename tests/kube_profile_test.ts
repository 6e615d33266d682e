/**
 * The Kubernetes profile's manifests drive real hubs: the authority's and a tenant's rendered container arguments,
 * environment and ConfigMap `hub.yaml` are given to `veen hub start`'s config builder as the pod would (only the
 * listen address, the data dir and the authority's in-cluster URL are replaced by loopback ones), and the hubs that
 * start are an authority and its tenant: an authority record published once on the authority reaches the tenant.
 */
import assert from "node:assert/strict";
import { hubIdFor, streamIdFor, toHex } from "../core/mod.ts";
import { buildConfig } from "../hub/main.ts";
import { Logger, type RunningHub, startHub } from "../hub/mod.ts";
import { captureIo } from "../ops/io.ts";
import { runKube } from "../ops/kube.ts";
import type { K8sObject } from "../ops/manifest.ts";
import { FED_ADMIN, publishAuthority } from "./federation.ts";
import { http, quietLogger } from "./fixture.ts";
import { within } from "./util.ts";

async function rendered(args: string[]) {
  const io = captureIo();
  assert.equal(await runKube(["render", "--image", "veen:1", "--json", ...args], io), 0, io.stderr());
  const objs = JSON.parse(io.stdout()) as K8sObject[];
  const hub = objs.find((o) => o.metadata?.labels?.app === "veen-hub" && o.spec?.template)!;
  const c = hub.spec.template.spec.containers[0];
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-config"))!;
  return { args: c.args as string[], env: c.env as { name: string; value: string }[], data: cm.data };
}

/** The hub's config as the pod builds it, with loopback replacements. */
async function podConfig(
  dir: string,
  args: string[],
  env: { name: string; value: string }[],
  data: Record<string, string>,
  over: Record<string, string>,
) {
  const cfgName = args[args.indexOf("--config") + 1]!.split("/").pop()!;
  await Deno.writeTextFile(`${dir}/${cfgName}`, data[cfgName]!);
  const flags: Record<string, unknown> = {};
  for (const f of ["--listen", "--data-dir", "--profile", "--profile-id"]) {
    if (args.includes(f)) flags[f.slice(2)] = args[args.indexOf(f) + 1];
  }
  flags.config = `${dir}/${cfgName}`;
  flags.listen = "127.0.0.1:0";
  flags["data-dir"] = `${dir}/data`;
  const e = Object.fromEntries(env.filter((x) => x.name.startsWith("VEEN_")).map((x) => [x.name, x.value]));
  return await buildConfig(flags, { ...e, ...over });
}

Deno.test("rendered authority and tenant manifests start an authority and its tenant, which gets its records", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-kube-hubs-" });
  const hubs: RunningHub[] = [];
  try {
    await Deno.mkdir(`${root}/a`);
    await Deno.mkdir(`${root}/t`);
    const admin = { VEEN_ADMIN_KEYS: toHex(FED_ADMIN.public) };
    const a = await rendered(["--profile", "authority"]);
    assert.equal(a.args[a.args.indexOf("--profile") + 1], "authority");
    const acfg = await podConfig(`${root}/a`, a.args, a.env, a.data, admin);
    assert.equal(acfg.role, "authority");
    const auth = await startHub(acfg, { logger: quietLogger() });
    hubs.push(auth);

    const t = await rendered(["--profile", "tenant", "--tenant-id", "t1"]);
    const tcfg = await podConfig(`${root}/t`, t.args, t.env, t.data, {
      ...admin,
      VEEN_AUTHORITY_URL: auth.url,
      VEEN_REALM_ADMIN_KEY: `${root}/a/data/realm_admin_key`,
    });
    assert.deepEqual([tcfg.role, tcfg.profile, tcfg.adminSource, tcfg.adminSourcePollMs], [
      "tenant",
      "tenant",
      auth.url,
      2000,
    ]);
    let replicated!: () => void;
    const pulled = new Promise<void>((r) => replicated = r);
    const tenant = await startHub({ ...tcfg, adminSourcePollMs: 5 }, {
      logger: new Logger("info", "hub", "tenant", (l) => {
        if (JSON.parse(l).msg === "admin source entries replicated") replicated();
      }),
    });
    hubs.push(tenant);
    assert.equal((await http(tenant.url + "/readyz")).status, 200);
    await publishAuthority(auth, 1, { stream: "kube/orders", primary: auth, replicas: [tenant] });
    await within(pulled, 30_000, "the tenant pulling the authority's admin records");
    const q = `/authority?stream_id=${toHex(streamIdFor("kube/orders"))}`;
    const shown = JSON.parse(new TextDecoder().decode((await http(tenant.url + q)).body));
    assert.equal(shown.primary_hub, toHex(hubIdFor(auth.hubKey.public)));
  } finally {
    for (const h of hubs.reverse()) await h.close();
    await Deno.remove(root, { recursive: true });
  }
});
