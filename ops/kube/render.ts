/** `veen kube render` (CLI-GOALS-3 §2.2): manifests for a hub as YAML or a JSON array; never contacts a cluster. */
import { EXIT } from "../../core/mod.ts";
import { type Flags, int, list, type Mode, type OpsIo, str } from "../io.ts";
import { renderObjects } from "../kube_render.ts";
import { renderInput } from "../kube_render_input.ts";
import { toJson, toYaml } from "../manifest.ts";

export async function render(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const inp = await renderInput({
    profile: str(f, "profile"),
    clusterContext: str(f, "cluster-context"),
    namespace: str(f, "namespace"),
    name: str(f, "name"),
    image: str(f, "image"),
    dataPvc: str(f, "data-pvc"),
    replicas: int(f, "replicas", 0, 1_000_000),
    resourcesCpu: str(f, "resources-cpu"),
    resourcesMem: str(f, "resources-mem"),
    profileId: str(f, "profile-id"),
    config: str(f, "config"),
    envFile: str(f, "env-file"),
    podAnnotations: str(f, "pod-annotations"),
    universeId: str(f, "universe-id"),
    tenantId: str(f, "tenant-id"),
    keysSecret: str(f, "keys-secret"),
    logLevel: str(f, "log-level"),
    noNamespace: f["no-namespace"] === true,
    storage: str(f, "storage"),
    storageClass: str(f, "storage-class"),
    selftestSchedule: str(f, "selftest-schedule"),
    allowFromLabel: list(f, "allow-from-label"),
  });
  const objects = renderObjects(inp);
  io.writeOut(mode.json ? toJson(objects) : toYaml(objects));
  return EXIT.OK;
}
