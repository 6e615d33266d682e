/**
 * `veen kube backup|restore` against the recording fake kubectl (ops/testdata/fake_kubectl.ts) whose `exec` runs
 * the real `veen hub backup|restore` here, on a real hub on loopback and a real data dir standing for the pod's
 * PVC: the kubectl calls in order, the copied file, the restored data dir (fsck) and the /healthz check against
 * the backup's metadata. There is no cluster on this machine; the pod side is verified only this way.
 */
import assert from "node:assert/strict";
import { fsck, selfCommand } from "../hub/mod.ts";
import { startTestHub, submit, Writer } from "../tests/fixture.ts";
import { type Cluster, withCluster } from "./testdata/fake_cluster.ts";

const NS = ["--context", "kind-veens", "--namespace", "veen-tenants"];
const ADDR = ["--cluster-context", "kind-veens", "--namespace", "veen-tenants", "--name", "alpha"];

const hubPod = (phase = "Running") => ({
  metadata: {
    name: "veen-hub-alpha-0",
    namespace: "veen-tenants",
    labels: { app: "veen-hub", "veen.hub.name": "alpha" },
  },
  status: { phase, containerStatuses: [{ name: "hub", ready: true, restartCount: 0 }] },
});

/** The rendered Deployment's parts that kube restore reads. */
const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "veen-hub-alpha", namespace: "veen-tenants" },
  spec: {
    replicas: 1,
    template: {
      metadata: { labels: { app: "veen-hub", "veen.hub.name": "alpha" } },
      spec: {
        securityContext: { runAsUser: 10001, fsGroup: 10001 },
        containers: [{ name: "hub", image: "veen:0.1.0", securityContext: { readOnlyRootFilesystem: true } }],
        volumes: [{ name: "veen-data", persistentVolumeClaim: { claimName: "veen-alpha-data" } }],
      },
    },
  },
};

interface Labels {
  label: string;
  last_stream_seq: number;
  mmr_root: string;
}

/** A cluster whose hub pod's data dir is `root`/var/lib/veen, with a hub holding a few entries backed up to FILE. */
async function withBackedUpHub(
  fn: (c: Cluster, root: string, file: string, labels: Labels[]) => Promise<void>,
) {
  const self = selfCommand();
  await withCluster({
    namespaces: ["default", "veen-tenants"],
    objects: { "veen-tenants/Deployment/veen-hub-alpha": deployment },
    pods: [hubPod()],
  }, async (c) => {
    const root = `${c.dir}/pod`;
    await Deno.mkdir(`${root}/tmp`, { recursive: true });
    const hub = await startTestHub(`${root}/var/lib/veen`);
    let labels: Labels[];
    const file = `${c.dir}/alpha-s1.backup`;
    try {
      c.patch({ exec: { root, hubUrl: hub.url, veen: [self.cmd, ...self.args] } });
      const w = new Writer("kube/backup", 8);
      for (let i = 0; i < 5; i++) assert.equal((await submit(hub.url, w.msg())).status, 200);
      c.reset();
      const r = await c.run([
        "backup",
        ...ADDR,
        "--snapshot-name",
        "s1",
        "--target-uri",
        `file://${file}`,
        "--json",
      ]);
      assert.equal(r.code, 0, r.err + r.out + JSON.stringify(c.calls()));
      const j = JSON.parse(r.out);
      labels = j.labels;
      assert.equal(labels.length, 1);
      assert.equal(labels[0]!.last_stream_seq, 5);
      assert.equal(j.bytes, (await Deno.stat(file)).size);
      const calls = c.calls();
      assert.deepEqual(calls[0], [
        ...NS,
        "get",
        "pods",
        "-l",
        "app=veen-hub,veen.hub.name=alpha",
        "-o",
        "json",
      ]);
      const exec = [...NS, "exec", "veen-hub-alpha-0", "-c", "hub", "--"];
      assert.deepEqual(calls.slice(1), [
        [
          ...exec,
          "veen",
          "hub",
          "backup",
          "--hub",
          "http://127.0.0.1:8080",
          "--hub-key",
          "/var/lib/veen/hub_key",
          "--out",
          "/tmp/veen-backup-s1",
          "--json",
        ],
        [...exec, "cat", "/tmp/veen-backup-s1"],
        [...exec, "rm", "-f", "/tmp/veen-backup-s1"],
      ]);
      assert.equal(await Deno.stat(`${root}/tmp/veen-backup-s1`).then(() => true, () => false), false);
    } finally {
      // kube restore scales the workload to zero: the hub stops before its data is replaced.
      await hub.close();
    }
    await fn(c, root, file, labels);
  });
}

const health = (labels: Labels[], rootOf = (l: Labels) => l.mmr_root) => ({
  "veen-hub-alpha-0": {
    byLabel: Object.fromEntries(
      labels.map((
        l,
      ) => [l.label, { ok: true, last_stream_seq: l.last_stream_seq, last_mmr_root: rootOf(l) }]),
    ),
  },
});

const restoreArgs = (file: string, extra: string[] = []) => [
  "restore",
  ...ADDR,
  "--snapshot-name",
  "s1",
  "--source-uri",
  file,
  ...extra,
  "--json",
];

Deno.test("kube backup then kube restore: scale to zero, restore into the PVC, restart, verify /healthz against the backup", async () => {
  await withBackedUpHub(async (c, root, file, labels) => {
    c.patch({ health: health(labels) });
    c.reset();
    const r = await c.run(restoreArgs(file, ["--replace-data"]));
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.labels, labels);
    assert.deepEqual(j.verified_pods, ["veen-hub-alpha-0"]);
    const rp = [...NS, "exec", "veen-restore-veen-hub-alpha", "-c", "restore", "--"];
    const veenRestore = [
      "veen",
      "hub",
      "restore",
      "--backup",
      "/tmp/veen-restore-s1",
      "--data-dir",
      "/var/lib/veen",
      "--json",
    ];
    const calls = c.calls();
    assert.deepEqual(calls.slice(0, 13).map((a) => a.slice(4, 6)), [
      ["get", "deployment/veen-hub-alpha"],
      ["scale", "deployment/veen-hub-alpha"],
      ["wait", "--for=delete"],
      ["apply", "-f"],
      ["wait", "--for=condition=Ready"],
      ["exec", "-i"],
      ["exec", "veen-restore-veen-hub-alpha"],
      ["exec", "veen-restore-veen-hub-alpha"],
      ["exec", "veen-restore-veen-hub-alpha"],
      ["delete", "pod/veen-restore-veen-hub-alpha"],
      ["scale", "deployment/veen-hub-alpha"],
      ["rollout", "status"],
      ["get", "pods"],
    ]);
    assert.deepEqual(calls[1], [...NS, "scale", "deployment/veen-hub-alpha", "--replicas=0"]);
    assert.deepEqual(calls[6], [...rp, ...veenRestore, "--check"]);
    assert.deepEqual(calls[8], [...rp, ...veenRestore]);
    assert.deepEqual(calls[10], [...NS, "scale", "deployment/veen-hub-alpha", "--replicas=1"]);
    assert.deepEqual(
      calls.slice(13),
      labels.map((l) => [
        "--context",
        "kind-veens",
        "get",
        "--raw",
        `/api/v1/namespaces/veen-tenants/pods/veen-hub-alpha-0:8080/proxy/healthz?label=${l.label}`,
      ]),
    );
    const pod = c.state().stdin.map((s: string) => JSON.parse(s)).find((o: { kind: string }) =>
      o.kind === "Pod"
    );
    assert.equal(pod.spec.volumes[0].persistentVolumeClaim.claimName, "veen-alpha-data");
    assert.equal(pod.spec.containers[0].image, "veen:0.1.0");
    assert.deepEqual(
      pod.spec.securityContext,
      { runAsUser: 10001, fsGroup: 10001 },
      "files owned as the hub's",
    );
    assert.deepEqual(pod.spec.containers[0].securityContext, { readOnlyRootFilesystem: true });
    // The PVC holds the restored store: fsck passes, and it has the backup's entries.
    const rep = await fsck(`${root}/var/lib/veen`);
    assert.equal(rep.error, undefined, JSON.stringify(rep.error));
    assert.equal(rep.summary.entries, 5);
  });
});

Deno.test("kube restore exits 4 when the restarted hub does not match the backup, and refuses to replace data without --replace-data", async () => {
  await withBackedUpHub(async (c, root, file, labels) => {
    // Without --replace-data a PVC holding data is refused; the workload is scaled back and the pod deleted.
    c.reset();
    const keep = await Deno.readFile(`${root}/var/lib/veen/hub_key`);
    const r1 = await c.run(restoreArgs(file));
    assert.equal(r1.code, 4, r1.out + r1.err);
    assert.match(r1.out + r1.err, /E\.DUP/);
    const calls = c.calls().map((a) => a.slice(4, 6).join(" "));
    assert.deepEqual(calls.slice(-2), [
      "delete pod/veen-restore-veen-hub-alpha",
      "scale deployment/veen-hub-alpha",
    ]);
    assert.equal(c.state().objects["veen-tenants/Deployment/veen-hub-alpha"].spec.replicas, 1);
    assert.deepEqual(await Deno.readFile(`${root}/var/lib/veen/hub_key`), keep);

    // A damaged backup is refused by the check, before the old data is removed.
    const bad = `${c.dir}/bad.backup`;
    const bytes = await Deno.readFile(file);
    bytes[bytes.length >> 1]! ^= 1;
    await Deno.writeFile(bad, bytes);
    const r2 = await c.run(restoreArgs(bad, ["--replace-data"]));
    assert.equal(r2.code, 4);
    assert.match(r2.out + r2.err, /E\.SIZE/);
    assert.deepEqual(await Deno.readFile(`${root}/var/lib/veen/hub_key`), keep);

    // A restarted hub whose root differs from the metadata fails the check.
    c.patch({ health: health(labels, () => "00".repeat(32)) });
    const r3 = await c.run(restoreArgs(file, ["--replace-data"]));
    assert.equal(r3.code, 4);
    assert.match(r3.out + r3.err, /"E\.CHECK".*The restored hub does not match the backup metadata/);
  });
});
