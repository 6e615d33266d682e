/** `veen kube render` (CLI-GOALS-3 §2.2): manifests for a hub as YAML or a JSON array; never contacts a cluster. */
import { EXIT } from "../../core/mod.ts";
import type { Flags } from "../../cmd/mod.ts";
import type { Mode, OpsIo } from "../io.ts";
import { renderObjects } from "../kube_render.ts";
import { renderInput } from "../kube_render_input.ts";
import { toJson, toYaml } from "../manifest.ts";

export async function render(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const inp = await renderInput({
    profile: f.str("profile"),
    clusterContext: f.str("cluster-context"),
    namespace: f.str("namespace"),
    name: f.str("name"),
    image: f.str("image"),
    dataPvc: f.str("data-pvc"),
    replicas: f.int("replicas", { min: 0, max: 1_000_000 }),
    resourcesCpu: f.str("resources-cpu"),
    resourcesMem: f.str("resources-mem"),
    profileId: f.str("profile-id"),
    config: f.str("config"),
    envFile: f.str("env-file"),
    podAnnotations: f.str("pod-annotations"),
    universeId: f.str("universe-id"),
    tenantId: f.str("tenant-id"),
    keysSecret: f.str("keys-secret"),
    logLevel: f.str("log-level"),
    noNamespace: f.bool("no-namespace"),
    storage: f.str("storage"),
    storageClass: f.str("storage-class"),
    selftestSchedule: f.str("selftest-schedule"),
    allowFromLabel: f.list("allow-from-label"),
  });
  const objects = renderObjects(inp);
  io.writeOut(mode.json ? toJson(objects) : toYaml(objects));
  return EXIT.OK;
}
