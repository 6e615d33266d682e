/**
 * Bridge workloads (spec 000 §6): a Deployment `veen-bridge-<name>` running `veen bridge --from SOURCE --to TARGET
 * [--stream S]... [--replicate] --follow` with `VEEN_ROLE=bridge`, and its ConfigMap `veen-bridge-<name>-config`
 * (the bridge's settings, informational; their hash rolls the pod). Names derive from the namespace and the bridge
 * name only, so applying the same bridge twice updates the same two objects (spec 000 §6.4: the bridge resumes from
 * the target's head, so a second copy of a message is never submitted). A tenant's admin bridge
 * (`veen kube render --profile tenant --admin-bridge`) is the bridge `admin` from the authority to the tenant hub.
 */
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import { createHash } from "node:crypto";
import { VERSION } from "../version.ts";
import { usage } from "./io.ts";
import {
  AUTHORITY_URL,
  type BridgeNames,
  bridgeNames,
  bridgeSelector,
  tenantNamespace,
} from "./kube_names.ts";
import {
  annotations,
  containerSecurityContext,
  type Manifest,
  podSecurityContext,
  type RenderInput,
  renderObjects,
  runtimeEnv,
} from "./kube_render.ts";
import { checkImage, checkLabelValue } from "./kube_render_input.ts";

export interface BridgeInput {
  names: BridgeNames;
  image: string;
  from: string;
  to: string;
  /** Streams to mirror (`--stream`); empty: replicate every label the target replicates from the source. */
  streams: string[];
  replicate: boolean;
  universeId: string;
  tenantId?: string;
}

function labels(b: BridgeInput): Record<string, string> {
  const l: Record<string, string> = {
    ...bridgeSelector(b.names),
    "app.kubernetes.io/name": "veen-bridge",
    "app.kubernetes.io/instance": b.names.bridgeName,
    "app.kubernetes.io/version": VERSION,
    "app.kubernetes.io/component": "bridge",
    "app.kubernetes.io/part-of": "veen",
    "app.kubernetes.io/managed-by": "veen",
    "veen.io/role": "bridge",
    "veen.io/universe-id": b.universeId,
  };
  if (b.tenantId !== undefined) l["veen.io/tenant-id"] = b.tenantId;
  return l;
}

function bridgeArgs(b: BridgeInput): string[] {
  return [
    "bridge",
    "--from",
    b.from,
    "--to",
    b.to,
    ...b.streams.flatMap((s) => ["--stream", s]),
    ...(b.replicate ? ["--replicate"] : []),
    "--follow",
  ];
}

function settings(b: BridgeInput): string {
  return [
    "# VEEN bridge (spec 000 §6); informational, the Deployment's arguments are what runs.",
    `source_url: "${b.from}"`,
    `target_url: "${b.to}"`,
    `streams: [${b.streams.map((s) => JSON.stringify(s)).join(", ")}]`,
    `replicate: ${b.replicate}`,
    "",
  ].join("\n");
}

/** The ConfigMap and Deployment of one bridge. */
export function bridgeObjects(b: BridgeInput): [IConfigMap, IDeployment] {
  const n = b.names;
  const meta = (name: string) => ({
    name,
    namespace: n.namespace,
    labels: labels(b),
    annotations: annotations("bridge", b.tenantId === undefined ? {} : { "veen.io/tenant-id": b.tenantId }),
  });
  const data = { "bridge.yaml": settings(b) };
  const hash = createHash("sha256").update(data["bridge.yaml"]).digest("hex");
  const env: IEnvVar[] = [
    { name: "VEEN_ROLE", value: "bridge" },
    { name: "VEEN_UNIVERSE_ID", value: b.universeId },
  ];
  if (b.tenantId !== undefined) env.push({ name: "VEEN_TENANT_ID", value: b.tenantId });
  env.push(...runtimeEnv());
  const deployMeta = meta(n.workload);
  deployMeta.annotations["veen.io/config-hash"] = hash;
  return [
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(n.configMap), data },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: deployMeta,
      spec: {
        replicas: 1,
        revisionHistoryLimit: 3,
        // One bridge per target: never two copies side by side.
        strategy: { type: "Recreate" },
        selector: { matchLabels: bridgeSelector(n) },
        template: {
          metadata: {
            labels: labels(b),
            annotations: annotations("bridge", {
              "veen.io/config-hash": hash,
              "kubectl.kubernetes.io/default-container": "bridge",
            }),
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurityContext(),
            containers: [{
              name: "bridge",
              image: b.image,
              imagePullPolicy: "IfNotPresent",
              command: ["veen"],
              args: bridgeArgs(b),
              env,
              resources: {
                requests: { cpu: "50m", memory: "128Mi" },
                limits: { cpu: "500m", memory: "256Mi" },
              },
              securityContext: containerSecurityContext(),
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            }],
            volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
          },
        },
      },
    },
  ];
}

/** A hub's manifests (ops/kube_render.ts), then a tenant's admin bridge when `--admin-bridge` asks for it. */
export function renderAll(inp: RenderInput): Manifest[] {
  const out = renderObjects(inp);
  if (inp.names.layout === "tenant" && inp.adminBridge) out.push(...tenantAdminBridge(inp));
  return out;
}

/** A tenant's admin bridge: authority → tenant hub, replicating (docs/federation.md "Tenant hubs"). */
export function tenantAdminBridge(inp: RenderInput): [IConfigMap, IDeployment] {
  const b: BridgeInput = {
    names: bridgeNames(inp.names.namespace, "admin"),
    image: inp.image,
    from: AUTHORITY_URL,
    to: inp.names.localUrl,
    streams: [],
    replicate: true,
    universeId: inp.universeId,
  };
  if (inp.tenantId !== undefined) b.tenantId = inp.tenantId;
  return bridgeObjects(b);
}

export interface BridgeFlags {
  bridge: string;
  namespace?: string | undefined;
  tenantId?: string | undefined;
  image?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  streams: string[];
  replicate: boolean;
  universeId?: string | undefined;
}

const HUB_URL = /^https?:\/\/[^\s/]+(\/[^\s]*)?$/;

/**
 * Validates `veen kube render --bridge NAME` flags: the namespace is --namespace, or the tenant's with --tenant-id
 * (then labelled with it); --from and --to are hub URLs; every problem is a usage error naming the flag.
 */
export function bridgeInput(f: BridgeFlags): BridgeInput {
  if (f.image === undefined) throw usage("Missing required flag --image");
  if (f.from === undefined || !HUB_URL.test(f.from)) {
    throw usage(`--from must be a hub URL, not "${f.from ?? ""}"`);
  }
  if (f.to === undefined || !HUB_URL.test(f.to)) throw usage(`--to must be a hub URL, not "${f.to ?? ""}"`);
  if (f.from === f.to) throw usage("--from and --to name the same hub");
  let namespace: string;
  if (f.tenantId !== undefined) {
    namespace = tenantNamespace(f.tenantId);
    if (f.namespace !== undefined && f.namespace !== namespace) {
      throw usage(`--tenant-id ${f.tenantId} lives in namespace ${namespace}, not "${f.namespace}"`);
    }
  } else if (f.namespace !== undefined) {
    namespace = f.namespace;
  } else {
    throw usage("--bridge needs --namespace or --tenant-id");
  }
  for (const s of f.streams) {
    if (s === "" || /\s/.test(s)) throw usage(`--stream must be a stream name, not "${s}"`);
  }
  const b: BridgeInput = {
    names: bridgeNames(namespace, f.bridge),
    image: checkImage(f.image),
    from: f.from,
    to: f.to,
    streams: [...f.streams],
    replicate: f.replicate,
    universeId: checkLabelValue(f.universeId ?? "default", "universe-id"),
  };
  if (f.tenantId !== undefined) b.tenantId = f.tenantId;
  return b;
}
