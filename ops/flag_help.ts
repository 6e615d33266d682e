/**
 * One line of help per flag of `veen env` and `veen kube` (what `--help` prints next to each flag); the
 * subcommand's usage text and details say how flags combine. A flag whose meaning depends on the subcommand has
 * an entry `"SUB FLAG"` (e.g. "env init name") before the plain one.
 */
const FLAG_HELP: Readonly<Record<string, string>> = {
  "allow-from-label": "extra pod label k=v[,k=v] the profile's NetworkPolicy admits",
  body: "JSON body of the message the Job sends",
  "cap-secret": "Secret holding cap.cbor, mounted at /var/lib/veen-cap",
  "client-secret": "Secret holding the client's keystore.enc and identity_card.pub (and state.json)",
  "cluster-context": "kubectl context of the cluster",
  config: "hub-config.toml for the hub's ConfigMap",
  "data-pvc": "PersistentVolumeClaim holding the hub's data dir",
  description: "free-text description of the environment",
  "dry-run": "print the Job manifest instead of creating it",
  env: "environment descriptor file (ROOT/NAME.env.json)",
  "env-file": "KEY=VALUE lines added to the container environment",
  file: "manifests to apply (YAML or a JSON array)",
  follow: "keep streaming",
  "hub-name": "name of the hub entry in the descriptor",
  "hub-service": "hub Service DNS name, with :PORT if not 80",
  image: "container image that runs veen",
  "job-name": "Job name (default veen-job-ACTION-<hash>)",
  "keys-secret": "name of the hub keys Secret (default: the layout's NAME-keys)",
  "label-class": "user, wallet, log, admin or bulk (default user)",
  "log-level": "hub log level: debug, info, warn or error",
  "env init name": "environment name (the file is ROOT/NAME.env.json)",
  name: "hub name (workload veen-hub-NAME)",
  namespace: "Kubernetes namespace",
  "no-namespace": "leave the Namespace object out",
  pod: "one pod instead of every hub pod",
  "pod-annotations": "JSON object of extra pod annotations",
  profile: "spec 000 layout: authority or tenant",
  "profile-id": "the hub's profile_id (64 hex)",
  realm: "realm_id of the hub (64 hex)",
  replicas: "0 or 1 (default 1)",
  "resources-cpu": "CPU request[,limit] (default 250m,1)",
  "resources-mem": "memory request[,limit] (default 256Mi,512Mi)",
  root: "directory of the descriptor files",
  "selftest-schedule": "cron schedule of the profile's selftest CronJob",
  "service-url": "hub URL clients use (http(s)://HOST:PORT)",
  since: "only logs newer than this duration (default 1h)",
  "snapshot-name": "name of the snapshot (a DNS label; names its temporary files in the pods)",
  "source-uri": "the backup file to restore: a path or file:// URI",
  "state-pvc": "PersistentVolumeClaim for the client dir, so state survives (default: an emptyDir)",
  storage: "size of the profile's data PVC",
  "storage-class": "StorageClass of the profile's data PVC",
  stream: "stream name",
  "stream-prefix": "stream name prefix of the tenant",
  "target-uri": "the backup file to write (must not exist): a path or file:// URI",
  "tenant-id": "tenant id (profile tenant: namespace veen-tenant-ID)",
  "job send timeout-ms": "HTTP timeout of the veen send in the Job",
  "universe-id": "universe_id in the hub config (default: default)",
  "wait-seconds": "how long to wait for readiness or completion",
  from: "first stream_seq to read",
  "with-proof": "fetch and verify an inclusion proof per item",
  "purge-pvcs": "also delete the data PVC",
  "replace-data": "remove the data already in the PVC before restoring (without it such a PVC is refused)",
};

/** The help line of flag `flag` of `veen TOOL SUB` ("" when there is none). */
export function flagHelpText(tool: string, sub: string, flag: string): string {
  return FLAG_HELP[`${tool} ${sub} ${flag}`] ?? FLAG_HELP[`${sub} ${flag}`] ?? FLAG_HELP[flag] ?? "";
}
