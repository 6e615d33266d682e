/**
 * `veen kube render` (CLI-GOALS-3 §2.2, spec 000): the object builders that turn a {@link RenderInput} (parsed and
 * checked by ops/kube_render_input.ts) into Kubernetes manifests, typed by their kind's schema through type-only
 * imports from `kubernetes-models`. The same input always gives byte-identical output (ops/testdata/*.golden):
 * objects in a fixed order, keys in a fixed order, file-derived maps sorted, no timestamps and no randomness.
 *
 * Object order:
 *   Namespace (unless --no-namespace), ServiceAccount, Role, RoleBinding, [ClusterRole veen-operator: authority],
 *   ConfigMap (hub config), [ConfigMap (--env-file)], Secret template (no key material), [PersistentVolumeClaim:
 *   profiles], Deployment or StatefulSet, Service, [NetworkPolicy, selftest Job, selftest CronJob: profiles],
 *   [ConfigMap veen-observability: authority].
 *
 * Pods: `veen hub start --foreground --listen 0.0.0.0:8080 --data-dir /var/lib/veen --config
 * /etc/veen/hub-config.toml --profile-id HEX32` (profiles: `--profile authority|tenant --config /etc/veen/hub.yaml`,
 * spec 000 §4.2/§5.2), liveness GET /healthz (higher failure threshold), readiness GET
 * /readyz, a startup probe on /healthz, restricted security context (non-root uid 65532, read-only root file
 * system, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp), resources from
 * --resources-cpu/--resources-mem ("request,limit"; a missing limit equals the request).
 */
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { ICronJob } from "kubernetes-models/batch/v1/CronJob";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IJobSpec } from "kubernetes-models/batch/v1/JobSpec";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import type { IClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import type { IRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import type { IRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import type { IPersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import type { IResourceRequirements } from "kubernetes-models/v1/ResourceRequirements";
import type { ISecret } from "kubernetes-models/v1/Secret";
import type { ISecurityContext } from "kubernetes-models/v1/SecurityContext";
import type { IService } from "kubernetes-models/v1/Service";
import type { IServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { IVolume } from "kubernetes-models/v1/Volume";
import { createHash } from "node:crypto";
import { GLIBC_TUNABLES } from "../runtime.ts";
import { VERSION } from "../version.ts";
import { alertRulesYaml, dashboardJson } from "./observability.ts";
import { AUTHORITY_NAMESPACE, AUTHORITY_URL, HUB_PORT, type HubNames, hubSelector } from "./kube_names.ts";

/** One rendered manifest, typed by the Kubernetes schema of its kind (kubernetes-models, types only). */
export type Manifest =
  | INamespace
  | IServiceAccount
  | IRole
  | IRoleBinding
  | IClusterRole
  | IConfigMap
  | ISecret
  | IPersistentVolumeClaim
  | IDeployment
  | IStatefulSet
  | IService
  | INetworkPolicy
  | IJob
  | ICronJob;

/** Object metadata with the labels and annotations every VEEN object carries. */
export type Meta = NonNullable<IService["metadata"]> & {
  labels: Record<string, string>;
  annotations: Record<string, string>;
};

/** Where the hub keeps its data in the pod (`--data-dir`). */
export const DATA_DIR = "/var/lib/veen";
const CONFIG_DIR = "/etc/veen";
const KEYS_DIR = `${CONFIG_DIR}/keys`;
/** The uid/gid of the `veen` user in the container image (compile/Dockerfile). */
const RUN_AS = 65532;
const DEFAULT_STORAGE = "1Gi";
/** Requests and limits of the init containers that copy key files into place. */
export const INIT_RESOURCES: IResourceRequirements = {
  requests: { cpu: "10m", memory: "16Mi" },
  limits: { cpu: "100m", memory: "32Mi" },
};

export interface RenderInput {
  names: HubNames;
  image: string;
  /** Hub layout: the existing PVC named by --data-pvc. */
  dataPvc?: string;
  replicas: number;
  cpu: [string, string];
  mem: [string, string];
  profileId: string;
  logLevel: string;
  /** Text of the hub's config file (the --config file verbatim, or a generated one) ... */
  configText: string;
  /** ... and its ConfigMap key: `hub.yaml` (profiles, spec 000 `/etc/veen/hub.yaml`) or `hub-config.toml`. */
  configKey: "hub.yaml" | "hub-config.toml";
  /** Profile tenant: a bridge Deployment `veen-bridge-admin` pulls the admin labels instead of the hub itself. */
  adminBridge: boolean;
  /** Sorted KEY=VALUE pairs from --env-file. */
  envFile: [string, string][];
  /** Sorted pod annotations from --pod-annotations. */
  podAnnotations: [string, string][];
  universeId: string;
  tenantId?: string;
  includeNamespace: boolean;
  /** Profiles: PVC size (tenant: only when given; authority: default 1Gi). */
  storage?: string;
  storageClass?: string;
  selftestSchedule: string;
  /** Profiles: extra `matchLabels` allowed through the NetworkPolicy. */
  allowFrom: Record<string, string>[];
}

/** spec 000 §4.3/§5.3 deployment facts, read by operators and bridges (the hub refuses unknown config keys). */
function profileToml(inp: RenderInput): string {
  const n = inp.names;
  const role = roleOf(n);
  const lines = [
    "# VEEN Kubernetes profile (spec 000); informational, not read by the hub.",
    `hub_profile = "${role}"`,
    `universe_id = "${inp.universeId}"`,
    `service_url = "http://${n.service}.${n.namespace}.svc.cluster.local:${HUB_PORT}"`,
  ];
  if (n.layout === "authority") lines.push(`authority_id = "${inp.universeId}"`);
  else lines.push(`authority_url = "${AUTHORITY_URL}"`);
  if (inp.tenantId !== undefined) lines.push(`tenant_id = "${inp.tenantId}"`);
  return lines.join("\n") + "\n";
}

function roleOf(n: HubNames): "authority" | "tenant" {
  return n.layout === "authority" ? "authority" : "tenant";
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

function configData(inp: RenderInput): Record<string, string> {
  const data: Record<string, string> = { [inp.configKey]: inp.configText };
  if (inp.names.layout !== "hub") data["profile.toml"] = profileToml(inp);
  return data;
}

/** veen.io/config-hash: SHA-256 of the config files and --env-file entries (changes roll the pods). */
function configHash(inp: RenderInput): string {
  const data = configData(inp);
  const parts = Object.keys(data).sort().map((k) => `${k}\0${data[k]}`);
  for (const [k, v] of inp.envFile) parts.push(`env:${k}\0${v}`);
  return sha256Hex(parts.join("\0\0"));
}

/** spec 000 §3.2 labels for an object of `component` (plus the hub selector for hub objects). */
function labels(
  inp: RenderInput,
  component: "hub" | "selftest",
  extra: Record<string, string> = {},
): Record<string, string> {
  const n = inp.names;
  const l: Record<string, string> = {};
  if (component === "hub") Object.assign(l, hubSelector(n));
  l["app.kubernetes.io/name"] = component === "hub" ? "veen-hub" : "veen-selftest";
  l["app.kubernetes.io/instance"] = n.hubName;
  l["app.kubernetes.io/version"] = VERSION;
  l["app.kubernetes.io/component"] = component;
  l["app.kubernetes.io/part-of"] = "veen";
  l["app.kubernetes.io/managed-by"] = "veen";
  l["veen.io/role"] = component === "hub" ? roleOf(n) : "selftest";
  l["veen.io/universe-id"] = inp.universeId;
  if (inp.tenantId !== undefined) l["veen.io/tenant-id"] = inp.tenantId;
  return { ...l, ...extra };
}

/** The annotations of every VEEN object: its profile and the VEEN version, then `extra`. */
export function annotations(profile: string, extra: Record<string, string> = {}): Record<string, string> {
  return { "veen.io/profile": profile, "veen.io/version": VERSION, ...extra };
}

function meta(inp: RenderInput, name: string, component: "hub" | "selftest", profile?: string): Meta {
  return {
    name,
    namespace: inp.names.namespace,
    labels: labels(inp, component),
    annotations: annotations(profile ?? (component === "hub" ? roleOf(inp.names) : "selftest")),
  };
}

/** The restricted pod security context shared by every VEEN pod. */
export function podSecurityContext(): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS,
    runAsGroup: RUN_AS,
    fsGroup: RUN_AS,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function containerSecurityContext(): ISecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
  };
}

/** Environment every VEEN container gets: a writable HOME and Deno cache on the /tmp emptyDir. */
export function runtimeEnv(): IEnvVar[] {
  return [
    { name: "HOME", value: "/tmp" },
    { name: "DENO_DIR", value: "/tmp/deno" },
    { name: "DENO_NO_UPDATE_CHECK", value: "1" },
    { name: "GLIBC_TUNABLES", value: GLIBC_TUNABLES },
  ];
}

/**
 * The hub-key init container: the Secret's `hub_key` is copied into an empty data volume; a different one (spec 000
 * §11.4: the workload now mounts `veen-hub-keys-next`) becomes the hub's key through `veen hub rotate-key
 * --key-file`, with the window of VEEN_ROTATION_WINDOW_SEC (a previous key is refused: the pod does not start).
 */
const HUB_KEY_SEED = `if [ -f ${KEYS_DIR}/hub_key ]; then if [ ! -e ${DATA_DIR}/hub_key ]; then ` +
  `cp ${KEYS_DIR}/hub_key ${DATA_DIR}/hub_key && chmod 0600 ${DATA_DIR}/hub_key; ` +
  `elif ! cmp -s ${KEYS_DIR}/hub_key ${DATA_DIR}/hub_key; then ` +
  `exec veen hub rotate-key --data-dir ${DATA_DIR} --key-file ${KEYS_DIR}/hub_key; fi; fi`;

function hubPodTemplate(inp: RenderInput): IPodTemplateSpec {
  const n = inp.names;
  const role = roleOf(n);
  const env: IEnvVar[] = [
    { name: "VEEN_ROLE", value: role },
    { name: "VEEN_UNIVERSE_ID", value: inp.universeId },
  ];
  if (inp.tenantId !== undefined) env.push({ name: "VEEN_TENANT_ID", value: inp.tenantId });
  if (n.layout === "tenant") env.push({ name: "VEEN_AUTHORITY_URL", value: AUTHORITY_URL });
  env.push({ name: "VEEN_LOG_LEVEL", value: inp.logLevel }, ...runtimeEnv());

  const container: IContainer = {
    name: "hub",
    image: inp.image,
    imagePullPolicy: "IfNotPresent",
    command: ["veen"],
    args: [
      "hub",
      "start",
      "--foreground",
      "--listen",
      `0.0.0.0:${HUB_PORT}`,
      "--data-dir",
      DATA_DIR,
      ...(n.layout === "hub" ? [] : ["--profile", role]),
      "--config",
      `${CONFIG_DIR}/${inp.configKey}`,
      "--profile-id",
      inp.profileId,
    ],
    env,
  };
  const envFrom = inp.envFile.length > 0 ? [{ configMapRef: { name: n.envConfigMap } }] : undefined;
  if (envFrom !== undefined) container.envFrom = envFrom;
  Object.assign(container, {
    ports: [{ name: "http", containerPort: HUB_PORT, protocol: "TCP" }],
    startupProbe: {
      httpGet: { path: "/healthz", port: "http" },
      periodSeconds: 2,
      timeoutSeconds: 2,
      failureThreshold: 60,
    },
    readinessProbe: {
      httpGet: { path: "/readyz", port: "http" },
      periodSeconds: 5,
      timeoutSeconds: 2,
      successThreshold: 1,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: "http" },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 6,
    },
    resources: {
      requests: { cpu: inp.cpu[0], memory: inp.mem[0] },
      limits: { cpu: inp.cpu[1], memory: inp.mem[1] },
    },
    securityContext: containerSecurityContext(),
    volumeMounts: [
      { name: "veen-config", mountPath: CONFIG_DIR, readOnly: true },
      { name: "veen-data", mountPath: DATA_DIR },
      { name: "tmp", mountPath: "/tmp" },
    ],
  });

  const dataVolume: IVolume = n.layout === "hub"
    ? { name: "veen-data", persistentVolumeClaim: { claimName: inp.dataPvc! } } // the hub layout requires it
    : n.layout === "authority" || inp.storage !== undefined
    ? { name: "veen-data", persistentVolumeClaim: { claimName: n.pvc } }
    : { name: "veen-data", emptyDir: {} };

  const podAnnotations: Record<string, string> = annotations(role, {
    "veen.io/config-hash": configHash(inp),
    "kubectl.kubernetes.io/default-container": "hub",
  });
  for (const [k, v] of inp.podAnnotations) podAnnotations[k] = v;

  return {
    metadata: { labels: labels(inp, "hub"), annotations: podAnnotations },
    spec: {
      serviceAccountName: n.serviceAccount,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 30,
      securityContext: podSecurityContext(),
      initContainers: [
        {
          name: "hub-key",
          image: inp.image,
          imagePullPolicy: "IfNotPresent",
          command: ["sh", "-c", HUB_KEY_SEED],
          env: runtimeEnv(),
          ...(envFrom === undefined ? {} : { envFrom }),
          // A rotation runs `veen` itself: the hub container's resources.
          resources: container.resources!,
          securityContext: containerSecurityContext(),
          volumeMounts: [
            { name: "veen-config", mountPath: CONFIG_DIR, readOnly: true },
            { name: "veen-data", mountPath: DATA_DIR },
            { name: "tmp", mountPath: "/tmp" },
          ],
        },
      ],
      containers: [container],
      volumes: [
        {
          name: "veen-config",
          projected: {
            defaultMode: 0o440,
            sources: [
              { configMap: { name: n.configMap } },
              {
                secret: { name: n.secret, optional: true, items: [{ key: "hub_key", path: "keys/hub_key" }] },
              },
            ],
          },
        },
        dataVolume,
        { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
      ],
    },
  };
}

function namespaceObject(inp: RenderInput): INamespace {
  const n = inp.names;
  const l: Record<string, string> = {
    "app.kubernetes.io/part-of": "veen",
    "app.kubernetes.io/managed-by": "veen",
  };
  if (n.layout !== "hub") {
    l["pod-security.kubernetes.io/enforce"] = "restricted";
    l["pod-security.kubernetes.io/warn"] = "restricted";
  }
  l["veen.io/universe-id"] = inp.universeId;
  if (inp.tenantId !== undefined) l["veen.io/tenant-id"] = inp.tenantId;
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: n.namespace, labels: l, annotations: annotations(roleOf(n)) },
  };
}

function rbac(inp: RenderInput): [IServiceAccount, IRole, IRoleBinding] {
  const n = inp.names;
  const configMaps = inp.envFile.length > 0 ? [n.configMap, n.envConfigMap] : [n.configMap];
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: meta(inp, n.serviceAccount, "hub"),
      automountServiceAccountToken: false,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(inp, n.role, "hub"),
      rules: [
        { apiGroups: [""], resources: ["configmaps"], resourceNames: configMaps, verbs: ["get"] },
        { apiGroups: [""], resources: ["secrets"], resourceNames: [n.secret], verbs: ["get"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(inp, n.role, "hub"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: n.role },
      subjects: [{ kind: "ServiceAccount", name: n.serviceAccount, namespace: n.namespace }],
    },
  ];
}

/** spec 000 §9.1: the cluster-wide operator role (bind it to the people or CI accounts that run `veen kube`). */
function operatorClusterRole(inp: RenderInput): IClusterRole {
  const all = ["get", "list", "watch", "create", "update", "patch", "delete"];
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: {
      name: "veen-operator",
      labels: {
        "app.kubernetes.io/part-of": "veen",
        "app.kubernetes.io/managed-by": "veen",
        "veen.io/universe-id": inp.universeId,
      },
      annotations: annotations("authority"),
    },
    rules: [
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "create", "delete"] },
      {
        apiGroups: [""],
        resources: ["configmaps", "persistentvolumeclaims", "pods", "secrets", "serviceaccounts", "services"],
        verbs: all,
      },
      { apiGroups: [""], resources: ["pods/log", "pods/proxy"], verbs: ["get"] },
      { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: all },
      { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: all },
      { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: all },
      { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings", "roles"], verbs: all },
    ],
  };
}

function configMaps(inp: RenderInput): IConfigMap[] {
  const n = inp.names;
  const out: IConfigMap[] = [
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(inp, n.configMap, "hub"), data: configData(inp) },
  ];
  if (inp.envFile.length > 0) {
    out.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(inp, n.envConfigMap, "hub"),
      data: Object.fromEntries(inp.envFile),
    });
  }
  return out;
}

/** A Secret with no data: applying it never overwrites keys added with `kubectl create secret`. */
function secretTemplate(inp: RenderInput): ISecret {
  const n = inp.names;
  const m = meta(inp, n.secret, "hub");
  m.annotations["veen.io/secret-template"] = "true";
  m.annotations["veen.io/expected-keys"] = "hub_key";
  return { apiVersion: "v1", kind: "Secret", metadata: m, type: "Opaque" };
}

function pvc(inp: RenderInput): IPersistentVolumeClaim {
  const n = inp.names;
  const spec: NonNullable<IPersistentVolumeClaim["spec"]> = {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: inp.storage ?? DEFAULT_STORAGE } },
  };
  if (inp.storageClass !== undefined) spec.storageClassName = inp.storageClass;
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: meta(inp, n.pvc, "hub"), spec };
}

function workload(inp: RenderInput): IDeployment | IStatefulSet {
  const n = inp.names;
  const metadata = meta(inp, n.workload, "hub");
  metadata.annotations["veen.io/config-hash"] = configHash(inp);
  if (n.layout === "hub" && inp.dataPvc !== undefined) metadata.annotations["veen.io/data-pvc"] = inp.dataPvc;
  const common = {
    replicas: inp.replicas,
    revisionHistoryLimit: 3,
    selector: { matchLabels: hubSelector(n) },
  };
  if (n.workloadKind === "StatefulSet") {
    return {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata,
      spec: {
        ...common,
        serviceName: n.service,
        podManagementPolicy: "OrderedReady",
        updateStrategy: { type: "RollingUpdate" },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        template: hubPodTemplate(inp),
      },
    };
  }
  // One writer per data directory: never run the old and the new pod side by side.
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata,
    spec: { ...common, strategy: { type: "Recreate" }, template: hubPodTemplate(inp) },
  };
}

function service(inp: RenderInput): IService {
  const n = inp.names;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(inp, n.service, "hub"),
    spec: {
      type: "ClusterIP",
      selector: hubSelector(n),
      ports: [{ name: "http", port: HUB_PORT, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/** spec 000 §9.2: only bridges, selftests, CLI Jobs (and for the authority, tenant hubs) reach the hub. */
function networkPolicy(inp: RenderInput): INetworkPolicy {
  const n = inp.names;
  const from: INetworkPolicyPeer[] = n.layout === "authority"
    ? [{
      namespaceSelector: {},
      podSelector: {
        matchExpressions: [{
          key: "veen.io/role",
          operator: "In",
          values: ["bridge", "cli", "selftest", "tenant"],
        }],
      },
    }]
    : [
      {
        podSelector: {
          matchExpressions: [{ key: "veen.io/role", operator: "In", values: ["bridge", "cli", "selftest"] }],
        },
      },
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": AUTHORITY_NAMESPACE } },
        podSelector: { matchLabels: { "veen.io/role": "bridge" } },
      },
    ];
  for (const sel of inp.allowFrom) from.push({ podSelector: { matchLabels: sel } });
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(inp, n.networkPolicy, "hub"),
    spec: {
      podSelector: { matchLabels: hubSelector(n) },
      policyTypes: ["Ingress"],
      ingress: [{ from, ports: [{ protocol: "TCP", port: HUB_PORT }] }],
    },
  };
}

/** spec 000 §8: `veen selftest core --hub URL` against the deployed hub (the authority: `selftest authority`). */
function selftestJobSpec(inp: RenderInput): IJobSpec {
  const n = inp.names;
  const env: IEnvVar[] = [
    { name: "VEEN_ROLE", value: "selftest" },
    { name: "VEEN_UNIVERSE_ID", value: inp.universeId },
  ];
  if (inp.tenantId !== undefined) env.push({ name: "VEEN_TENANT_ID", value: inp.tenantId });
  env.push(
    { name: "HOME", value: "/work" },
    { name: "TMPDIR", value: "/work" },
    { name: "DENO_DIR", value: "/work/.deno" },
    { name: "DENO_NO_UPDATE_CHECK", value: "1" },
    { name: "GLIBC_TUNABLES", value: GLIBC_TUNABLES },
  );
  return {
    backoffLimit: 1,
    activeDeadlineSeconds: 900,
    ttlSecondsAfterFinished: 86400,
    template: {
      metadata: {
        labels: labels(inp, "selftest"),
        annotations: annotations("selftest", { "kubectl.kubernetes.io/default-container": "selftest" }),
      },
      spec: {
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: podSecurityContext(),
        containers: [
          {
            name: "selftest",
            image: inp.image,
            imagePullPolicy: "IfNotPresent",
            command: ["veen"],
            args: ["selftest", n.layout === "authority" ? "authority" : "core", "--hub", n.localUrl],
            workingDir: "/work",
            env,
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
            securityContext: containerSecurityContext(),
            volumeMounts: [{ name: "work", mountPath: "/work" }],
          },
        ],
        volumes: [{ name: "work", emptyDir: { sizeLimit: "256Mi" } }],
      },
    },
  };
}

function selftestJob(inp: RenderInput): IJob {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(inp, inp.names.selftestJob, "selftest"),
    spec: selftestJobSpec(inp),
  };
}

function selftestCronJob(inp: RenderInput): ICronJob {
  const jobMeta = { labels: labels(inp, "selftest"), annotations: annotations("selftest") };
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: meta(inp, inp.names.selftestCronJob, "selftest"),
    spec: {
      schedule: inp.selftestSchedule,
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: { metadata: jobMeta, spec: selftestJobSpec(inp) },
    },
  };
}

/**
 * The hub's Prometheus alert rules and Grafana dashboard (ops/observability.ts, also in compile/), once per cluster
 * in veen-system: `grafana_dashboard: "1"` lets a Grafana sidecar load the dashboard; the rule file goes to
 * Prometheus (or into a PrometheusRule) as docs/operations.md shows.
 */
function observabilityConfigMap(inp: RenderInput): IConfigMap {
  const m = meta(inp, "veen-observability", "hub");
  const l: Record<string, string> = {
    "app.kubernetes.io/part-of": "veen",
    "app.kubernetes.io/managed-by": "veen",
    "app.kubernetes.io/component": "observability",
    "veen.io/universe-id": inp.universeId,
    grafana_dashboard: "1",
  };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { ...m, labels: l },
    data: { "veen-alerts.yaml": alertRulesYaml(), "veen-hub-dashboard.json": dashboardJson() },
  };
}

/** The manifests, in the fixed order. */
export function renderObjects(inp: RenderInput): Manifest[] {
  const n = inp.names;
  const profile = n.layout !== "hub";
  const out: Manifest[] = [];
  if (inp.includeNamespace) out.push(namespaceObject(inp));
  out.push(...rbac(inp));
  if (n.layout === "authority") out.push(operatorClusterRole(inp));
  out.push(...configMaps(inp), secretTemplate(inp));
  if (n.layout === "authority" || (n.layout === "tenant" && inp.storage !== undefined)) out.push(pvc(inp));
  out.push(workload(inp), service(inp));
  if (profile) out.push(networkPolicy(inp), selftestJob(inp), selftestCronJob(inp));
  if (n.layout === "authority") out.push(observabilityConfigMap(inp));
  return out;
}
