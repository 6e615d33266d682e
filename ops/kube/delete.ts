/** `veen kube delete` (CLI-GOALS-3 §2.5): the hub's objects, idempotently; `--purge-pvcs` for its data. */
import { EXIT } from "../../core/mod.ts";
import type { Flags } from "../../cmd/mod.ts";
import { malformed, type Mode, type OpsIo, result, usage } from "../io.ts";
import { bridgeNames, type HubNames, tenantNamespace } from "../kube_names.ts";
import { checkSubdomain } from "../kube_render_input.ts";
import { Kubectl, kubectlError } from "../kubectl.ts";
import type { K8sObject } from "../manifest.ts";
import { addressNames, nonEmptyLines } from "./cluster.ts";

async function claimNames(k: Kubectl, n: HubNames): Promise<string[]> {
  const res = await k.run(["get", `${n.workloadKind.toLowerCase()}/${n.workload}`, "-o", "json"], {
    namespace: n.namespace,
  });
  if (res.code !== 0) {
    const e = kubectlError(res, `kubectl get ${n.workloadKind.toLowerCase()}/${n.workload}`);
    if (e.code === "E.NOT_FOUND") return [];
    throw e;
  }
  let o: K8sObject;
  try {
    o = JSON.parse(res.stdout);
  } catch {
    throw malformed(`kubectl get ${n.workloadKind.toLowerCase()}/${n.workload}: not JSON`);
  }
  const names = new Set<string>();
  const ann = o?.metadata?.annotations?.["veen.io/data-pvc"];
  if (typeof ann === "string" && ann !== "") names.add(ann);
  for (const v of o?.spec?.template?.spec?.volumes ?? []) {
    const c = v?.persistentVolumeClaim?.claimName;
    if (typeof c === "string") names.add(c);
  }
  return [...names].sort();
}

/** `kube delete --bridge NAME`: the bridge's Deployment and ConfigMap in its namespace, idempotently. */
async function delBridge(io: OpsIo, f: Flags, mode: Mode, context: string, bridge: string): Promise<number> {
  for (const flag of ["name", "profile", "data-pvc"]) {
    if (f.str(flag) !== undefined) throw usage(`--${flag} does not apply to --bridge`);
  }
  if (f.bool("purge-pvcs")) throw usage("--purge-pvcs does not apply to --bridge");
  const tenant = f.str("tenant-id");
  const namespace = tenant !== undefined ? tenantNamespace(tenant) : f.str("namespace");
  if (namespace === undefined) throw usage("--bridge needs --namespace or --tenant-id");
  const b = bridgeNames(namespace, bridge);
  const k = new Kubectl(io, context, mode.verbose);
  const out = await k.ok(
    ["delete", `deployment/${b.workload}`, `configmap/${b.configMap}`, "--ignore-not-found"],
    "kubectl delete",
    { namespace },
  );
  const deleted = nonEmptyLines(out);
  const lines = deleted.length === 0
    ? [`already deleted: ${b.workload} in ${namespace}`]
    : [...deleted, `deleted ${b.workload} in ${namespace}`];
  result(io, mode, { namespace, name: b.workload, already_deleted: deleted.length === 0, deleted }, lines);
  return EXIT.OK;
}

export async function del(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const context = f.req("cluster-context");
  const bridge = f.str("bridge");
  if (bridge !== undefined) return await delBridge(io, f, mode, context, bridge);
  const n = addressNames(f);
  const purge = f.bool("purge-pvcs");
  const explicitPvc = f.str("data-pvc");
  if (explicitPvc !== undefined && !purge) throw usage("--data-pvc only says which PVC --purge-pvcs deletes");
  const k = new Kubectl(io, context, mode.verbose);

  let pvcs: string[] = [];
  if (purge) {
    const found = new Set(await claimNames(k, n));
    if (explicitPvc !== undefined) found.add(checkSubdomain(explicitPvc, "data-pvc"));
    if (n.layout !== "hub") found.add(n.pvc);
    pvcs = [...found].sort();
  }
  const targets = [
    `${n.workloadKind.toLowerCase()}/${n.workload}`,
    `service/${n.service}`,
    `rolebinding/${n.role}`,
    `role/${n.role}`,
    `serviceaccount/${n.serviceAccount}`,
    `configmap/${n.configMap}`,
    `configmap/${n.envConfigMap}`,
  ];
  if (n.layout !== "hub") {
    targets.push(`networkpolicy/${n.networkPolicy}`, `cronjob/${n.selftestCronJob}`, `job/${n.selftestJob}`);
  }
  if (n.layout === "tenant") {
    const admin = bridgeNames(n.namespace, "admin");
    targets.push(`deployment/${admin.workload}`, `configmap/${admin.configMap}`);
  }
  const out = await k.ok(["delete", ...targets, "--ignore-not-found"], "kubectl delete", {
    namespace: n.namespace,
  });
  const deleted = nonEmptyLines(out);
  const purged: string[] = [];
  if (pvcs.length > 0) {
    const pout = await k.ok(
      [
        "delete",
        ...pvcs.map((p) => `persistentvolumeclaim/${p}`),
        "--ignore-not-found",
      ],
      "kubectl delete pvc",
      {
        namespace: n.namespace,
      },
    );
    for (const l of nonEmptyLines(pout)) {
      deleted.push(l);
      const m = /"([^"]+)" deleted/.exec(l);
      if (m) purged.push(m[1]!);
    }
  }
  const already = deleted.length === 0;
  const lines = already
    ? [`already deleted: ${n.workload} in ${n.namespace}`]
    : [...deleted, `deleted ${n.workload} in ${n.namespace}`];
  result(
    io,
    mode,
    {
      namespace: n.namespace,
      name: n.workload,
      already_deleted: already,
      deleted,
      purged_pvcs: purged.sort(),
    },
    lines,
  );
  return EXIT.OK;
}
