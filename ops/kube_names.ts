/**
 * Deterministic Kubernetes names and labels (CLI-GOALS-3 §2.1, spec 000 §3-5), derived only from the namespace and
 * the hub name (or, for the spec 000 profiles, the tenant id):
 *
 * | layout                      | namespace            | workload                        | service        | config / keys / data                           |
 * |-----------------------------|----------------------|---------------------------------|----------------|------------------------------------------------|
 * | `--name NAME` (CLI-GOALS-3) | `--namespace`        | Deployment `veen-hub-NAME`      | `veen-hub-NAME`| `veen-hub-NAME-config` / `-keys` / `--data-pvc`|
 * | `--profile authority`       | `veen-system`        | StatefulSet `veen-authority-hub`| `veen-authority`| `veen-authority-config` / `-keys` / `-data`   |
 * | `--profile tenant`          | `veen-tenant-<id>`   | Deployment `veen-hub`           | `veen-hub`     | `veen-hub-config` / `veen-hub-keys` / `veen-hub-data` |
 *
 * Every hub pod carries `app=veen-hub` and `veen.hub.name=NAME` (NAME is `authority` or the tenant id for the
 * profiles); those two labels are the selector of the workload, the Service and the NetworkPolicy.
 */
import { usage } from "./io.ts";

export const HUB_PORT = 8080;
export const AUTHORITY_NAMESPACE = "veen-system";
const TENANT_NAMESPACE_PREFIX = "veen-tenant-";
export const AUTHORITY_URL = `http://veen-authority.${AUTHORITY_NAMESPACE}.svc.cluster.local:${HUB_PORT}`;

export type Layout = "hub" | "authority" | "tenant";

export interface HubNames {
  layout: Layout;
  namespace: string;
  /** Value of the `veen.hub.name` label. */
  hubName: string;
  workloadKind: "Deployment" | "StatefulSet";
  workload: string;
  service: string;
  serviceAccount: string;
  role: string;
  configMap: string;
  envConfigMap: string;
  secret: string;
  /** The PVC the profile itself renders (authority always, tenant with --storage); hub layout uses --data-pvc. */
  pvc: string;
  networkPolicy: string;
  selftestJob: string;
  selftestCronJob: string;
  /** In-namespace URL of the hub Service (for the selftest Job). */
  localUrl: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkDnsLabel(v: string, flag: string, max = 63): string {
  if (!DNS_LABEL.test(v) || v.length > max) {
    throw usage(
      `--${flag} must be a DNS label (lowercase letters, digits and "-", at most ${max} characters), not "${v}"`,
    );
  }
  return v;
}

export function hubLayoutNames(namespace: string, name: string, keysSecret?: string): HubNames {
  checkDnsLabel(namespace, "namespace");
  // "veen-hub-NAME-config" is the longest derived name and must stay a 63-character label.
  checkDnsLabel(name, "name", 63 - "veen-hub--config".length);
  const base = `veen-hub-${name}`;
  return {
    layout: "hub",
    namespace,
    hubName: name,
    workloadKind: "Deployment",
    workload: base,
    service: base,
    serviceAccount: base,
    role: base,
    configMap: `${base}-config`,
    envConfigMap: `${base}-env`,
    secret: keysSecret ?? `${base}-keys`,
    pvc: "",
    networkPolicy: base,
    selftestJob: `veen-selftest-${name}`,
    selftestCronJob: `veen-selftest-${name}-periodic`,
    localUrl: `http://${base}:${HUB_PORT}`,
  };
}

export function authorityNames(keysSecret?: string): HubNames {
  return {
    layout: "authority",
    namespace: AUTHORITY_NAMESPACE,
    hubName: "authority",
    workloadKind: "StatefulSet",
    workload: "veen-authority-hub",
    service: "veen-authority",
    serviceAccount: "veen-authority",
    role: "veen-authority",
    configMap: "veen-authority-config",
    envConfigMap: "veen-authority-env",
    secret: keysSecret ?? "veen-authority-keys",
    pvc: "veen-authority-data",
    networkPolicy: "veen-authority",
    selftestJob: "veen-selftest-authority",
    selftestCronJob: "veen-selftest-authority-periodic",
    localUrl: `http://veen-authority:${HUB_PORT}`,
  };
}

export function tenantNames(tenantId: string, keysSecret?: string): HubNames {
  checkDnsLabel(tenantId, "tenant-id", 63 - TENANT_NAMESPACE_PREFIX.length);
  return {
    layout: "tenant",
    namespace: TENANT_NAMESPACE_PREFIX + tenantId,
    hubName: tenantId,
    workloadKind: "Deployment",
    workload: "veen-hub",
    service: "veen-hub",
    serviceAccount: "veen-hub",
    role: "veen-hub",
    configMap: "veen-hub-config",
    envConfigMap: "veen-hub-env",
    secret: keysSecret ?? "veen-hub-keys",
    pvc: "veen-hub-data",
    networkPolicy: "veen-hub",
    selftestJob: "veen-selftest-core",
    selftestCronJob: "veen-selftest-core-periodic",
    localUrl: `http://veen-hub:${HUB_PORT}`,
  };
}

/**
 * Names for commands that address a deployed hub (status, logs, delete): `--name NAME` with `--namespace`, or
 * `--profile authority`, or `--profile tenant --tenant-id ID` (whose namespace is implied; a different --namespace
 * is a usage error).
 */
export function namesFromFlags(opts: {
  profile?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  tenantId?: string | undefined;
}): HubNames {
  const { profile, namespace, name, tenantId } = opts;
  if (profile === undefined) {
    if (namespace === undefined || namespace === "") throw usage("Missing required flag --namespace");
    if (name === undefined || name === "") {
      throw usage("Missing required flag --name (or --profile authority|tenant)");
    }
    return hubLayoutNames(namespace, name);
  }
  if (name !== undefined) throw usage("--name and --profile are exclusive: the profile fixes the names");
  let n: HubNames;
  if (profile === "authority") {
    n = authorityNames();
  } else if (profile === "tenant") {
    if (tenantId === undefined || tenantId === "") throw usage("--profile tenant needs --tenant-id");
    n = tenantNames(tenantId);
  } else {
    throw usage(`--profile must be authority or tenant, not "${profile}"`);
  }
  if (namespace !== undefined && namespace !== n.namespace) {
    throw usage(`--profile ${profile} lives in namespace ${n.namespace}, not "${namespace}"`);
  }
  return n;
}

/** The selector of hub pods (CLI-GOALS-3 §2.1). */
export function hubSelector(n: HubNames): Record<string, string> {
  return { app: "veen-hub", "veen.hub.name": n.hubName };
}

export function selectorString(sel: Record<string, string>): string {
  return Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(",");
}

/** Service DNS name and port as `kube apply` prints it. */
export function serviceDns(service: string, namespace: string, port = HUB_PORT): string {
  return `${service}.${namespace}.svc.cluster.local:${port}`;
}

/** A bridge's objects (spec 000 §6.1): Deployment `veen-bridge-NAME`, ConfigMap `veen-bridge-NAME-config`. */
export interface BridgeNames {
  namespace: string;
  bridgeName: string;
  workload: string;
  configMap: string;
}

export function bridgeNames(namespace: string, name: string): BridgeNames {
  checkDnsLabel(namespace, "namespace");
  checkDnsLabel(name, "bridge", 63 - "veen-bridge--config".length);
  return {
    namespace,
    bridgeName: name,
    workload: `veen-bridge-${name}`,
    configMap: `veen-bridge-${name}-config`,
  };
}

/** The selector of a bridge's pods. */
export function bridgeSelector(n: BridgeNames): Record<string, string> {
  return { app: "veen-bridge", "veen.bridge.name": n.bridgeName };
}

/** The namespace of a tenant (spec 000 §5). */
export function tenantNamespace(tenantId: string): string {
  return tenantNames(tenantId).namespace;
}
