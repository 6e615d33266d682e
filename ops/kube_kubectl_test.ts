/**
 * `veen kube apply|status|delete|logs|job send|job stream` against a fake `kubectl` put first on PATH
 * (ops/testdata/fake_kubectl.ts): the recorded argv, the printed answers and the exit codes.
 */
import assert from "node:assert/strict";
import { captureIo } from "./io.ts";
import { runKube } from "./kube.ts";
import { type Cluster, withCluster } from "./testdata/fake_cluster.ts";

const MSG_ID = "cd".repeat(32);

async function renderTo(c: Cluster, file: string, extra: string[] = []): Promise<void> {
  const r = await c.run([
    "render",
    "--cluster-context",
    "kind-veens",
    "--namespace",
    "veen-tenants",
    "--name",
    "alpha",
    "--image",
    "veen:0.1.0",
    "--data-pvc",
    "veen-alpha-data",
    ...extra,
  ]);
  assert.equal(r.code, 0, r.err);
  await Deno.writeTextFile(`${c.dir}/${file}`, r.out);
}

const hubPod = (name: string, restarts: number, phase = "Running") => ({
  metadata: { name, namespace: "veen-tenants", labels: { app: "veen-hub", "veen.hub.name": "alpha" } },
  status: { phase, containerStatuses: [{ name: "hub", ready: phase === "Running", restartCount: restarts }] },
});

Deno.test("kube apply: kubectl apply -f - with a List, namespace created by the file, waits, prints the service DNS", async () => {
  await withCluster({ readyAfterGets: 2 }, async (c) => {
    await renderTo(c, "hub.yaml");
    const r = await c.run([
      "apply",
      "--cluster-context",
      "kind-veens",
      "--file",
      `${c.dir}/hub.yaml`,
      "--wait-seconds",
      "180",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(c.calls(), [
      ["--context", "kind-veens", "apply", "-f", "-"],
      [
        "--context",
        "kind-veens",
        "--namespace",
        "veen-tenants",
        "get",
        "deployment/veen-hub-alpha",
        "-o",
        "json",
      ],
      [
        "--context",
        "kind-veens",
        "--namespace",
        "veen-tenants",
        "get",
        "deployment/veen-hub-alpha",
        "-o",
        "json",
      ],
      [
        "--context",
        "kind-veens",
        "--namespace",
        "veen-tenants",
        "get",
        "deployment/veen-hub-alpha",
        "-o",
        "json",
      ],
    ]);
    const sent = JSON.parse(c.state().stdin[0]);
    assert.equal(sent.kind, "List");
    assert.deepEqual(sent.items.map((o: { kind: string }) => o.kind), [
      "Namespace",
      "ServiceAccount",
      "Role",
      "RoleBinding",
      "ConfigMap",
      "Secret",
      "Deployment",
      "Service",
    ]);
    assert.equal(
      r.out,
      [
        "namespace/veen-tenants created",
        "serviceaccount/veen-hub-alpha created",
        "role.rbac.authorization.k8s.io/veen-hub-alpha created",
        "rolebinding.rbac.authorization.k8s.io/veen-hub-alpha created",
        "configmap/veen-hub-alpha-config created",
        "secret/veen-hub-alpha-keys created",
        "deployment.apps/veen-hub-alpha created",
        "service/veen-hub-alpha created",
        "namespace: veen-tenants",
        "service: veen-hub-alpha.veen-tenants.svc.cluster.local:8080",
        "ready: deployment/veen-hub-alpha 1/1",
        "",
      ].join("\n"),
    );

    // Applying again is idempotent; --json gives one object with stable fields.
    c.reset();
    const again = await c.run([
      "apply",
      "--cluster-context",
      "kind-veens",
      "--file",
      `${c.dir}/hub.yaml`,
      "--json",
    ]);
    assert.equal(again.code, 0, again.err);
    const j = JSON.parse(again.out);
    assert.deepEqual(Object.keys(j), [
      "ok",
      "cluster_context",
      "namespace",
      "services",
      "applied",
      "waited",
      "workloads",
    ]);
    assert.equal(j.applied[0], "namespace/veen-tenants unchanged");
    assert.deepEqual(j.services, ["veen-hub-alpha.veen-tenants.svc.cluster.local:8080"]);
    assert.deepEqual(j.workloads, [{
      kind: "Deployment",
      name: "veen-hub-alpha",
      namespace: "veen-tenants",
      desired_replicas: 1,
      ready_replicas: null,
    }]);
    assert.equal(c.calls().length, 1);
  });
});

Deno.test("kube apply: JSON manifests work; a missing namespace not in the file is a clear error; timeouts exit 4", async () => {
  await withCluster({ readyAfterGets: 1000 }, async (c) => {
    await renderTo(c, "hub.json", ["--json", "--no-namespace"]);
    const r = await c.run(["apply", "--cluster-context", "kind-veens", "--file", `${c.dir}/hub.json`]);
    assert.equal(r.code, 4);
    assert.match(
      r.err,
      /^E\.NOT_FOUND: namespace veen-tenants does not exist and .* has no Namespace object/m,
    );
    assert.deepEqual(c.calls(), [[
      "--context",
      "kind-veens",
      "get",
      "namespace",
      "veen-tenants",
      "-o",
      "name",
    ]]);

    c.patch({ namespaces: ["default", "veen-tenants"] });
    c.reset();
    const t = await c.run([
      "apply",
      "--cluster-context",
      "kind-veens",
      "--file",
      `${c.dir}/hub.json`,
      "--wait-seconds",
      "5",
    ]);
    assert.equal(t.code, 4);
    assert.match(
      t.err,
      /^E\.UNAVAILABLE: hub not ready after 5 s \(deployment\/veen-hub-alpha: 0\/1 ready\)/m,
    );
    const gets = c.calls().filter((a) => a.includes("get") && a.includes("deployment/veen-hub-alpha"));
    assert.equal(gets.length, 4); // t=0, 2, 4, 6 s on the virtual clock
  });
});

Deno.test("kube apply: unreachable cluster exits 2; no kubectl exits 2; unknown context exits 1", async () => {
  await withCluster({ unreachable: true }, async (c) => {
    await renderTo(c, "hub.yaml");
    const r = await c.run(["apply", "--cluster-context", "kind-veens", "--file", `${c.dir}/hub.yaml`]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^E\.UNAVAILABLE: kubectl apply: The connection to the server/m);
    c.patch({ unreachable: false, contexts: ["other"] });
    const u = await c.run(["apply", "--cluster-context", "kind-veens", "--file", `${c.dir}/hub.yaml`]);
    assert.equal(u.code, 1);
    assert.match(u.err, /^E\.USAGE: kubectl apply: error: context "kind-veens" does not exist/m);
  });
  const io = captureIo({ PATH: "/nonexistent" });
  const code = await runKube(["status", "--cluster-context", "x", "--namespace", "n", "--name", "a"], io);
  assert.equal(code, 2);
  assert.match(io.stderr(), /^E\.UNAVAILABLE: kubectl not found on PATH/);
  const usage = captureIo({ PATH: "/nonexistent" });
  assert.equal(await runKube(["apply", "--file", "x.yaml"], usage), 1);
});

Deno.test("kube status: replicas, pods with phase and restarts, /healthz per pod through the API proxy", async () => {
  await withCluster({ readyAfterGets: 0 }, async (c) => {
    await renderTo(c, "hub.yaml");
    assert.equal((await c.run(["apply", "--cluster-context", "ctx", "--file", `${c.dir}/hub.yaml`])).code, 0);
    c.patch({
      pods: [
        hubPod("veen-hub-alpha-7d9-b", 2),
        hubPod("veen-hub-alpha-7d9-a", 0),
        hubPod("veen-hub-alpha-7d9-c", 0, "Pending"),
      ],
      health: {
        "veen-hub-alpha-7d9-a": { ok: true, profile_id: "x" },
        "veen-hub-alpha-7d9-b":
          "Error from server (ServiceUnavailable): the server is currently unable to handle the request",
      },
    });
    c.reset();
    const args = ["status", "--cluster-context", "ctx", "--namespace", "veen-tenants", "--name", "alpha"];
    const r = await c.run(args);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(c.calls(), [
      ["--context", "ctx", "--namespace", "veen-tenants", "get", "deployment/veen-hub-alpha", "-o", "json"],
      [
        "--context",
        "ctx",
        "--namespace",
        "veen-tenants",
        "get",
        "pods",
        "-l",
        "app=veen-hub,veen.hub.name=alpha",
        "-o",
        "json",
      ],
      [
        "--context",
        "ctx",
        "get",
        "--raw",
        "/api/v1/namespaces/veen-tenants/pods/veen-hub-alpha-7d9-a:8080/proxy/healthz",
      ],
      [
        "--context",
        "ctx",
        "get",
        "--raw",
        "/api/v1/namespaces/veen-tenants/pods/veen-hub-alpha-7d9-b:8080/proxy/healthz",
      ],
    ]);
    assert.equal(
      r.out,
      [
        "deployment_name: veen-hub-alpha",
        "kind: Deployment",
        "namespace: veen-tenants",
        "desired_replicas: 1",
        "ready_replicas: 1",
        "pods: 3",
        "  veen-hub-alpha-7d9-a  phase=Running  ready=true  restarts=0  health=ok",
        "  veen-hub-alpha-7d9-b  phase=Running  ready=true  restarts=2  health=error: Error from server (ServiceUnavailable): the server is currently unable to handle the request",
        "  veen-hub-alpha-7d9-c  phase=Pending  ready=false  restarts=0  health=not running (Pending)",
        "",
      ].join("\n"),
    );
    const j = JSON.parse((await c.run([...args, "--json"])).out);
    assert.deepEqual(Object.keys(j), [
      "ok",
      "deployment_name",
      "kind",
      "namespace",
      "desired_replicas",
      "ready_replicas",
      "pods",
    ]);
    assert.deepEqual(j.pods[0], {
      name: "veen-hub-alpha-7d9-a",
      phase: "Running",
      ready: true,
      restarts: 0,
      health: "ok",
    });

    const missing = await c.run([
      "status",
      "--cluster-context",
      "ctx",
      "--namespace",
      "veen-tenants",
      "--name",
      "beta",
      "--json",
    ]);
    assert.equal(missing.code, 4);
    assert.equal(JSON.parse(missing.out).code, "E.NOT_FOUND");
  });
});

Deno.test("kube delete: deletes the hub's objects, keeps the Secret, purges PVCs on request, and is idempotent", async () => {
  await withCluster({}, async (c) => {
    await renderTo(c, "hub.yaml");
    assert.equal((await c.run(["apply", "--cluster-context", "ctx", "--file", `${c.dir}/hub.yaml`])).code, 0);
    c.patch({
      objects: {
        ...c.state().objects,
        "veen-tenants/PersistentVolumeClaim/veen-alpha-data": {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: "veen-alpha-data" },
        },
      },
    });
    c.reset();
    const args = [
      "delete",
      "--cluster-context",
      "ctx",
      "--namespace",
      "veen-tenants",
      "--name",
      "alpha",
      "--purge-pvcs",
    ];
    const r = await c.run(args);
    assert.equal(r.code, 0, r.err);
    const ns = ["--context", "ctx", "--namespace", "veen-tenants"];
    assert.deepEqual(c.calls(), [
      [...ns, "get", "deployment/veen-hub-alpha", "-o", "json"],
      [
        ...ns,
        "delete",
        "deployment/veen-hub-alpha",
        "service/veen-hub-alpha",
        "rolebinding/veen-hub-alpha",
        "role/veen-hub-alpha",
        "serviceaccount/veen-hub-alpha",
        "configmap/veen-hub-alpha-config",
        "configmap/veen-hub-alpha-env",
        "--ignore-not-found",
      ],
      [...ns, "delete", "persistentvolumeclaim/veen-alpha-data", "--ignore-not-found"],
    ]);
    assert.equal(
      r.out,
      [
        'deployment.apps "veen-hub-alpha" deleted',
        'service "veen-hub-alpha" deleted',
        'rolebinding.rbac.authorization.k8s.io "veen-hub-alpha" deleted',
        'role.rbac.authorization.k8s.io "veen-hub-alpha" deleted',
        'serviceaccount "veen-hub-alpha" deleted',
        'configmap "veen-hub-alpha-config" deleted',
        'persistentvolumeclaim "veen-alpha-data" deleted',
        "deleted veen-hub-alpha in veen-tenants",
        "",
      ].join("\n"),
    );
    const left = Object.keys(c.state().objects).sort();
    assert.deepEqual(left, ["/Namespace/veen-tenants", "veen-tenants/Secret/veen-hub-alpha-keys"]);

    // Second delete: nothing left, exit 0 and a clear note.
    const again = await c.run(args);
    assert.equal(again.code, 0, again.err);
    assert.equal(again.out, "already deleted: veen-hub-alpha in veen-tenants\n");
    const j = JSON.parse((await c.run([...args, "--json"])).out);
    assert.deepEqual(j, {
      ok: true,
      namespace: "veen-tenants",
      name: "veen-hub-alpha",
      already_deleted: true,
      deleted: [],
      purged_pvcs: [],
    });
  });
});

Deno.test("kube delete --profile tenant removes profile objects too; --data-pvc needs --purge-pvcs", async () => {
  await withCluster({}, async (c) => {
    const r = await c.run([
      "delete",
      "--cluster-context",
      "ctx",
      "--profile",
      "tenant",
      "--tenant-id",
      "acme",
      "--purge-pvcs",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "already deleted: veen-hub in veen-tenant-acme\n");
    const calls = c.calls();
    assert.deepEqual(calls[1]!.slice(4), [
      "delete",
      "deployment/veen-hub",
      "service/veen-hub",
      "rolebinding/veen-hub",
      "role/veen-hub",
      "serviceaccount/veen-hub",
      "configmap/veen-hub-config",
      "configmap/veen-hub-env",
      "networkpolicy/veen-hub",
      "cronjob/veen-selftest-core-periodic",
      "job/veen-selftest-core",
      "deployment/veen-bridge-admin",
      "configmap/veen-bridge-admin-config",
      "--ignore-not-found",
    ]);
    assert.deepEqual(calls[2]!.slice(4), [
      "delete",
      "persistentvolumeclaim/veen-hub-data",
      "--ignore-not-found",
    ]);
    const bad = await c.run([
      "delete",
      "--cluster-context",
      "ctx",
      "--namespace",
      "n",
      "--name",
      "a",
      "--data-pvc",
      "x",
    ]);
    assert.equal(bad.code, 1);
  });
});

Deno.test("kube logs: each hub pod in turn, unchanged; --pod; --follow uses one label selector", async () => {
  await withCluster({}, async (c) => {
    c.patch({
      pods: [hubPod("veen-hub-alpha-b", 0), hubPod("veen-hub-alpha-a", 0)],
      logs: {
        "veen-hub-alpha-a": '{"ts":"t1","level":"info","msg":"a1"}\n',
        "veen-hub-alpha-b": "raw \u00e9 line without newline",
      },
    });
    const base = ["logs", "--cluster-context", "ctx", "--namespace", "veen-tenants", "--name", "alpha"];
    const r = await c.run(base);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '{"ts":"t1","level":"info","msg":"a1"}\nraw \u00e9 line without newline');
    const ns = ["--context", "ctx", "--namespace", "veen-tenants"];
    assert.deepEqual(c.calls(), [
      [...ns, "get", "pods", "-l", "app=veen-hub,veen.hub.name=alpha", "-o", "json"],
      [...ns, "logs", "veen-hub-alpha-a", "-c", "hub", "--since=1h"],
      [...ns, "logs", "veen-hub-alpha-b", "-c", "hub", "--since=1h"],
    ]);
    c.reset();
    assert.equal((await c.run([...base, "--pod", "veen-hub-alpha-b", "--since", "10m"])).code, 0);
    assert.equal((await c.run([...base, "--follow", "--since", "1h30m"])).code, 0);
    assert.deepEqual(c.calls(), [
      [...ns, "logs", "veen-hub-alpha-b", "-c", "hub", "--since=10m"],
      [
        ...ns,
        "logs",
        "-l",
        "app=veen-hub,veen.hub.name=alpha",
        "-c",
        "hub",
        "--max-log-requests=16",
        "--since=1h30m",
        "--follow",
      ],
    ]);
    assert.equal((await c.run([...base, "--since", "yesterday"])).code, 1);
    const gone = await c.run([...base, "--pod", "nope"]);
    assert.equal(gone.code, 4);
    assert.match(
      gone.err,
      /Error from server \(NotFound\): pods "nope" not found\nE\.NOT_FOUND: kubectl logs nope/,
    );
    c.patch({ pods: [] });
    assert.equal((await c.run(base)).code, 4);
  });
});

const SEND = [
  "job",
  "send",
  "--cluster-context",
  "prod-admin",
  "--namespace",
  "veen-tenants",
  "--hub-service",
  "veen-hub-alpha.veen-tenants.svc.cluster.local:8080",
  "--client-secret",
  "tenant-a-client",
  "--cap-secret",
  "tenant-a-cap",
  "--stream",
  "core/main",
  "--body",
  '{"k":"v"}',
  "--timeout-ms",
  "5000",
];

Deno.test("kube job send: creates the Job, waits, prints the receipt summary; the container runs veen send", async () => {
  await withCluster(
    { namespaces: ["veen-tenants"], jobLogs: `stream_seq: 7\nmsg_id: ${MSG_ID}\n` },
    async (c) => {
      const r = await c.run(SEND);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `stream_seq: 7\nmsg_id: ${MSG_ID}\n`);
      const calls = c.calls();
      const name = calls[0] && JSON.parse(c.state().stdin[0]).metadata.name;
      assert.match(name, /^veen-job-send-[0-9a-f]{10}$/);
      const ns = ["--context", "prod-admin", "--namespace", "veen-tenants"];
      assert.deepEqual(calls, [
        [...ns, "create", "-f", "-"],
        [...ns, "get", `job/${name}`, "-o", "json"],
        [...ns, "logs", `job/${name}`, "-c", "veen"],
      ]);
      const job = JSON.parse(c.state().stdin[0]);
      const ctr = job.spec.template.spec.containers[0];
      assert.deepEqual([ctr.command, ctr.args], [
        ["veen"],
        [
          "send",
          "--hub",
          "http://veen-hub-alpha.veen-tenants.svc.cluster.local:8080",
          "--client",
          "/var/lib/veen-client",
          "--stream",
          "core/main",
          "--body",
          '{"k":"v"}',
          "--cap",
          "/var/lib/veen-cap/cap.cbor",
          "--timeout-ms",
          "5000",
        ],
      ]);
      assert.equal(job.spec.backoffLimit, 0);
      assert.equal(job.metadata.labels["veen.io/role"], "cli");
      assert.deepEqual(ctr.volumeMounts.map((m: { mountPath: string }) => m.mountPath), [
        "/var/lib/veen-client",
        "/var/lib/veen-cap",
        "/tmp",
      ]);
      const init = job.spec.template.spec.initContainers[0];
      assert.equal(init.volumeMounts[0].readOnly, true);
      const vols = Object.fromEntries(
        job.spec.template.spec.volumes.map((v: { name: string }) => [v.name, v]),
      );
      assert.equal(vols["client-secret"].secret.secretName, "tenant-a-client");
      assert.equal(vols.cap.secret.secretName, "tenant-a-cap");

      // Same request at the same (virtual) time: same Job name, refused by the cluster; another name goes through.
      const same = await c.run([...SEND, "--json"]);
      assert.equal(same.code, 4);
      assert.equal(JSON.parse(same.out).code, "E.DUP");
      const j = JSON.parse((await c.run([...SEND, "--json", "--job-name", "send-2"])).out);
      assert.deepEqual(Object.keys(j), ["ok", "job", "namespace", "stream", "stream_seq", "msg_id"]);
      assert.equal(j.stream_seq, 7);
    },
  );
});

Deno.test("kube job send: a failed Job prints its output and exits 4 with the job's E.* code", async () => {
  await withCluster({
    namespaces: ["veen-tenants"],
    jobOutcome: "failed",
    jobLogs: "E.CAP: capability expired\n",
  }, async (c) => {
    const r = await c.run(SEND);
    assert.equal(r.code, 4);
    assert.match(
      r.err,
      /^job\.batch\/(veen-job-send-[0-9a-f]{10}) created in veen-tenants; waiting up to 300 s\nE\.CAP: capability expired\nE\.CAP: job\/\1 failed: capability expired\n$/,
    );
    c.patch({ jobOutcome: "pending" });
    const t = await c.run([...SEND, "--wait-seconds", "3"]);
    assert.equal(t.code, 4);
    assert.match(
      t.err,
      /E\.UNAVAILABLE: job\/veen-job-send-[0-9a-f]{10} in veen-tenants did not finish within 3 s/,
    );
    c.patch({ jobOutcome: "succeeded", jobLogs: "garbage\n" });
    const garbage = await c.run([...SEND, "--job-name", "fixed"]);
    assert.equal(garbage.code, 3);
    assert.match(garbage.err, /^E\.SIZE: job\/fixed succeeded but its output has no stream_seq\/msg_id/m);
    const dup = await c.run([...SEND, "--job-name", "fixed"]);
    assert.equal(dup.code, 4);
    assert.match(dup.err, /^E\.DUP: kubectl create job\/fixed: Error from server \(AlreadyExists\)/m);
  });
});

Deno.test("kube job stream: veen stream in a Job, output passed through; --dry-run prints the manifest", async () => {
  await withCluster({ namespaces: ["veen-tenants"], jobLogs: '#0 {"text":"hi"}\n' }, async (c) => {
    const args = [
      "job",
      "stream",
      "--cluster-context",
      "prod-admin",
      "--namespace",
      "veen-tenants",
      "--hub-service",
      "veen-hub-alpha.veen-tenants.svc.cluster.local:8080",
      "--client-secret",
      "tenant-a-client",
      "--stream",
      "core/main",
      "--from",
      "0",
      "--with-proof",
      "--image",
      "registry.example.com/ops/veen-cli:v1",
      "--state-pvc",
      "veen-tenant-a-client-pvc",
    ];
    const r = await c.run(args);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '#0 {"text":"hi"}\n');
    const job = JSON.parse(c.state().stdin[0]);
    assert.match(job.metadata.name, /^veen-job-stream-[0-9a-f]{10}$/);
    const ctr = job.spec.template.spec.containers[0];
    assert.equal(ctr.image, "registry.example.com/ops/veen-cli:v1");
    assert.deepEqual(ctr.args, [
      "stream",
      "--hub",
      "http://veen-hub-alpha.veen-tenants.svc.cluster.local:8080",
      "--client",
      "/var/lib/veen-client",
      "--stream",
      "core/main",
      "--from",
      "0",
      "--with-proof",
    ]);
    const client = job.spec.template.spec.volumes.find((v: { name: string }) => v.name === "client");
    assert.deepEqual(client.persistentVolumeClaim, { claimName: "veen-tenant-a-client-pvc" });

    c.reset();
    const d1 = await c.run([...args, "--dry-run", "--job-name", "veen-job-stream-x"]);
    const d2 = await c.run([...args, "--dry-run", "--job-name", "veen-job-stream-x"]);
    assert.equal(d1.code, 0);
    assert.equal(d1.out, d2.out);
    assert.match(d1.out, /^---\napiVersion: batch\/v1\nkind: Job\n/);
    assert.deepEqual(c.calls(), []);
  });
});
