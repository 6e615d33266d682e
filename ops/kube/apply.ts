/** `veen kube apply` (CLI-GOALS-3 §2.3): applies a manifest file, optionally waits until the hub is ready. */
import { EXIT } from "../../core/mod.ts";
import type { Flags } from "../../cmd/mod.ts";
import { check, type Mode, type OpsIo, readUserFile, result, usage } from "../io.ts";
import { checkDnsLabel, HUB_PORT, serviceDns } from "../kube_names.ts";
import { Kubectl, kubectlError } from "../kubectl.ts";
import { type K8sObject, parseManifests } from "../manifest.ts";
import { nonEmptyLines, readWorkload } from "./cluster.ts";

const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "PersistentVolume",
  "StorageClass",
  "CustomResourceDefinition",
  "PriorityClass",
  "IngressClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
  "Node",
]);

const isHub = (o: K8sObject) => o.metadata?.labels?.app === "veen-hub";
/** Hub and bridge workloads (spec 000 §6: bridges are applied and waited for like hubs). */
const isWorkload = (o: K8sObject) =>
  (o.kind === "Deployment" || o.kind === "StatefulSet") &&
  (isHub(o) || o.metadata?.labels?.app === "veen-bridge");
interface WorkloadState {
  kind: string;
  name: string;
  namespace: string;
  desired_replicas: number;
  ready_replicas: number | null;
}

export async function apply(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const context = f.req("cluster-context");
  const file = f.req("file");
  const wait = f.int("wait-seconds", { min: 0, max: 86_400 });
  const defaultNs = f.str("namespace");
  if (defaultNs !== undefined) checkDnsLabel(defaultNs, "namespace");
  const objects = parseManifests(await readUserFile(file, "--file manifest"), file);
  if (objects.length === 0) throw usage(`${file} holds no Kubernetes objects`);
  const k = new Kubectl(io, context, mode.verbose);

  const nsOf = (o: K8sObject): string | undefined =>
    CLUSTER_SCOPED.has(o.kind) ? undefined : (o.metadata.namespace as string | undefined) ?? defaultNs;
  const created = new Set(
    objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name as string),
  );
  const referenced = [...new Set(objects.map(nsOf).filter((n): n is string => n !== undefined))];
  for (const ns of referenced) {
    if (created.has(ns)) continue;
    const res = await k.run(["get", "namespace", ns, "-o", "name"]);
    if (res.code === 0) continue;
    const e = kubectlError(res, `kubectl get namespace ${ns}`);
    if (e.code === "E.NOT_FOUND") {
      throw check(
        "E.NOT_FOUND",
        `namespace ${ns} does not exist and ${file} has no Namespace object for it (render without --no-namespace, or create it first)`,
      );
    }
    throw e;
  }

  const listDoc = { apiVersion: "v1", kind: "List", items: objects };
  const out = await k.ok(["apply", "-f", "-"], "kubectl apply", {
    stdin: JSON.stringify(listDoc),
    ...(defaultNs === undefined ? {} : { namespace: defaultNs }),
  });
  const applied = nonEmptyLines(out);

  const hubWorkloads = objects.filter(isWorkload);
  const services = objects
    .filter((o) => o.kind === "Service" && isHub(o))
    .map((o) => {
      const port = o.spec?.ports?.[0]?.port;
      return serviceDns(o.metadata.name, nsOf(o) ?? "default", typeof port === "number" ? port : HUB_PORT);
    });
  const namespace = (hubWorkloads[0] && nsOf(hubWorkloads[0])) ?? referenced[0] ?? defaultNs ?? "default";

  const states: WorkloadState[] = hubWorkloads.map((o) => ({
    kind: o.kind,
    name: o.metadata.name,
    namespace: nsOf(o) ?? "default",
    desired_replicas: typeof o.spec?.replicas === "number" ? o.spec.replicas : 1,
    ready_replicas: null,
  }));
  if (wait !== undefined) {
    const deadline = io.now() + wait * 1000;
    for (;;) {
      let allReady = true;
      for (const s of states) {
        const w = await readWorkload(k, s.kind, s.name, s.namespace);
        s.desired_replicas = w.desired;
        s.ready_replicas = w.ready;
        if (!w.current || w.ready < w.desired) allReady = false;
      }
      if (allReady) break;
      if (io.now() >= deadline) {
        const lines = states.map((s) =>
          `${s.kind.toLowerCase()}/${s.name}: ${s.ready_replicas ?? 0}/${s.desired_replicas} ready`
        );
        throw check("E.UNAVAILABLE", `hub not ready after ${wait} s (${lines.join(", ")})`, [...applied]);
      }
      await io.sleep(2000);
    }
  }
  const lines = [...applied, `namespace: ${namespace}`, ...services.map((s) => `service: ${s}`)];
  if (wait !== undefined) {
    for (const s of states) {
      lines.push(`ready: ${s.kind.toLowerCase()}/${s.name} ${s.ready_replicas}/${s.desired_replicas}`);
    }
  }
  result(io, mode, {
    cluster_context: context,
    namespace,
    services,
    applied,
    waited: wait !== undefined,
    workloads: states,
  }, lines);
  return EXIT.OK;
}
