/**
 * `veen kube render|apply|status|delete|logs|job send|job stream|backup|restore` (CLI-GOALS-3 §2-3). `render` never contacts a
 * cluster; the others drive `kubectl --context CONTEXT` (ops/kubectl.ts). This file is the command table (flags
 * and help); each subcommand's handler is one file in ops/kube/.
 */
import { dispatch, type FlagSpec, type OpsIo, type Subcommand, type Tool } from "./io.ts";
import { apply } from "./kube/apply.ts";
import { del } from "./kube/delete.ts";
import { job } from "./kube/job.ts";
import { logs } from "./kube/logs.ts";
import { render } from "./kube/render.ts";
import { backup, restore } from "./kube/snapshot.ts";
import { rotateKey } from "./kube/rotate_key.ts";
import { status } from "./kube/status.ts";

const KUBE_HELP = `Usage: veen kube <command> [flags]      (veen kube <command> --help for details)
  render      manifests for a hub (no cluster access): YAML, or a JSON array with --json
  apply       apply a manifest file with kubectl, optionally wait until the hub is ready
  status      workload replicas, pods and per-pod /healthz
  delete      delete a hub's workload, Service, RBAC and ConfigMaps (idempotent; --purge-pvcs for data)
  logs        pass hub pod logs through unchanged
  job send    run "veen send" once in a Kubernetes Job and print the receipt
  job stream  run "veen stream" once in a Kubernetes Job and print its output
  backup      back up a running hub (POST /admin/backup in its pod) to a local file
  restore     scale to zero, restore a backup into the hub's PVC, restart, verify against the backup
  rotate-key  rotate a deployed hub's key through the Secret <keys>-next (spec 000 §11.4)
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
  "admin-bridge": { type: "boolean" },
  bridge: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  stream: { type: "string", multiple: true },
  replicate: { type: "boolean" },
};

const HELP: Record<string, string> = {
  render:
    `Usage: veen kube render --namespace NS --name NAME --image IMAGE --data-pvc PVC [--cluster-context CTX]
         [--replicas 0|1] [--resources-cpu REQ[,LIM]] [--resources-mem REQ[,LIM]] [--profile-id HEX32]
         [--config hub-config.toml] [--env-file FILE] [--pod-annotations FILE.json] [--keys-secret NAME]
         [--universe-id ID] [--tenant-id ID] [--log-level L] [--no-namespace] [--json]
       veen kube render --profile authority|tenant [--tenant-id ID] --image IMAGE [--storage SIZE]
         [--storage-class NAME] [--selftest-schedule CRON] [--allow-from-label k=v[,k=v]]... [--admin-bridge]
         (and the flags above)
       veen kube render --bridge NAME (--namespace NS | --tenant-id ID) --image IMAGE --from URL --to URL
         [--stream NAME]... [--replicate] [--universe-id ID] [--json]
Prints Namespace, ServiceAccount, Role, RoleBinding, ConfigMap(s), Secret template (no key material), Deployment
or StatefulSet and Service (profiles add ClusterRole veen-operator, PVC, NetworkPolicy, selftest Job and CronJob)
as YAML documents, or a JSON array with --json. Identical inputs give identical bytes; nothing contacts a cluster.
Defaults: --resources-cpu ${"250m,1"}, --resources-mem 256Mi,512Mi, --replicas 1, profile_id from --config or the
default profile, --universe-id default. Profiles run "veen hub start --profile authority|tenant --config
/etc/veen/hub.yaml"; a tenant's authority is its admin source, pulled by the hub every 2 s, or with --admin-bridge
by the Deployment veen-bridge-admin. --bridge renders ConfigMap veen-bridge-NAME-config and Deployment
veen-bridge-NAME running "veen bridge --from URL --to URL [--stream S]... [--replicate] --follow" (spec 000 §6).`,
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
       veen kube delete --cluster-context CTX --bridge NAME (--namespace NS | --tenant-id ID) [--json]
Deletes the hub workload, Service, ServiceAccount, Role, RoleBinding and ConfigMaps (profiles: also the
NetworkPolicy and selftest Job/CronJob; a tenant: also its admin bridge). Nothing outside the hub's namespace
is touched. With --bridge: the bridge's Deployment and ConfigMap. The keys Secret is kept. --purge-pvcs also deletes the data PVC (read
from the workload, or named by --data-pvc). Deleting what is already gone exits 0 with "already deleted".`,
  logs: `Usage: veen kube logs --cluster-context CTX (--namespace NS --name NAME | --profile authority|tenant
         [--tenant-id ID]) [--pod POD] [--follow] [--since DURATION]
Passes the hub container's logs through unchanged. Without --pod: every hub pod, one after the other (with
--follow: all of them at once through one label selector). --since defaults to 1h.`,
  backup:
    `Usage: veen kube backup --cluster-context CTX (--namespace NS --name NAME | --profile authority|tenant
         [--tenant-id ID]) --snapshot-name SNAP --target-uri FILE|file://PATH [--json]
Runs "veen hub backup" in a running hub pod (POST /admin/backup to the hub, signed with its key, while it serves),
copies the file out to the target (which must not exist) and checks its SHA-256 and size against the pod's. The
file holds the metadata: profile_id, per-label last_stream_seq and mmr_root, timestamps (docs/operations.md).`,
  restore:
    `Usage: veen kube restore --cluster-context CTX (--namespace NS --name NAME | --profile authority|tenant
         [--tenant-id ID]) --snapshot-name SNAP --source-uri FILE|file://PATH [--replace-data] [--json]
Scales the hub workload to zero and waits for its pods to stop, runs a pod veen-restore-NAME with the hub's image
on its data PVC, checks the backup there, removes the old data (only with --replace-data: without it a PVC that
holds data is refused, exit 4), runs "veen hub restore", deletes the pod and scales the workload back (also after a
failure), waits for the rollout and checks every label's last_stream_seq and mmr_root on /healthz (what
"veen hub status" reports) against the backup's metadata: a mismatch exits 4.`,
  "rotate-key":
    `Usage: veen kube rotate-key --cluster-context CTX (--namespace NS --name NAME | --profile authority|tenant
         [--tenant-id ID]) [--key-file HUB_KEY] [--window-sec N] [--wait-seconds T] [--json]
Spec 000 §11.4: creates Secret <keys>-next (veen-hub-keys-next for a tenant) with a new hub_key (or --key-file;
an existing one is reused), patches the workload to mount it (with --window-sec also VEEN_ROTATION_WINDOW_SEC, the
hub's rotation_window_sec), and with --wait-seconds waits until it is ready. The new pod's init container runs
"veen hub rotate-key --key-file": the old key stays and cosigns CHECKPOINTs for the window (KEX0.1). Render later
manifests with --keys-secret <keys>-next.`,
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

/** `kube backup|restore` (CLI-GOALS-3 §2.7): the hub's address and the snapshot's name. */
const SNAPSHOT_FLAGS: FlagSpec = { ...ADDRESS_FLAGS, "snapshot-name": { type: "string" } };

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
    flags: {
      ...ADDRESS_FLAGS,
      "purge-pvcs": { type: "boolean" },
      "data-pvc": { type: "string" },
      bridge: { type: "string" },
    },
    run: del,
  },
  "rotate-key": {
    flags: {
      ...ADDRESS_FLAGS,
      "key-file": { type: "string" },
      "window-sec": { type: "string" },
      "wait-seconds": { type: "string" },
    },
    run: rotateKey,
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
  backup: { flags: { ...SNAPSHOT_FLAGS, "target-uri": { type: "string" } }, run: backup },
  restore: {
    flags: { ...SNAPSHOT_FLAGS, "source-uri": { type: "string" }, "replace-data": { type: "boolean" } },
    run: restore,
  },
  "job send": { flags: SEND_FLAGS, run: (io, f, m) => job("send", io, f, m) },
  "job stream": { flags: STREAM_FLAGS, run: (io, f, m) => job("stream", io, f, m) },
};

/** `veen kube` as a tool of ops/io.ts (its subcommands, flags and help texts). */
export const KUBE_TOOL: Tool = { name: "kube", help: KUBE_HELP, commands: COMMANDS, helps: HELP };

/** `veen kube ...` with an injectable environment (tests). `args` starts after the word "kube". */
export async function runKube(args: string[], io: OpsIo): Promise<number> {
  return await dispatch(io, KUBE_TOOL, args);
}
