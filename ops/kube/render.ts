/**
 * `veen kube render` (CLI-GOALS-3 §2.2): manifests for a hub (with `--profile tenant --admin-bridge` also its admin
 * bridge), or with `--bridge NAME` for a bridge (spec 000 §6), as YAML or a JSON array; never contacts a cluster.
 */
import { EXIT } from "../../core/mod.ts";
import type { Flags } from "../../cmd/mod.ts";
import { type Mode, type OpsIo, usage } from "../io.ts";
import { bridgeInput, bridgeObjects, renderAll } from "../kube_bridge.ts";
import { renderInput } from "../kube_render_input.ts";
import { toJson, toYaml } from "../manifest.ts";

export async function render(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const bridge = f.str("bridge");
  if (bridge !== undefined) {
    for (const flag of ["name", "profile", "data-pvc", "config", "storage", "admin-bridge"]) {
      if (f.str(flag) !== undefined || (flag === "admin-bridge" && f.bool(flag))) {
        throw usage(`--${flag} does not apply to --bridge`);
      }
    }
    const objects = bridgeObjects(bridgeInput({
      bridge,
      namespace: f.str("namespace"),
      tenantId: f.str("tenant-id"),
      image: f.str("image"),
      from: f.str("from"),
      to: f.str("to"),
      streams: f.list("stream"),
      replicate: f.bool("replicate"),
      universeId: f.str("universe-id"),
    }));
    io.writeOut(mode.json ? toJson(objects) : toYaml(objects));
    return EXIT.OK;
  }
  for (const flag of ["from", "to", "stream"]) {
    if (f.str(flag) !== undefined || f.list(flag).length > 0) {
      throw usage(`--${flag} applies to --bridge only`);
    }
  }
  if (f.bool("replicate")) throw usage("--replicate applies to --bridge only");
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
    adminBridge: f.bool("admin-bridge"),
  });
  const objects = renderAll(inp);
  io.writeOut(mode.json ? toJson(objects) : toYaml(objects));
  return EXIT.OK;
}
