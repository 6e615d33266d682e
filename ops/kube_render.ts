/**
 * `veen kube render` (CLI-GOALS-3 §2.2, spec 000): Kubernetes manifests for a hub, without contacting a cluster.
 * The same inputs (flags and the bytes of the files they name) always give byte-identical output: objects in a fixed
 * order, keys in a fixed order, file-derived maps sorted, no timestamps and no randomness.
 *
 * Object order:
 *   Namespace (unless --no-namespace), ServiceAccount, Role, RoleBinding, [ClusterRole veen-operator: authority],
 *   ConfigMap (hub config), [ConfigMap (--env-file)], Secret template (no key material), [PersistentVolumeClaim:
 *   profiles], Deployment or StatefulSet, Service, [NetworkPolicy, selftest Job, selftest CronJob: profiles].
 *
 * Pods: `veen hub start --foreground --listen 0.0.0.0:8080 --data-dir /var/lib/veen --config
 * /etc/veen/hub-config.toml --profile-id HEX32`, liveness GET /healthz (higher failure threshold), readiness GET
 * /readyz, a startup probe on /healthz, restricted security context (non-root uid 65532, read-only root file
 * system, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp), resources from
 * --resources-cpu/--resources-mem ("request,limit"; a missing limit equals the request).
 */
import { createHash } from "node:crypto";
import { parse as parseToml } from "smol-toml";
import { DEFAULT_PROFILE_ID_HEX } from "../core/mod.ts";
import { GLIBC_TUNABLES } from "../runtime.ts";
import { VERSION } from "../version.ts";
import { readUserFile, usage } from "./io.ts";
import {
  AUTHORITY_NAMESPACE,
  AUTHORITY_URL,
  authorityNames,
  checkDnsLabel,
  HUB_PORT,
  hubLayoutNames,
  type HubNames,
  hubSelector,
  tenantNames,
} from "./kube_names.ts";

// deno-lint-ignore no-explicit-any
export type K8sObject = Record<string, any>;

const DATA_DIR = "/var/lib/veen";
const CONFIG_DIR = "/etc/veen";
const CONFIG_FILE = `${CONFIG_DIR}/hub-config.toml`;
const KEYS_DIR = `${CONFIG_DIR}/keys`;
/** The uid/gid of the `veen` user in the container image (compile/Dockerfile). */
const RUN_AS = 65532;
const DEFAULT_CPU = "250m,1";
const DEFAULT_MEM = "256Mi,512Mi";
const DEFAULT_SELFTEST_SCHEDULE = "17 * * * *";
const DEFAULT_STORAGE = "1Gi";
/** Requests and limits of the init containers that copy key files into place. */
export const INIT_RESOURCES = {
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
  /** Text of hub-config.toml (the --config file verbatim, or a generated one). */
  configText: string;
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

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** "request,limit" (a missing limit means request,request). */
function parseResources(v: string, flag: string): [string, string] {
  const parts = v.split(",").map((s) => s.trim());
  if (parts.length > 2 || parts.some((p) => !QUANTITY.test(p))) {
    throw usage(
      `--${flag} must be "REQUEST,LIMIT" with Kubernetes quantities (for example 500m,1 or 512Mi,1Gi), not "${v}"`,
    );
  }
  return [parts[0]!, parts[1] ?? parts[0]!];
}

function checkQuantity(v: string, flag: string): string {
  if (!QUANTITY.test(v)) throw usage(`--${flag} must be a Kubernetes quantity such as 1Gi, not "${v}"`);
  return v;
}

export function checkLabelValue(v: string, flag: string): string {
  if (!LABEL_VALUE.test(v) || v.length > 63) {
    throw usage(`--${flag} must be a Kubernetes label value, not "${v}"`);
  }
  return v;
}

export function checkSubdomain(v: string, flag: string): string {
  if (!DNS_SUBDOMAIN.test(v) || v.length > 253) {
    throw usage(`--${flag} must be a Kubernetes object name, not "${v}"`);
  }
  return v;
}

export function checkImage(v: string, flag = "image"): string {
  if (v === "" || /\s/.test(v)) throw usage(`--${flag} must be a container image reference, not "${v}"`);
  return v;
}

export function checkProfileId(v: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw usage(`--profile-id must be 64 hex digits, not "${v}"`);
  return v.toLowerCase();
}

/** `KEY=VALUE` lines: blank lines and `#` comments skipped, optional `export `, optional '...' or "..." quoting. */
export function parseEnvFile(text: string, path: string): [string, string][] {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const body = line.startsWith("export ") ? line.slice(7).trimStart() : line;
    const eq = body.indexOf("=");
    const key = eq < 0 ? "" : body.slice(0, eq).trim();
    if (!ENV_NAME.test(key)) {
      throw usage(`--env-file ${path} line ${i + 1}: expected KEY=VALUE with a variable name`);
    }
    let value = body.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
      value = value.slice(1, -1);
    } else if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replace(/\\(["\\n])/g, (_m, c: string) => (c === "n" ? "\n" : c));
    }
    out.set(key, value);
  });
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A JSON object of string annotations. */
function parseAnnotations(text: string, path: string): [string, string][] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw usage(`--pod-annotations ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw usage(`--pod-annotations ${path} must be a JSON object of strings`);
  }
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v !== "string") throw usage(`--pod-annotations ${path}: the value of "${k}" must be a string`);
    if (!QUALIFIED_NAME.test(k) || k.split("/").pop()!.length > 63) {
      throw usage(`--pod-annotations ${path}: "${k}" is not a valid annotation key`);
    }
    out.push([k, v]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `key=value[,key=value]` for --allow-from-label. */
function parseLabelSelector(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(",")) {
    const eq = part.indexOf("=");
    const k = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (eq < 0 || !QUALIFIED_NAME.test(k) || !LABEL_VALUE.test(val) || val.length > 63) {
      throw usage(`--allow-from-label must be key=value[,key=value], not "${v}"`);
    }
    out[k] = val;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** profile_id and log_level of a hub config TOML (flat, or under a [hub] table with nothing beside it), if set. */
function configSettings(
  text: string,
  path: string,
): { profileId: string | undefined; logLevel: string | undefined } {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw usage(`--config ${path} is not valid TOML: ${(e as Error).message}`);
  }
  const table = typeof doc.hub === "object" && doc.hub !== null ? doc.hub as Record<string, unknown> : doc;
  const outside = table === doc ? undefined : Object.keys(doc).find((k) => k !== "hub");
  if (outside !== undefined) {
    throw usage(`--config ${path}: key "${outside}" is outside the [hub] table (the hub refuses it)`);
  }
  const profileId = table.profile_id;
  if (profileId !== undefined && typeof profileId !== "string") {
    throw usage(`--config ${path}: profile_id must be a string`);
  }
  return { profileId, logLevel: typeof table.log_level === "string" ? table.log_level : undefined };
}

function generatedConfig(profileId: string): string {
  return [
    "# VEEN hub configuration rendered by `veen kube render` (keys: docs/hub-config.md).",
    "# The container command passes --listen, --data-dir and --profile-id, which take precedence.",
    "[hub]",
    `listen = "0.0.0.0:${HUB_PORT}"`,
    `data_dir = "${DATA_DIR}"`,
    `profile_id = "${profileId}"`,
    "",
  ].join("\n");
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
  const data: Record<string, string> = { "hub-config.toml": inp.configText };
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

function meta(inp: RenderInput, name: string, component: "hub" | "selftest", profile?: string): K8sObject {
  return {
    name,
    namespace: inp.names.namespace,
    labels: labels(inp, component),
    annotations: annotations(profile ?? (component === "hub" ? roleOf(inp.names) : "selftest")),
  };
}

/** The restricted pod security context shared by every VEEN pod. */
export function podSecurityContext(): K8sObject {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS,
    runAsGroup: RUN_AS,
    fsGroup: RUN_AS,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function containerSecurityContext(): K8sObject {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
  };
}

/** Environment every VEEN container gets: a writable HOME and Deno cache on the /tmp emptyDir. */
export function runtimeEnv(): K8sObject[] {
  return [
    { name: "HOME", value: "/tmp" },
    { name: "DENO_DIR", value: "/tmp/deno" },
    { name: "DENO_NO_UPDATE_CHECK", value: "1" },
    { name: "GLIBC_TUNABLES", value: GLIBC_TUNABLES },
  ];
}

const HUB_KEY_SEED = `if [ -f ${KEYS_DIR}/hub_key ] && [ ! -e ${DATA_DIR}/hub_key ]; then ` +
  `cp ${KEYS_DIR}/hub_key ${DATA_DIR}/hub_key && chmod 0600 ${DATA_DIR}/hub_key; fi`;

function hubPodTemplate(inp: RenderInput): K8sObject {
  const n = inp.names;
  const role = roleOf(n);
  const env: K8sObject[] = [
    { name: "VEEN_ROLE", value: role },
    { name: "VEEN_UNIVERSE_ID", value: inp.universeId },
  ];
  if (inp.tenantId !== undefined) env.push({ name: "VEEN_TENANT_ID", value: inp.tenantId });
  if (n.layout === "tenant") env.push({ name: "VEEN_AUTHORITY_URL", value: AUTHORITY_URL });
  env.push({ name: "VEEN_LOG_LEVEL", value: inp.logLevel }, ...runtimeEnv());

  const container: K8sObject = {
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
      "--config",
      CONFIG_FILE,
      "--profile-id",
      inp.profileId,
    ],
    env,
  };
  if (inp.envFile.length > 0) container.envFrom = [{ configMapRef: { name: n.envConfigMap } }];
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

  const dataVolume: K8sObject = n.layout === "hub"
    ? { name: "veen-data", persistentVolumeClaim: { claimName: inp.dataPvc } }
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
          resources: INIT_RESOURCES,
          securityContext: containerSecurityContext(),
          volumeMounts: [
            { name: "veen-config", mountPath: CONFIG_DIR, readOnly: true },
            { name: "veen-data", mountPath: DATA_DIR },
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

function namespaceObject(inp: RenderInput): K8sObject {
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

function rbac(inp: RenderInput): K8sObject[] {
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
function operatorClusterRole(inp: RenderInput): K8sObject {
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

function configMaps(inp: RenderInput): K8sObject[] {
  const n = inp.names;
  const out: K8sObject[] = [
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
function secretTemplate(inp: RenderInput): K8sObject {
  const n = inp.names;
  const m = meta(inp, n.secret, "hub");
  m.annotations["veen.io/secret-template"] = "true";
  m.annotations["veen.io/expected-keys"] = "hub_key";
  return { apiVersion: "v1", kind: "Secret", metadata: m, type: "Opaque" };
}

function pvc(inp: RenderInput): K8sObject {
  const n = inp.names;
  const spec: K8sObject = {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: inp.storage ?? DEFAULT_STORAGE } },
  };
  if (inp.storageClass !== undefined) spec.storageClassName = inp.storageClass;
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: meta(inp, n.pvc, "hub"), spec };
}

function workload(inp: RenderInput): K8sObject {
  const n = inp.names;
  const m = meta(inp, n.workload, "hub");
  m.annotations["veen.io/config-hash"] = configHash(inp);
  if (n.layout === "hub") m.annotations["veen.io/data-pvc"] = inp.dataPvc;
  const spec: K8sObject = {
    replicas: inp.replicas,
    revisionHistoryLimit: 3,
    selector: { matchLabels: hubSelector(n) },
  };
  if (n.workloadKind === "StatefulSet") {
    Object.assign(spec, {
      serviceName: n.service,
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate" },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    });
  } else {
    // One writer per data directory: never run the old and the new pod side by side.
    spec.strategy = { type: "Recreate" };
  }
  spec.template = hubPodTemplate(inp);
  return { apiVersion: "apps/v1", kind: n.workloadKind, metadata: m, spec };
}

function service(inp: RenderInput): K8sObject {
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
function networkPolicy(inp: RenderInput): K8sObject {
  const n = inp.names;
  const from: K8sObject[] = n.layout === "authority"
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

/** spec 000 §8: `veen selftest core --hub URL` against the deployed hub. */
function selftestJobSpec(inp: RenderInput): K8sObject {
  const n = inp.names;
  const env: K8sObject[] = [
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
            args: ["selftest", "core", "--hub", n.localUrl],
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

function selftestJob(inp: RenderInput): K8sObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(inp, inp.names.selftestJob, "selftest"),
    spec: selftestJobSpec(inp),
  };
}

function selftestCronJob(inp: RenderInput): K8sObject {
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

/** The manifests, in the fixed order. */
export function renderObjects(inp: RenderInput): K8sObject[] {
  const n = inp.names;
  const profile = n.layout !== "hub";
  const out: K8sObject[] = [];
  if (inp.includeNamespace) out.push(namespaceObject(inp));
  out.push(...rbac(inp));
  if (n.layout === "authority") out.push(operatorClusterRole(inp));
  out.push(...configMaps(inp), secretTemplate(inp));
  if (n.layout === "authority" || (n.layout === "tenant" && inp.storage !== undefined)) out.push(pvc(inp));
  out.push(workload(inp), service(inp));
  if (profile) out.push(networkPolicy(inp), selftestJob(inp), selftestCronJob(inp));
  return out;
}

export interface RenderFlags {
  profile?: string | undefined;
  clusterContext?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  image?: string | undefined;
  dataPvc?: string | undefined;
  replicas?: number | undefined;
  resourcesCpu?: string | undefined;
  resourcesMem?: string | undefined;
  profileId?: string | undefined;
  config?: string | undefined;
  envFile?: string | undefined;
  podAnnotations?: string | undefined;
  universeId?: string | undefined;
  tenantId?: string | undefined;
  keysSecret?: string | undefined;
  logLevel?: string | undefined;
  noNamespace?: boolean | undefined;
  storage?: string | undefined;
  storageClass?: string | undefined;
  selftestSchedule?: string | undefined;
  allowFromLabel?: string[] | undefined;
}

/** Validates flags, reads the files they name and builds the RenderInput. */
export async function renderInput(f: RenderFlags): Promise<RenderInput> {
  if (f.image === undefined) throw usage("Missing required flag --image");
  const image = checkImage(f.image);
  const keysSecret = f.keysSecret === undefined ? undefined : checkSubdomain(f.keysSecret, "keys-secret");
  let names: HubNames;
  let dataPvc: string | undefined;
  let tenantId: string | undefined;
  if (f.profile === undefined) {
    if (f.namespace === undefined) throw usage("Missing required flag --namespace");
    if (f.name === undefined) throw usage("Missing required flag --name (or --profile authority|tenant)");
    if (f.dataPvc === undefined) throw usage("Missing required flag --data-pvc");
    names = hubLayoutNames(f.namespace, f.name, keysSecret);
    dataPvc = checkSubdomain(f.dataPvc, "data-pvc");
    if (f.tenantId !== undefined) tenantId = checkDnsLabel(f.tenantId, "tenant-id");
    for (
      const [flag, v] of [["storage", f.storage], ["storage-class", f.storageClass], [
        "selftest-schedule",
        f.selftestSchedule,
      ]]
    ) {
      if (v !== undefined) throw usage(`--${flag} applies to --profile authority|tenant only`);
    }
    if ((f.allowFromLabel ?? []).length > 0) {
      throw usage("--allow-from-label applies to --profile authority|tenant only");
    }
  } else {
    if (f.name !== undefined) throw usage("--name and --profile are exclusive: the profile fixes the names");
    if (f.dataPvc !== undefined) {
      throw usage("--data-pvc applies without --profile; profiles name their PVC (use --storage)");
    }
    if (f.profile === "authority") {
      if (f.tenantId !== undefined) throw usage("--tenant-id applies to --profile tenant only");
      names = authorityNames(keysSecret);
    } else if (f.profile === "tenant") {
      if (f.tenantId === undefined) throw usage("--profile tenant needs --tenant-id");
      names = tenantNames(f.tenantId, keysSecret);
      tenantId = f.tenantId;
    } else {
      throw usage(`--profile must be authority or tenant, not "${f.profile}"`);
    }
    if (f.namespace !== undefined && f.namespace !== names.namespace) {
      throw usage(`--profile ${f.profile} lives in namespace ${names.namespace}, not "${f.namespace}"`);
    }
  }
  const replicas = f.replicas ?? 1;
  if (replicas > 1) {
    throw usage(
      "--replicas must be 0 or 1: a hub is the single writer of its data directory (spec 000 §5.2)",
    );
  }
  const cpu = parseResources(f.resourcesCpu ?? DEFAULT_CPU, "resources-cpu");
  const mem = parseResources(f.resourcesMem ?? DEFAULT_MEM, "resources-mem");

  let configText: string | undefined;
  let config: ReturnType<typeof configSettings> = { profileId: undefined, logLevel: undefined };
  if (f.config !== undefined) {
    configText = await readUserFile(f.config, "--config file");
    config = configSettings(configText, f.config);
  }
  const profileId = checkProfileId(f.profileId ?? config.profileId ?? DEFAULT_PROFILE_ID_HEX);
  configText ??= generatedConfig(profileId);
  const logLevel = f.logLevel ?? config.logLevel ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw usage(`--log-level must be debug, info, warn or error, not "${logLevel}"`);
  }
  const envFile = f.envFile === undefined
    ? []
    : parseEnvFile(await readUserFile(f.envFile, "--env-file"), f.envFile);
  const podAnnotations = f.podAnnotations === undefined
    ? []
    : parseAnnotations(await readUserFile(f.podAnnotations, "--pod-annotations file"), f.podAnnotations);
  const universeId = checkLabelValue(f.universeId ?? "default", "universe-id");
  if (universeId === "") throw usage("--universe-id must not be empty");
  const schedule = f.selftestSchedule ?? DEFAULT_SELFTEST_SCHEDULE;
  if (schedule.trim().split(/\s+/).length !== 5) {
    throw usage(`--selftest-schedule must be a 5-field cron expression, not "${schedule}"`);
  }

  const inp: RenderInput = {
    names,
    image,
    replicas,
    cpu,
    mem,
    profileId,
    logLevel,
    configText,
    envFile,
    podAnnotations,
    universeId,
    includeNamespace: f.noNamespace !== true,
    selftestSchedule: schedule,
    allowFrom: (f.allowFromLabel ?? []).map(parseLabelSelector),
  };
  if (dataPvc !== undefined) inp.dataPvc = dataPvc;
  if (tenantId !== undefined) inp.tenantId = tenantId;
  if (f.storage !== undefined) inp.storage = checkQuantity(f.storage, "storage");
  if (f.storageClass !== undefined) inp.storageClass = checkSubdomain(f.storageClass, "storage-class");
  return inp;
}
