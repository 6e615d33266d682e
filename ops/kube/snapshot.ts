/**
 * `veen kube backup` and `veen kube restore` (CLI-GOALS-3 §2.7, docs/operations.md "Back up and restore"), on top
 * of `veen hub backup` and `veen hub restore` run inside the cluster through kubectl:
 *
 * backup: in a running hub pod, `veen hub backup --hub http://127.0.0.1:8080 --hub-key DATA/hub_key --out
 * /tmp/veen-backup-SNAP` (POST /admin/backup to the hub's own HTTP endpoint, while it serves), then the file is
 * copied out (`kubectl exec ... cat`) to the target URI, its SHA-256 and size checked against what the pod
 * reported, and the pod's copy removed.
 *
 * restore: the workload is scaled to zero and its pods waited for (`kubectl wait --for=delete`); a pod
 * `veen-restore-NAME` with the hub's image mounts the data PVC; the file is copied in, checked (`veen hub restore
 * --check`), the old data removed only with `--replace-data` (the explicit flag destructive commands need), and
 * `veen hub restore` writes and verifies the data dir. The restore pod is deleted and the workload scaled back to
 * its replicas whatever happened; after `kubectl rollout status`, each label's last_stream_seq and mmr_root from
 * the hub's /healthz (what `veen hub status` reports, read through the API server proxy) must equal the backup's
 * metadata, else exit 4.
 *
 * The target/source URI is a local file: a path or `file://PATH`.
 */
import { createHash } from "node:crypto";
import { EXIT, toHex } from "../../core/mod.ts";
import type { Flags } from "../../cmd/mod.ts";
import { check, malformed, type Mode, type OpsIo, result, usage } from "../io.ts";
import { checkDnsLabel, HUB_PORT, type HubNames, hubSelector, selectorString } from "../kube_names.ts";
import { DATA_DIR } from "../kube_render.ts";
import { Kubectl, kubectlError } from "../kubectl.ts";
import { addressNames, podsOf } from "./cluster.ts";

interface BackupLabel {
  label: string;
  last_stream_seq: number;
  mmr_root: string;
}

/** The local path of a `file://` URI or a plain path. */
function localPath(uri: string, flag: string): string {
  if (uri.startsWith("file://")) {
    const p = decodeURIComponent(new URL(uri).pathname);
    if (p === "" || p === "/") throw usage(`--${flag} ${uri} names no file`);
    return p;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) {
    throw usage(`--${flag} must be a file path or a file:// URI, not ${uri}`);
  }
  return uri;
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    const j = JSON.parse(text);
    if (typeof j === "object" && j !== null) return j;
  } catch { /* below */ }
  throw malformed(`${what} printed something that is not a JSON object`);
}

/** The running hub pods of `n`, by name. */
async function runningPods(k: Kubectl, n: HubNames): Promise<string[]> {
  const pods = await podsOf(k, n.namespace, selectorString(hubSelector(n)));
  return pods.filter((p) => p?.status?.phase === "Running").map((p) => String(p.metadata.name));
}

async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  const f = await Deno.open(path, { read: true });
  for await (const chunk of f.readable) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: toHex(new Uint8Array(h.digest())), bytes };
}

/** Prints `fields`, the backup metadata's identity fields and its labels (one line each in text mode). */
function report(
  io: OpsIo,
  mode: Mode,
  fields: Record<string, unknown>,
  meta: Record<string, unknown>,
  labelsTitle: string,
): void {
  const labels = (meta.labels ?? []) as BackupLabel[];
  const json = {
    ...fields,
    created_at: meta.created_at,
    hub_id: meta.hub_id,
    profile_id: meta.profile_id,
    entries: meta.entries,
    labels,
  };
  result(io, mode, json, [
    ...Object.entries(json).filter(([key]) => key !== "labels").map(([key, v]) => `${key}: ${v}`),
    `labels: ${labels.length}${labelsTitle}`,
    ...labels.map((l) => `  ${l.label}  last_stream_seq=${l.last_stream_seq}  mmr_root=${l.mmr_root}`),
  ]);
}

/** What both commands take: kubectl, the hub, the snapshot's name, the file's URI and local path. */
function snapshotArgs(io: OpsIo, f: Flags, mode: Mode, uriFlag: "target-uri" | "source-uri") {
  const k = new Kubectl(io, f.req("cluster-context"), mode.verbose);
  const n = addressNames(f);
  const snap = checkDnsLabel(f.req("snapshot-name"), "snapshot-name");
  const uri = f.req(uriFlag);
  return { k, n, snap, uri, path: localPath(uri, uriFlag) };
}

export async function backup(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const { k, n, snap, uri, path: target } = snapshotArgs(io, f, mode, "target-uri");
  if (await exists(target)) throw check("E.DUP", `Backup target ${target} already exists`);
  const pod = (await runningPods(k, n))[0];
  if (pod === undefined) {
    throw check("E.UNAVAILABLE", `No running pod of ${n.workload} in ${n.namespace} to back up`);
  }
  const remote = `/tmp/veen-backup-${snap}`;
  const ns = { namespace: n.namespace };
  const inPod = ["exec", pod, "-c", "hub", "--"];
  const meta = parseJson(
    await k.ok(
      [
        ...inPod,
        "veen",
        "hub",
        "backup",
        "--hub",
        `http://127.0.0.1:${HUB_PORT}`,
        "--hub-key",
        `${DATA_DIR}/hub_key`,
        "--out",
        remote,
        "--json",
      ],
      "veen hub backup",
      ns,
    ),
    "veen hub backup",
  );
  const partial = `${target}.partial`;
  try {
    await Deno.remove(partial).catch(() => {});
    const res = await k.files([...inPod, "cat", remote], { ...ns, stdoutFile: partial });
    if (res.code !== 0) throw kubectlError(res, "copying the backup out of the pod");
    const got = await sha256File(partial);
    if (got.sha256 !== meta.sha256 || got.bytes !== meta.bytes) {
      throw check(
        "E.SIZE",
        `The copy of the backup differs from the pod's (${got.bytes} bytes, sha256 ${got.sha256})`,
      );
    }
    await Deno.rename(partial, target);
  } finally {
    await Deno.remove(partial).catch(() => {});
    await k.run([...inPod, "rm", "-f", remote], ns);
  }
  report(
    io,
    mode,
    {
      snapshot_name: snap,
      target_uri: uri,
      path: target,
      pod,
      bytes: meta.bytes,
      sha256: meta.sha256,
    },
    meta,
    "",
  );
  return EXIT.OK;
}

/**
 * The restore pod: the hub's image, pod and container security contexts (so the restored files belong to the user
 * the hub runs as), with the data PVC mounted where the hub has it.
 */
// deno-lint-ignore no-explicit-any
function restorePod(name: string, namespace: string, image: string, pvc: string, podSpec: any, hub: any) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { "app.kubernetes.io/name": "veen-restore" } },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      ...(podSpec?.securityContext === undefined ? {} : { securityContext: podSpec.securityContext }),
      containers: [{
        name: "restore",
        image,
        command: ["sleep", "3600"],
        ...(hub?.securityContext === undefined ? {} : { securityContext: hub.securityContext }),
        volumeMounts: [{ name: "veen-data", mountPath: DATA_DIR }, { name: "tmp", mountPath: "/tmp" }],
      }],
      volumes: [{ name: "veen-data", persistentVolumeClaim: { claimName: pvc } }, {
        name: "tmp",
        emptyDir: {},
      }],
    },
  };
}

export async function restore(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const { k, n, snap, uri, path: source } = snapshotArgs(io, f, mode, "source-uri");
  if (!(await exists(source))) throw check("E.NOT_FOUND", `Backup source ${source} does not exist`);
  const ns = { namespace: n.namespace };
  const ref = `${n.workloadKind.toLowerCase()}/${n.workload}`;
  const w = await k.json(["get", ref], `kubectl get ${ref}`, ns);
  const replicas = typeof w?.spec?.replicas === "number" ? w.spec.replicas : 1;
  const podSpec = w?.spec?.template?.spec;
  // deno-lint-ignore no-explicit-any
  const hub = podSpec?.containers?.find((c: any) => c?.name === "hub");
  const image = hub?.image;
  // deno-lint-ignore no-explicit-any
  const pvc = podSpec?.volumes?.find((v: any) => v?.name === "veen-data")?.persistentVolumeClaim?.claimName;
  if (typeof image !== "string") throw malformed(`${ref} has no hub container`);
  if (typeof pvc !== "string") {
    throw check(
      "E.UNAVAILABLE",
      `${ref} keeps its data in no PersistentVolumeClaim: nothing to restore into`,
    );
  }
  const pod = `veen-restore-${n.workload}`.slice(0, 63).replace(/-+$/, "");
  const remote = `/tmp/veen-restore-${snap}`;
  const inPod = ["exec", pod, "-c", "restore", "--"];
  const sel = selectorString(hubSelector(n));
  await k.ok(["scale", ref, "--replicas=0"], `kubectl scale ${ref}`, ns);
  let restored: Record<string, unknown>;
  try {
    await k.ok(
      ["wait", "--for=delete", "pod", "-l", sel, "--timeout=300s"],
      "waiting for the hub pods to stop",
      ns,
    );
    await k.ok(["apply", "-f", "-"], "kubectl apply (restore pod)", {
      ...ns,
      stdin: JSON.stringify(restorePod(pod, n.namespace, image, pvc, podSpec, hub)),
    });
    await k.ok(
      ["wait", "--for=condition=Ready", `pod/${pod}`, "--timeout=300s"],
      "waiting for the restore pod",
      ns,
    );
    const up = await k.files(["exec", "-i", pod, "-c", "restore", "--", "sh", "-c", `cat > ${remote}`], {
      ...ns,
      stdinFile: source,
    });
    if (up.code !== 0) throw kubectlError(up, "copying the backup into the restore pod");
    const veenRestore = ["veen", "hub", "restore", "--backup", remote, "--data-dir", DATA_DIR, "--json"];
    await k.ok([...inPod, ...veenRestore, "--check"], "veen hub restore --check", ns);
    if (f.bool("replace-data")) {
      await k.ok(
        [
          ...inPod,
          "sh",
          "-c",
          `find ${DATA_DIR} -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +`,
        ],
        "removing the old data",
        ns,
      );
    }
    restored = parseJson(await k.ok([...inPod, ...veenRestore], "veen hub restore", ns), "veen hub restore");
  } finally {
    await k.run(["delete", `pod/${pod}`, "--ignore-not-found"], ns);
    await k.ok(["scale", ref, `--replicas=${replicas}`], `kubectl scale ${ref}`, ns);
  }
  await k.ok(["rollout", "status", ref, "--timeout=300s"], `kubectl rollout status ${ref}`, ns);
  const labels = (restored.labels ?? []) as BackupLabel[];
  const serving = await runningPods(k, n);
  if (serving.length === 0) throw check("E.UNAVAILABLE", `No running pod of ${n.workload} after the restore`);
  const mismatches: string[] = [];
  for (const p of serving) {
    for (const l of labels) {
      const raw = `/api/v1/namespaces/${n.namespace}/pods/${p}:${HUB_PORT}/proxy/healthz?label=${l.label}`;
      const h = parseJson(await k.ok(["get", "--raw", raw], `/healthz of ${p}`), `/healthz of ${p}`);
      if (h.last_stream_seq !== l.last_stream_seq || h.last_mmr_root !== l.mmr_root) {
        mismatches.push(
          `${p}: label ${l.label} has last_stream_seq ${h.last_stream_seq} mmr_root ${h.last_mmr_root}, ` +
            `the backup ${l.last_stream_seq} ${l.mmr_root}`,
        );
      }
    }
  }
  if (mismatches.length > 0) {
    throw check(
      "E.CHECK",
      `The restored hub does not match the backup metadata: ${mismatches[0]}`,
      mismatches,
    );
  }
  report(
    io,
    mode,
    {
      snapshot_name: snap,
      source_uri: uri,
      workload: ref,
      namespace: n.namespace,
      replicas,
      data_pvc: pvc,
      replaced_data: f.bool("replace-data"),
      verified_pods: serving,
    },
    restored,
    " (verified)",
  );
  return EXIT.OK;
}
