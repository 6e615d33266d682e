/**
 * Disposable client Jobs (CLI-GOALS-3 §3): `veen kube job send|stream` run `veen send` / `veen stream` once in a
 * Kubernetes Job with the same image and wait for it.
 *
 * Pod layout. The client Secret (keystore.enc, identity_card.pub, optionally state.json and passphrase) is mounted
 * read-only at /var/lib/veen-secrets/client; an init container copies the key files into /var/lib/veen-client (an
 * emptyDir, or the --state-pvc claim so ACK state survives), because Secret volumes are read-only while `veen send`
 * and `veen stream` write state.json (spec 000 §7.2 "copies keystores from Secrets", §9.3 "never write back into
 * Secrets"). state.json from the Secret is copied only when the state volume has none. The cap Secret is mounted at
 * /var/lib/veen-cap (key cap.cbor). The keystore passphrase comes from the client Secret's optional `passphrase` key
 * as $VEEN_PASSPHRASE. --env-file entries become container environment variables.
 */
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { IVolumeMount } from "kubernetes-models/v1/VolumeMount";
import { createHash } from "node:crypto";
import { VERSION } from "../version.ts";
import {
  annotations,
  containerSecurityContext,
  INIT_RESOURCES,
  podSecurityContext,
  runtimeEnv,
} from "./kube_render.ts";

const CLIENT_DIR = "/var/lib/veen-client";
const CLIENT_SECRET_DIR = "/var/lib/veen-secrets/client";
const CAP_DIR = "/var/lib/veen-cap";
const CAP_FILE = `${CAP_DIR}/cap.cbor`;
export const DEFAULT_JOB_IMAGE = `veen:${VERSION}`;

export interface JobInput {
  action: "send" | "stream";
  name: string;
  namespace: string;
  image: string;
  hubUrl: string;
  clientSecret: string;
  stream: string;
  body?: string;
  capSecret?: string;
  profileId?: string;
  timeoutMs?: number;
  from?: number;
  withProof?: boolean;
  statePvc?: string;
  env: [string, string][];
  universeId: string;
  tenantId?: string;
  /** activeDeadlineSeconds: the Job stops when the CLI stops waiting. */
  deadlineSeconds: number;
}

/** `http://HUB_SERVICE_DNS` (a value that already has a scheme is kept). */
export function hubUrlOf(service: string): string {
  return /^https?:\/\//.test(service) ? service : `http://${service}`;
}

/** veen-job-ACTION-<10 hex>: a digest of the request and the time, so two sends of one body are two Jobs. */
export function jobName(action: string, parts: unknown, nowMs: number): string {
  const h = createHash("sha256").update(JSON.stringify({ parts, nowMs })).digest("hex");
  return `veen-job-${action}-${h.slice(0, 10)}`;
}

/** The container arguments: exactly `veen send ...` / `veen stream ...` of CLI-GOALS-3 §3.2-3.3. */
function jobArgs(inp: JobInput): string[] {
  const args = [inp.action, "--hub", inp.hubUrl, "--client", CLIENT_DIR, "--stream", inp.stream];
  if (inp.action === "send") {
    args.push("--body", inp.body ?? "");
    if (inp.capSecret !== undefined) args.push("--cap", CAP_FILE);
    if (inp.profileId !== undefined) args.push("--profile-id", inp.profileId);
    if (inp.timeoutMs !== undefined) args.push("--timeout-ms", String(inp.timeoutMs));
  } else {
    if (inp.from !== undefined) args.push("--from", String(inp.from));
    if (inp.withProof === true) args.push("--with-proof");
  }
  return args;
}

const COPY_CLIENT = [
  "set -eu",
  `src=${CLIENT_SECRET_DIR}`,
  `dst=${CLIENT_DIR}`,
  'for f in keystore.enc identity_card.pub; do cp "$src/$f" "$dst/$f"; done',
  'if [ -f "$src/state.json" ] && [ ! -e "$dst/state.json" ]; then cp "$src/state.json" "$dst/state.json"; fi',
  'chmod 0700 "$dst" 2>/dev/null || true',
  'chmod 0600 "$dst"/*',
].join("\n");

export function jobObject(inp: JobInput): IJob {
  const labels: Record<string, string> = {
    "app.kubernetes.io/name": "veen-job",
    "app.kubernetes.io/instance": inp.name,
    "app.kubernetes.io/version": VERSION,
    "app.kubernetes.io/component": "cli",
    "app.kubernetes.io/part-of": "veen",
    "app.kubernetes.io/managed-by": "veen",
    "veen.io/role": "cli",
    "veen.io/universe-id": inp.universeId,
  };
  if (inp.tenantId !== undefined) labels["veen.io/tenant-id"] = inp.tenantId;
  labels["veen.io/job"] = inp.action;

  const env: IEnvVar[] = [
    {
      name: "VEEN_PASSPHRASE",
      valueFrom: { secretKeyRef: { name: inp.clientSecret, key: "passphrase", optional: true } },
    },
    ...runtimeEnv(),
    ...inp.env.map(([name, value]) => ({ name, value })),
  ];
  const mounts: IVolumeMount[] = [{ name: "client", mountPath: CLIENT_DIR }];
  if (inp.capSecret !== undefined && inp.action === "send") {
    mounts.push({ name: "cap", mountPath: CAP_DIR, readOnly: true });
  }
  mounts.push({ name: "tmp", mountPath: "/tmp" });

  const volumes: IVolume[] = [
    { name: "client-secret", secret: { secretName: inp.clientSecret, defaultMode: 0o440 } },
    inp.statePvc === undefined
      ? { name: "client", emptyDir: { sizeLimit: "64Mi" } }
      : { name: "client", persistentVolumeClaim: { claimName: inp.statePvc } },
  ];
  if (inp.capSecret !== undefined && inp.action === "send") {
    volumes.push({
      name: "cap",
      secret: {
        secretName: inp.capSecret,
        defaultMode: 0o440,
        items: [{ key: "cap.cbor", path: "cap.cbor" }],
      },
    });
  }
  volumes.push({ name: "tmp", emptyDir: { sizeLimit: "64Mi" } });

  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: inp.name, namespace: inp.namespace, labels, annotations: annotations("cli") },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: inp.deadlineSeconds,
      ttlSecondsAfterFinished: 600,
      template: {
        metadata: {
          labels,
          annotations: annotations("cli", { "kubectl.kubernetes.io/default-container": "veen" }),
        },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(),
          initContainers: [
            {
              name: "client-files",
              image: inp.image,
              imagePullPolicy: "IfNotPresent",
              command: ["sh", "-c", COPY_CLIENT],
              resources: INIT_RESOURCES,
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: "client-secret", mountPath: CLIENT_SECRET_DIR, readOnly: true },
                { name: "client", mountPath: CLIENT_DIR },
              ],
            },
          ],
          containers: [
            {
              name: "veen",
              image: inp.image,
              imagePullPolicy: "IfNotPresent",
              command: ["veen"],
              args: jobArgs(inp),
              env,
              resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
              securityContext: containerSecurityContext(),
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** `stream_seq` and `msg_id` from `veen send` text output. */
export function receiptSummary(logs: string): { stream_seq: number; msg_id: string } | undefined {
  const seq = /^stream_seq: (\d+)\s*$/m.exec(logs);
  const id = /^msg_id: ([0-9a-f]{64})\s*$/m.exec(logs);
  if (seq === null || id === null) return undefined;
  return { stream_seq: Number(seq[1]), msg_id: id[1]! };
}
