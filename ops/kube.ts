/**
 * `veen kube render|apply|status|delete|logs|job send|job stream` (CLI-GOALS-3 §2-3). `render` never contacts a
 * cluster; the others drive `kubectl --context CONTEXT` (ops/kubectl.ts).
 */
import { EXIT } from "../core/mod.ts";
import {
  check,
  dispatch,
  type Flags,
  type FlagSpec,
  int,
  list,
  malformed,
  type Mode,
  type OpsIo,
  readUserFile,
  req,
  result,
  str,
  type Subcommand,
  type Tool,
  usage,
} from "./io.ts";
import {
  DEFAULT_JOB_IMAGE,
  hubUrlOf,
  type JobInput,
  jobName,
  jobObject,
  receiptSummary,
} from "./kube_job.ts";
import {
  checkDnsLabel,
  HUB_PORT,
  type HubNames,
  hubSelector,
  namesFromFlags,
  selectorString,
  serviceDns,
} from "./kube_names.ts";
import {
  checkImage,
  checkLabelValue,
  checkProfileId,
  checkSubdomain,
  type K8sObject,
  parseEnvFile,
  renderInput,
  renderObjects,
} from "./kube_render.ts";
import { Kubectl, kubectlError } from "./kubectl.ts";
import { parseManifests, toJson, toYaml } from "./manifest.ts";

const KUBE_HELP = `Usage: veen kube <command> [flags]      (veen kube <command> --help for details)
  render      manifests for a hub (no cluster access): YAML, or a JSON array with --json
  apply       apply a manifest file with kubectl, optionally wait until the hub is ready
  status      workload replicas, pods and per-pod /healthz
  delete      delete a hub's workload, Service, RBAC and ConfigMaps (idempotent; --purge-pvcs for data)
  logs        pass hub pod logs through unchanged
  job send    run "veen send" once in a Kubernetes Job and print the receipt
  job stream  run "veen stream" once in a Kubernetes Job and print its output
Hubs are named by --namespace NS --name NAME (veen-hub-NAME), or by --profile authority (veen-system) or
--profile tenant --tenant-id ID (veen-tenant-ID) for the spec 000 layout. Exit codes: 0 ok, 1 usage,
2 kubectl missing or cluster unreachable, 3 malformed kubectl answer, 4 E.* error or failed check.`;

const ADDRESS_FLAGS: FlagSpec = {
  "cluster-context": { type: "string" },
  namespace: { type: "string" },
  name: { type: "string" },
  profile: { type: "string" },
  "tenant-id": { type: "string" },
};

const RENDER_FLAGS: FlagSpec = {
  "cluster-context": { type: "string" },
  namespace: { type: "string" },
  name: { type: "string" },
  image: { type: "string" },
  "data-pvc": { type: "string" },
  replicas: { type: "string" },
  "resources-cpu": { type: "string" },
  "resources-mem": { type: "string" },
  "profile-id": { type: "string" },
  config: { type: "string" },
  "env-file": { type: "string" },
  "pod-annotations": { type: "string" },
  profile: { type: "string" },
  "tenant-id": { type: "string" },
  "universe-id": { type: "string" },
  "keys-secret": { type: "string" },
  "log-level": { type: "string" },
  "no-namespace": { type: "boolean" },
  storage: { type: "string" },
  "storage-class": { type: "string" },
  "selftest-schedule": { type: "string" },
  "allow-from-label": { type: "string", multiple: true },
};

const HELP: Record<string, string> = {
  render:
    `Usage: veen kube render --namespace NS --name NAME --image IMAGE --data-pvc PVC [--cluster-context CTX]
         [--replicas 0|1] [--resources-cpu REQ[,LIM]] [--resources-mem REQ[,LIM]] [--profile-id HEX32]
         [--config hub-config.toml] [--env-file FILE] [--pod-annotations FILE.json] [--keys-secret NAME]
         [--universe-id ID] [--tenant-id ID] [--log-level L] [--no-namespace] [--json]
       veen kube render --profile authority|tenant [--tenant-id ID] --image IMAGE [--storage SIZE]
         [--storage-class NAME] [--selftest-schedule CRON] [--allow-from-label k=v[,k=v]]... (and the flags above)
Prints Namespace, ServiceAccount, Role, RoleBinding, ConfigMap(s), Secret template (no key material), Deployment
or StatefulSet and Service (profiles add ClusterRole veen-operator, PVC, NetworkPolicy, selftest Job and CronJob)
as YAML documents, or a JSON array with --json. Identical inputs give identical bytes; nothing contacts a cluster.
Defaults: --resources-cpu ${"250m,1"}, --resources-mem 256Mi,512Mi, --replicas 1, profile_id from --config or the
default profile, --universe-id default.`,
  apply:
    `Usage: veen kube apply --cluster-context CTX --file MANIFESTS.(yaml|json) [--namespace NS] [--wait-seconds T] [--json]
Applies the manifests (kubectl apply). A namespace the objects use must exist or be created by a Namespace object
in the file. With --wait-seconds, waits until every hub workload has its desired ready replicas (exit 4 on
timeout). Prints the namespace and the hub Service DNS names (NAME.NS.svc.cluster.local:8080).`,
  status:
    `Usage: veen kube status --cluster-context CTX (--namespace NS --name NAME | --profile authority|tenant
         [--tenant-id ID]) [--json]
Prints the hub workload's desired and ready replicas, its pods (phase, restarts) and each running pod's /healthz
(queried through the API server proxy): "ok" or the last error.`,
  delete:
    `Usage: veen kube delete --cluster-context CTX (--namespace NS --name NAME | --profile authority|tenant
         [--tenant-id ID]) [--purge-pvcs] [--data-pvc PVC] [--json]
Deletes the hub workload, Service, ServiceAccount, Role, RoleBinding and ConfigMaps (profiles: also the
NetworkPolicy and selftest Job/CronJob). The keys Secret is kept. --purge-pvcs also deletes the data PVC (read
from the workload, or named by --data-pvc). Deleting what is already gone exits 0 with "already deleted".`,
  logs: `Usage: veen kube logs --cluster-context CTX (--namespace NS --name NAME | --profile authority|tenant
         [--tenant-id ID]) [--pod POD] [--follow] [--since DURATION]
Passes the hub container's logs through unchanged. Without --pod: every hub pod, one after the other (with
--follow: all of them at once through one label selector). --since defaults to 1h.`,
  "job send":
    `Usage: veen kube job send --cluster-context CTX --namespace NS --hub-service DNS[:PORT] --client-secret SECRET
         --stream STREAM --body JSON [--cap-secret SECRET] [--profile-id HEX32] [--timeout-ms N] [--image IMAGE]
         [--state-pvc PVC] [--env-file FILE] [--job-name NAME] [--wait-seconds T] [--universe-id ID]
         [--tenant-id ID] [--dry-run] [--json]
Creates Job veen-job-send-<hash> running "veen send --hub http://DNS --client /var/lib/veen-client --stream ...
--body ..." with the client Secret's files (and the cap Secret at /var/lib/veen-cap/cap.cbor), waits for it
(default 300 s) and prints stream_seq and msg_id; a failed Job prints its output and exits 4. --dry-run prints the
Job manifest instead.`,
  "job stream":
    `Usage: veen kube job stream --cluster-context CTX --namespace NS --hub-service DNS[:PORT] --client-secret SECRET
         --stream STREAM [--from N] [--with-proof] [--image IMAGE] [--state-pvc PVC] [--env-file FILE]
         [--job-name NAME] [--wait-seconds T] [--universe-id ID] [--tenant-id ID] [--dry-run] [--json]
Creates Job veen-job-stream-<hash> running "veen stream ..." and prints the Job's output unchanged.`,
};

function addressNames(f: Flags): HubNames {
  return namesFromFlags({
    profile: str(f, "profile"),
    namespace: str(f, "namespace"),
    name: str(f, "name"),
    tenantId: str(f, "tenant-id"),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// render

async function render(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
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

// ---------------------------------------------------------------------------------------------------------------
// apply

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
/** kubectl's output lines, trailing blanks trimmed and empty lines dropped. */
const nonEmptyLines = (s: string): string[] => s.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");

interface WorkloadState {
  kind: string;
  name: string;
  namespace: string;
  desired_replicas: number;
  ready_replicas: number | null;
}

async function readWorkload(
  k: Kubectl,
  kind: string,
  name: string,
  namespace: string,
): Promise<{ desired: number; ready: number; current: boolean }> {
  const o = await k.json(
    ["get", `${kind.toLowerCase()}/${name}`],
    `kubectl get ${kind.toLowerCase()}/${name}`,
    { namespace },
  );
  if (typeof o !== "object" || o === null || typeof o.spec !== "object") {
    throw malformed(`kubectl get ${kind.toLowerCase()}/${name}: not a ${kind}`);
  }
  const desired = typeof o.spec.replicas === "number" ? o.spec.replicas : 1;
  const ready = typeof o.status?.readyReplicas === "number" ? o.status.readyReplicas : 0;
  const gen = o.metadata?.generation;
  const observed = o.status?.observedGeneration;
  const current = typeof gen !== "number" || (typeof observed === "number" && observed >= gen);
  return { desired, ready, current };
}

async function apply(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const context = req(f, "cluster-context");
  const file = req(f, "file");
  const wait = int(f, "wait-seconds", 0, 86_400);
  const defaultNs = str(f, "namespace");
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

  const hubWorkloads = objects.filter((o) =>
    (o.kind === "Deployment" || o.kind === "StatefulSet") && isHub(o)
  );
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

// ---------------------------------------------------------------------------------------------------------------
// status

interface PodStatus {
  name: string;
  phase: string;
  ready: boolean;
  restarts: number;
  health: string;
}

/** The pods with labels `sel` in `namespace`, sorted by name. */
// deno-lint-ignore no-explicit-any
async function podsOf(k: Kubectl, namespace: string, sel: string): Promise<any[]> {
  const listDoc = await k.json(["get", "pods", "-l", sel], "kubectl get pods", { namespace });
  if (typeof listDoc !== "object" || listDoc === null || !Array.isArray(listDoc.items)) {
    throw malformed("kubectl get pods: not a List");
  }
  // deno-lint-ignore no-explicit-any
  return [...listDoc.items].sort((a: any, b: any) =>
    String(a?.metadata?.name).localeCompare(String(b?.metadata?.name))
  );
}

async function status(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const context = req(f, "cluster-context");
  const n = addressNames(f);
  const k = new Kubectl(io, context, mode.verbose);
  const w = await readWorkload(k, n.workloadKind, n.workload, n.namespace);
  const sel = selectorString(hubSelector(n));
  const pods = await podsOf(k, n.namespace, sel);
  const out: PodStatus[] = [];
  for (const p of pods) {
    const name = String(p?.metadata?.name ?? "");
    const phase = String(p?.status?.phase ?? "Unknown");
    // deno-lint-ignore no-explicit-any
    const cs: any[] = Array.isArray(p?.status?.containerStatuses) ? p.status.containerStatuses : [];
    const restarts = cs.reduce((a, c) => a + (typeof c?.restartCount === "number" ? c.restartCount : 0), 0);
    const ready = cs.length > 0 && cs.every((c) => c?.ready === true);
    let health: string;
    if (phase !== "Running") {
      health = `not running (${phase})`;
    } else {
      const res = await k.run([
        "get",
        "--raw",
        `/api/v1/namespaces/${n.namespace}/pods/${name}:${HUB_PORT}/proxy/healthz`,
      ]);
      if (res.code !== 0) {
        health = `error: ${kubectlError(res, "healthz").detail.replace(/^healthz: /, "")}`;
      } else {
        try {
          const h = JSON.parse(res.stdout);
          health = h?.ok === true ? "ok" : `error: /healthz answered ok=${JSON.stringify(h?.ok)}`;
        } catch {
          health = "error: /healthz answer is not JSON";
        }
      }
    }
    out.push({ name, phase, ready, restarts, health });
  }
  const lines = [
    `deployment_name: ${n.workload}`,
    `kind: ${n.workloadKind}`,
    `namespace: ${n.namespace}`,
    `desired_replicas: ${w.desired}`,
    `ready_replicas: ${w.ready}`,
    `pods: ${out.length}`,
    ...out.map((p) =>
      `  ${p.name}  phase=${p.phase}  ready=${p.ready}  restarts=${p.restarts}  health=${p.health}`
    ),
  ];
  result(
    io,
    mode,
    {
      deployment_name: n.workload,
      kind: n.workloadKind,
      namespace: n.namespace,
      desired_replicas: w.desired,
      ready_replicas: w.ready,
      pods: out,
    },
    lines,
  );
  return EXIT.OK;
}

// ---------------------------------------------------------------------------------------------------------------
// delete

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

async function del(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const context = req(f, "cluster-context");
  const n = addressNames(f);
  const purge = f["purge-pvcs"] === true;
  const explicitPvc = str(f, "data-pvc");
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

// ---------------------------------------------------------------------------------------------------------------
// logs

const DURATION = /^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/;

async function logs(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const context = req(f, "cluster-context");
  const n = addressNames(f);
  const since = str(f, "since") ?? "1h";
  if (!DURATION.test(since)) throw usage(`--since must be a duration such as 1h, 10m or 30s, not "${since}"`);
  const follow = f.follow === true;
  const pod = str(f, "pod");
  const k = new Kubectl(io, context, mode.verbose);
  const tail = [`--since=${since}`, ...(follow ? ["--follow"] : [])];
  const run = async (args: string[], what: string) => {
    const res = await k.passthrough(args, { namespace: n.namespace });
    if (res.code !== 0) throw kubectlError(res, what);
  };
  if (pod !== undefined) {
    checkSubdomain(pod, "pod");
    await run(["logs", pod, "-c", "hub", ...tail], `kubectl logs ${pod}`);
    return EXIT.OK;
  }
  const sel = selectorString(hubSelector(n));
  if (follow) {
    await run(["logs", "-l", sel, "-c", "hub", "--max-log-requests=16", ...tail], "kubectl logs");
    return EXIT.OK;
  }
  const pods = await podsOf(k, n.namespace, sel);
  if (pods.length === 0) throw check("E.NOT_FOUND", `no hub pods with labels ${sel} in ${n.namespace}`);
  for (const p of pods) {
    const name = String(p?.metadata?.name ?? "");
    await run(["logs", name, "-c", "hub", ...tail], `kubectl logs ${name}`);
  }
  return EXIT.OK;
}

// ---------------------------------------------------------------------------------------------------------------
// job send | job stream

const JOB_FLAGS: FlagSpec = {
  "cluster-context": { type: "string" },
  namespace: { type: "string" },
  "hub-service": { type: "string" },
  "client-secret": { type: "string" },
  stream: { type: "string" },
  image: { type: "string" },
  "state-pvc": { type: "string" },
  "env-file": { type: "string" },
  "job-name": { type: "string" },
  "wait-seconds": { type: "string" },
  "universe-id": { type: "string" },
  "tenant-id": { type: "string" },
  "dry-run": { type: "boolean" },
};
const SEND_FLAGS: FlagSpec = {
  ...JOB_FLAGS,
  body: { type: "string" },
  "cap-secret": { type: "string" },
  "profile-id": { type: "string" },
  "timeout-ms": { type: "string" },
};
const STREAM_FLAGS: FlagSpec = { ...JOB_FLAGS, from: { type: "string" }, "with-proof": { type: "boolean" } };

async function job(action: "send" | "stream", io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const dryRun = f["dry-run"] === true;
  const context = dryRun ? str(f, "cluster-context") ?? "" : req(f, "cluster-context");
  const namespace = checkDnsLabel(req(f, "namespace"), "namespace");
  const hubService = req(f, "hub-service");
  if (/\s/.test(hubService)) throw usage(`--hub-service must be a DNS name[:port], not "${hubService}"`);
  const clientSecret = checkSubdomain(req(f, "client-secret"), "client-secret");
  const stream = req(f, "stream");
  const wait = int(f, "wait-seconds", 1, 86_400) ?? 300;
  const env = str(f, "env-file") === undefined
    ? []
    : parseEnvFile(await readUserFile(str(f, "env-file")!, "--env-file"), str(f, "env-file")!);
  const inp: JobInput = {
    action,
    name: "",
    namespace,
    image: checkImage(str(f, "image") ?? DEFAULT_JOB_IMAGE),
    hubUrl: hubUrlOf(hubService),
    clientSecret,
    stream,
    env,
    universeId: checkLabelValue(str(f, "universe-id") ?? "default", "universe-id"),
    deadlineSeconds: wait,
  };
  if (str(f, "tenant-id") !== undefined) inp.tenantId = checkDnsLabel(str(f, "tenant-id")!, "tenant-id");
  if (str(f, "state-pvc") !== undefined) inp.statePvc = checkSubdomain(str(f, "state-pvc")!, "state-pvc");
  if (action === "send") {
    inp.body = req(f, "body");
    try {
      JSON.parse(inp.body);
    } catch {
      throw usage("--body must be JSON");
    }
    if (str(f, "cap-secret") !== undefined) {
      inp.capSecret = checkSubdomain(str(f, "cap-secret")!, "cap-secret");
    }
    if (str(f, "profile-id") !== undefined) inp.profileId = checkProfileId(str(f, "profile-id")!);
    const t = int(f, "timeout-ms", 1, 3_600_000);
    if (t !== undefined) inp.timeoutMs = t;
  } else {
    const from = int(f, "from", 0, Number.MAX_SAFE_INTEGER);
    if (from !== undefined) inp.from = from;
    if (f["with-proof"] === true) inp.withProof = true;
  }
  const explicitName = str(f, "job-name");
  inp.name = explicitName !== undefined
    ? checkDnsLabel(explicitName, "job-name")
    : jobName(action, { ...inp, name: undefined }, io.now());
  const obj = jobObject(inp);

  if (dryRun) {
    io.writeOut(mode.json ? JSON.stringify(obj, null, 2) + "\n" : toYaml([obj]));
    return EXIT.OK;
  }
  const k = new Kubectl(io, context, mode.verbose);
  await k.ok(["create", "-f", "-"], `kubectl create job/${inp.name}`, {
    stdin: JSON.stringify(obj),
    namespace,
  });
  if (!mode.json && !mode.quiet) {
    io.writeErr(`job.batch/${inp.name} created in ${namespace}; waiting up to ${wait} s\n`);
  }

  const deadline = io.now() + wait * 1000;
  let outcome: "succeeded" | "failed" | undefined;
  while (outcome === undefined) {
    const j = await k.json(["get", `job/${inp.name}`], `kubectl get job/${inp.name}`, { namespace });
    // deno-lint-ignore no-explicit-any
    const conds: any[] = Array.isArray(j?.status?.conditions) ? j.status.conditions : [];
    const has = (t: string) => conds.some((c) => c?.type === t && c?.status === "True");
    if (has("Complete") || (j?.status?.succeeded ?? 0) > 0) outcome = "succeeded";
    else if (has("Failed") || (j?.status?.failed ?? 0) > 0) outcome = "failed";
    else if (io.now() >= deadline) {
      throw check(
        "E.UNAVAILABLE",
        `job/${inp.name} in ${namespace} did not finish within ${wait} s (it stops at its activeDeadlineSeconds)`,
      );
    } else await io.sleep(2000);
  }
  const logRes = await k.run(["logs", `job/${inp.name}`, "-c", "veen"], { namespace });
  const output = logRes.code === 0 ? logRes.stdout : "";
  const outLines = output.split("\n");
  if (outLines[outLines.length - 1] === "") outLines.pop();

  if (outcome === "failed") {
    const errLine = [...outLines].reverse().find((l) => /^E\.[A-Z_]+: /.test(l));
    const code = errLine === undefined ? "E.CHECK" : errLine.slice(0, errLine.indexOf(":"));
    const detail = errLine === undefined
      ? `job/${inp.name} in ${namespace} failed${logRes.code === 0 ? "" : " (its logs could not be read)"}`
      : `job/${inp.name} failed: ${errLine.slice(errLine.indexOf(":") + 2)}`;
    if (!mode.json) io.writeErr(output);
    throw check(code, detail);
  }
  if (logRes.code !== 0) throw kubectlError(logRes, `kubectl logs job/${inp.name}`);
  if (action === "send") {
    const r = receiptSummary(output);
    if (r === undefined) {
      if (!mode.json) io.writeErr(output);
      throw malformed(`job/${inp.name} succeeded but its output has no stream_seq/msg_id receipt summary`);
    }
    result(io, mode, { job: inp.name, namespace, stream, ...r }, [
      `stream_seq: ${r.stream_seq}`,
      `msg_id: ${r.msg_id}`,
    ]);
  } else if (mode.json) {
    result(io, mode, { job: inp.name, namespace, stream, output }, []);
  } else if (!mode.quiet) {
    io.writeOut(output);
  }
  return EXIT.OK;
}

// ---------------------------------------------------------------------------------------------------------------
// dispatch

const COMMANDS: Record<string, Subcommand> = {
  render: { flags: RENDER_FLAGS, run: render },
  apply: {
    flags: {
      "cluster-context": { type: "string" },
      file: { type: "string" },
      namespace: { type: "string" },
      "wait-seconds": { type: "string" },
    },
    run: apply,
  },
  status: { flags: ADDRESS_FLAGS, run: status },
  delete: {
    flags: { ...ADDRESS_FLAGS, "purge-pvcs": { type: "boolean" }, "data-pvc": { type: "string" } },
    run: del,
  },
  logs: {
    flags: {
      ...ADDRESS_FLAGS,
      pod: { type: "string" },
      follow: { type: "boolean", short: "f" },
      since: { type: "string" },
    },
    run: logs,
  },
  "job send": { flags: SEND_FLAGS, run: (io, f, m) => job("send", io, f, m) },
  "job stream": { flags: STREAM_FLAGS, run: (io, f, m) => job("stream", io, f, m) },
};

/** `veen kube` as a tool of ops/io.ts (its subcommands, flags and help texts). */
export const KUBE_TOOL: Tool = { name: "kube", help: KUBE_HELP, commands: COMMANDS, helps: HELP };

/** `veen kube ...` with an injectable environment (tests). `args` starts after the word "kube". */
export async function runKube(args: string[], io: OpsIo): Promise<number> {
  return await dispatch(
    io,
    KUBE_TOOL,
    args,
    (sub, rest) => {
      if (sub === "backup" || sub === "restore") {
        io.writeErr(
          `E.UNAVAILABLE: veen kube ${sub} needs the hub's /admin/backup route (CLI-GOALS-3 §2.7), which this hub does not serve\n`,
        );
        return EXIT.CHECK;
      }
      return { sub, rest };
    },
  );
}
