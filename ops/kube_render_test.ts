/**
 * `veen kube render`: every object is checked offline against the Kubernetes schemas of `kubernetes-models` (each is
 * constructed with its model class and `.validate()`d, and every field we set must be one the schema knows), the
 * object order, names, labels, annotations, probes, security context and resources are those of CLI-GOALS-3 §2 and
 * spec 000, and the output is byte-identical across runs and processes.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { captureIo } from "./io.ts";
import { runKube } from "./kube.ts";
import { jobObject } from "./kube_job.ts";
import type { K8sObject } from "./manifest.ts";

const P1 = "1db91032b4bf4cd8b9f56a782b299458e6f782d3a1276f04c50c7b02651038ca";
const P2 = "ab".repeat(32);

// deno-lint-ignore no-explicit-any
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  Role,
  RoleBinding,
  ClusterRole,
  ConfigMap,
  Secret,
  PersistentVolumeClaim,
  Deployment,
  StatefulSet,
  Service,
  NetworkPolicy,
  Job,
  CronJob,
};

/** Every leaf path of `o` (non-empty objects and arrays are descended into). */
function leaves(o: unknown, path = ""): string[] {
  if (Array.isArray(o)) return o.length === 0 ? [path] : o.flatMap((v, i) => leaves(v, `${path}/${i}`));
  if (typeof o === "object" && o !== null) {
    const e = Object.entries(o);
    return e.length === 0
      ? [path]
      : e.flatMap(([k, v]) => leaves(v, `${path}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`));
  }
  return [path];
}

function setAt(o: K8sObject, path: string, v: unknown): K8sObject {
  const copy = structuredClone(o);
  const parts = path.split("/").slice(1).map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
  // deno-lint-ignore no-explicit-any
  let t: any = copy;
  for (const p of parts.slice(0, -1)) t = t[p];
  t[parts[parts.length - 1]!] = v;
  return copy;
}

/**
 * Validates `o` with its kubernetes-models class, then checks that the schema knows every field we set: a field the
 * schema knows rejects a value of the wrong type (a Symbol) at exactly its path; an unknown (misspelled) field
 * would be ignored by the validator.
 */
function validateStrict(o: K8sObject): void {
  const Model = MODELS[o.kind];
  assert.ok(Model !== undefined, `no model for ${o.kind}`);
  new Model(o).validate();
  for (const path of leaves(o)) {
    if (path === "/apiVersion" || path === "/kind" || path === "") continue;
    if (typeof getAt(o, path) === "object") continue; // {} or []: nothing typed below
    try {
      new Model(setAt(o, path, Symbol("probe"))).validate();
    } catch (e) {
      const msg = (e as Error).message;
      if (msg.includes(`data${path} `)) continue;
      assert.fail(`${o.kind}/${o.metadata.name}: probing ${path} failed elsewhere: ${msg.slice(0, 300)}`);
    }
    assert.fail(`${o.kind}/${o.metadata.name}: field ${path} is not in the Kubernetes schema`);
  }
}

function getAt(o: unknown, path: string): unknown {
  // deno-lint-ignore no-explicit-any
  let t: any = o;
  for (const p of path.split("/").slice(1).map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))) {
    t = t?.[p];
  }
  return t;
}

async function kube(args: string[]) {
  const io = captureIo();
  const code = await runKube(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

async function withFiles(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-kube-" });
  try {
    await Deno.writeTextFile(
      `${dir}/hub-config.toml`,
      `[hub]\nprofile_id = "${P1}"\nlog_level = "warn"\ncheckpoint_every = 4096\n`,
    );
    await Deno.writeTextFile(
      `${dir}/hub.env`,
      `# comment\nexport VEEN_QUEUE_MAX=1024\nB_VAR="two words"\n\nA_VAR='x=y'\n`,
    );
    await Deno.writeTextFile(`${dir}/ann.json`, `{"prometheus.io/scrape":"true","example.com/team":"ops"}`);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const USAGE_RENDER = (dir: string) => [
  "render",
  "--cluster-context",
  "kind-veens",
  "--namespace",
  "veen-tenants",
  "--name",
  "alpha",
  "--image",
  "veen-hub:latest",
  "--data-pvc",
  "veen-alpha-data",
  "--config",
  `${dir}/hub-config.toml`,
  "--env-file",
  `${dir}/hub.env`,
  "--pod-annotations",
  `${dir}/ann.json`,
  "--resources-cpu",
  "500m,1",
  "--resources-mem",
  "512Mi",
];

const HUB_LABELS = [
  "app",
  "veen.hub.name",
  "app.kubernetes.io/part-of",
  "app.kubernetes.io/component",
  "veen.io/role",
  "veen.io/universe-id",
];

Deno.test("kube render (CLI-GOALS-3 layout): fixed object order, names, schema-valid objects", async () => {
  await withFiles(async (dir) => {
    const r = await kube([...USAGE_RENDER(dir), "--json"]);
    assert.equal(r.code, 0, r.err);
    const objs: K8sObject[] = JSON.parse(r.out);
    assert.deepEqual(
      objs.map((o) => `${o.kind}/${o.metadata.name}`),
      [
        "Namespace/veen-tenants",
        "ServiceAccount/veen-hub-alpha",
        "Role/veen-hub-alpha",
        "RoleBinding/veen-hub-alpha",
        "ConfigMap/veen-hub-alpha-config",
        "ConfigMap/veen-hub-alpha-env",
        "Secret/veen-hub-alpha-keys",
        "Deployment/veen-hub-alpha",
        "Service/veen-hub-alpha",
      ],
    );
    for (const o of objs) {
      assert.deepEqual(Object.keys(o).slice(0, 3), ["apiVersion", "kind", "metadata"]);
      validateStrict(o);
      if (o.kind !== "Namespace") assert.equal(o.metadata.namespace, "veen-tenants");
      if (o.kind !== "Namespace") {
        for (const l of HUB_LABELS) assert.ok(o.metadata.labels[l] !== undefined, `${o.kind} lacks ${l}`);
      }
      assert.equal(o.metadata.annotations["veen.io/profile"], "tenant");
      assert.ok(o.metadata.annotations["veen.io/version"]);
    }
  });
});

Deno.test("kube render: pods run the hub with probes, restricted security, resources, config and env", async () => {
  await withFiles(async (dir) => {
    const objs: K8sObject[] = JSON.parse((await kube([...USAGE_RENDER(dir), "--json"])).out);
    const dep = objs.find((o) => o.kind === "Deployment")!;
    assert.deepEqual(dep.spec.selector.matchLabels, { app: "veen-hub", "veen.hub.name": "alpha" });
    assert.equal(dep.spec.replicas, 1);
    assert.equal(dep.spec.strategy.type, "Recreate");
    const pod = dep.spec.template;
    assert.equal(pod.metadata.labels.app, "veen-hub");
    assert.equal(pod.metadata.labels["veen.hub.name"], "alpha");
    assert.equal(pod.metadata.labels["app.kubernetes.io/part-of"], "veen");
    assert.equal(pod.metadata.labels["app.kubernetes.io/component"], "hub");
    assert.equal(pod.metadata.labels["veen.io/role"], "tenant");
    assert.equal(pod.metadata.labels["veen.io/universe-id"], "default");
    assert.equal(pod.metadata.annotations["prometheus.io/scrape"], "true");
    assert.equal(pod.metadata.annotations["example.com/team"], "ops");
    assert.match(pod.metadata.annotations["veen.io/config-hash"], /^[0-9a-f]{64}$/);
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(pod.spec.serviceAccountName, "veen-hub-alpha");
    const c = pod.spec.containers[0];
    assert.deepEqual([c.command, c.args], [
      ["veen"],
      [
        "hub",
        "start",
        "--foreground",
        "--listen",
        "0.0.0.0:8080",
        "--data-dir",
        "/var/lib/veen",
        "--config",
        "/etc/veen/hub-config.toml",
        "--profile-id",
        P1,
      ],
    ]);
    assert.deepEqual(c.livenessProbe.httpGet, { path: "/healthz", port: "http" });
    assert.deepEqual(c.readinessProbe.httpGet, { path: "/readyz", port: "http" });
    assert.ok(c.livenessProbe.failureThreshold > c.readinessProbe.failureThreshold);
    assert.deepEqual(c.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    for (const sc of [c.securityContext, pod.spec.initContainers[0].securityContext]) {
      assert.equal(sc.runAsNonRoot, true);
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.deepEqual(sc.capabilities.drop, ["ALL"]);
    }
    assert.deepEqual(c.resources, {
      requests: { cpu: "500m", memory: "512Mi" },
      limits: { cpu: "1", memory: "512Mi" },
    });
    assert.deepEqual(c.envFrom, [{ configMapRef: { name: "veen-hub-alpha-env" } }]);
    assert.deepEqual(c.env.find((e: K8sObject) => e.name === "VEEN_LOG_LEVEL"), {
      name: "VEEN_LOG_LEVEL",
      value: "warn",
    });
    assert.deepEqual(
      c.volumeMounts.map((m: K8sObject) => [m.mountPath, m.readOnly === true]),
      [["/etc/veen", true], ["/var/lib/veen", false], ["/tmp", false]],
    );
    const vols = Object.fromEntries(pod.spec.volumes.map((v: K8sObject) => [v.name, v]));
    assert.deepEqual(vols["veen-data"].persistentVolumeClaim, { claimName: "veen-alpha-data" });
    assert.deepEqual(vols["veen-config"].projected.sources[0], {
      configMap: { name: "veen-hub-alpha-config" },
    });
    assert.equal(vols["veen-config"].projected.sources[1].secret.name, "veen-hub-alpha-keys");

    const cm = objs.find((o) => o.metadata.name === "veen-hub-alpha-config")!;
    assert.equal(cm.data["hub-config.toml"], await Deno.readTextFile(`${dir}/hub-config.toml`));
    const envCm = objs.find((o) => o.metadata.name === "veen-hub-alpha-env")!;
    assert.deepEqual(Object.entries(envCm.data), [["A_VAR", "x=y"], ["B_VAR", "two words"], [
      "VEEN_QUEUE_MAX",
      "1024",
    ]]);
    const secret = objs.find((o) => o.kind === "Secret")!;
    assert.equal(secret.data, undefined);
    assert.equal(secret.stringData, undefined);
    assert.equal(secret.type, "Opaque");
    const svc = objs.find((o) => o.kind === "Service")!;
    assert.deepEqual(svc.spec.selector, dep.spec.selector.matchLabels);
    assert.deepEqual(svc.spec.ports, [{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
    const rb = objs.find((o) => o.kind === "RoleBinding")!;
    assert.deepEqual(rb.subjects, [{
      kind: "ServiceAccount",
      name: "veen-hub-alpha",
      namespace: "veen-tenants",
    }]);
  });
});

Deno.test("kube render --profile authority: veen-system StatefulSet + PVC, RBAC, NetworkPolicy, selftest Job and CronJob", async () => {
  const r = await kube([
    "render",
    "--profile",
    "authority",
    "--image",
    "veen:0.1.0",
    "--universe-id",
    "stage-1",
    "--json",
  ]);
  assert.equal(r.code, 0, r.err);
  const objs: K8sObject[] = JSON.parse(r.out);
  assert.deepEqual(
    objs.map((o) => `${o.kind}/${o.metadata.name}`),
    [
      "Namespace/veen-system",
      "ServiceAccount/veen-authority",
      "Role/veen-authority",
      "RoleBinding/veen-authority",
      "ClusterRole/veen-operator",
      "ConfigMap/veen-authority-config",
      "Secret/veen-authority-keys",
      "PersistentVolumeClaim/veen-authority-data",
      "StatefulSet/veen-authority-hub",
      "Service/veen-authority",
      "NetworkPolicy/veen-authority",
      "Job/veen-selftest-authority",
      "CronJob/veen-selftest-authority-periodic",
      "ConfigMap/veen-observability",
    ],
  );
  for (const o of objs) validateStrict(o);
  const sts = objs.find((o) => o.kind === "StatefulSet")!;
  assert.equal(sts.metadata.namespace, "veen-system");
  assert.equal(sts.spec.replicas, 1);
  assert.equal(sts.spec.serviceName, "veen-authority");
  const pod = sts.spec.template;
  assert.equal(pod.metadata.labels["veen.io/role"], "authority");
  assert.equal(pod.metadata.labels["veen.io/universe-id"], "stage-1");
  assert.equal(pod.metadata.labels["veen.io/tenant-id"], undefined);
  const dataVol = pod.spec.volumes.find((v: K8sObject) => v.name === "veen-data");
  assert.deepEqual(dataVol, {
    name: "veen-data",
    persistentVolumeClaim: { claimName: "veen-authority-data" },
  });
  const env = Object.fromEntries(
    pod.spec.containers[0].env.filter((e: K8sObject) => "value" in e).map((
      e: K8sObject,
    ) => [e.name, e.value]),
  );
  assert.equal(env.VEEN_ROLE, "authority");
  assert.equal(env.VEEN_UNIVERSE_ID, "stage-1");
  assert.equal(env.VEEN_LOG_LEVEL, "info");
  const pvc = objs.find((o) => o.kind === "PersistentVolumeClaim")!;
  assert.deepEqual(pvc.spec.accessModes, ["ReadWriteOnce"]);
  const job = objs.find((o) => o.kind === "Job")!;
  assert.deepEqual(job.spec.template.spec.containers[0].args, [
    "selftest",
    "authority",
    "--hub",
    "http://veen-authority:8080",
  ]);
  assert.equal(job.metadata.labels["app.kubernetes.io/component"], "selftest");
  assert.equal(job.metadata.labels["veen.io/role"], "selftest");
  const ns = objs[0]!;
  assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
  const cfg = objs.find((o) => o.kind === "ConfigMap")!;
  assert.match(cfg.data["profile.toml"], /hub_profile = "authority"/);
});

Deno.test("kube render --profile tenant: veen-tenant-ID namespace, Deployment veen-hub, emptyDir unless --storage", async () => {
  const base = [
    "render",
    "--profile",
    "tenant",
    "--tenant-id",
    "acme-prod",
    "--image",
    "veen:0.1.0",
    "--json",
  ];
  const r = await kube(base);
  assert.equal(r.code, 0, r.err);
  const objs: K8sObject[] = JSON.parse(r.out);
  assert.deepEqual(
    objs.map((o) => `${o.kind}/${o.metadata.name}`),
    [
      "Namespace/veen-tenant-acme-prod",
      "ServiceAccount/veen-hub",
      "Role/veen-hub",
      "RoleBinding/veen-hub",
      "ConfigMap/veen-hub-config",
      "Secret/veen-hub-keys",
      "Deployment/veen-hub",
      "Service/veen-hub",
      "NetworkPolicy/veen-hub",
      "Job/veen-selftest-core",
      "CronJob/veen-selftest-core-periodic",
    ],
  );
  for (const o of objs) {
    validateStrict(o);
    if (o.kind !== "Namespace") assert.equal(o.metadata.namespace, "veen-tenant-acme-prod");
    if (o.kind !== "Namespace") {
      assert.equal(o.metadata.labels["veen.io/tenant-id"], "acme-prod", `${o.kind}`);
    }
  }
  const dep = objs.find((o) => o.kind === "Deployment")!;
  assert.deepEqual(dep.spec.template.spec.volumes.find((v: K8sObject) => v.name === "veen-data"), {
    name: "veen-data",
    emptyDir: {},
  });
  assert.equal(
    objs.find((o) => o.kind === "ConfigMap")!.data["profile.toml"].includes(
      'authority_url = "http://veen-authority.veen-system.svc.cluster.local:8080"',
    ),
    true,
  );
  const np = objs.find((o) => o.kind === "NetworkPolicy")!;
  assert.deepEqual(np.spec.podSelector.matchLabels, { app: "veen-hub", "veen.hub.name": "acme-prod" });
  assert.deepEqual(np.spec.ingress[0].from[0].podSelector.matchExpressions[0].values, [
    "bridge",
    "cli",
    "selftest",
  ]);
  const job = objs.find((o) => o.kind === "Job")!;
  assert.deepEqual(job.spec.template.spec.containers[0].args, [
    "selftest",
    "core",
    "--hub",
    "http://veen-hub:8080",
  ]);
  const cron = objs.find((o) => o.kind === "CronJob")!;
  assert.equal(cron.spec.concurrencyPolicy, "Forbid");

  const withStorage: K8sObject[] = JSON.parse(
    (await kube([
      ...base,
      "--storage",
      "5Gi",
      "--storage-class",
      "fast",
      "--allow-from-label",
      "app=shop,tier=web",
    ])).out,
  );
  const pvc = withStorage.find((o) => o.kind === "PersistentVolumeClaim")!;
  assert.equal(pvc.metadata.name, "veen-hub-data");
  assert.equal(pvc.spec.resources.requests.storage, "5Gi");
  assert.equal(pvc.spec.storageClassName, "fast");
  for (const o of withStorage) validateStrict(o);
  const np2 = withStorage.find((o) => o.kind === "NetworkPolicy")!;
  assert.deepEqual(np2.spec.ingress[0].from[2], {
    podSelector: { matchLabels: { app: "shop", tier: "web" } },
  });
});

Deno.test("the strict schema check catches misspelled fields and wrong types", () => {
  const objs = [
    { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { selectr: { a: "b" } } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", lables: { a: "b" } } },
    { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: "80" }] } },
  ];
  for (const o of objs) assert.throws(() => validateStrict(o));
  validateStrict({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s" },
    spec: { selector: { a: "b" } },
  });
});

Deno.test("kube job manifests are schema-valid too", () => {
  for (const action of ["send", "stream"] as const) {
    const job = jobObject({
      action,
      name: `veen-job-${action}-0123456789`,
      namespace: "veen-tenants",
      image: "veen:0.1.0",
      hubUrl: "http://veen-hub-alpha.veen-tenants.svc.cluster.local:8080",
      clientSecret: "tenant-a-client",
      capSecret: "tenant-a-cap",
      stream: "core/main",
      body: '{"k":"v"}',
      profileId: P1,
      timeoutMs: 5000,
      from: 0,
      withProof: true,
      statePvc: "state",
      env: [["A", "1"]],
      universeId: "default",
      tenantId: "a",
      deadlineSeconds: 300,
    });
    validateStrict(job);
  }
});

Deno.test("kube render output is byte-identical across runs and processes; YAML and JSON carry the same objects", async () => {
  await withFiles(async (dir) => {
    const args = USAGE_RENDER(dir);
    const yaml1 = (await kube(args)).out;
    const yaml2 = (await kube(args)).out;
    const json1 = (await kube([...args, "--json"])).out;
    assert.equal(yaml1, yaml2);
    assert.ok(yaml1.startsWith("---\napiVersion: v1\nkind: Namespace\n"));
    const fromYaml = parseAllDocuments(yaml1).map((d) => d.toJS());
    assert.deepEqual(fromYaml, JSON.parse(json1));

    const run = async (extra: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--unstable-kv", "mod.ts", "kube", ...args, ...extra],
        cwd: new URL("../", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return new TextDecoder().decode(out.stdout);
    };
    assert.equal(await run([]), yaml1);
    assert.equal(await run(["--json"]), json1);
    for (const profile of [["--profile", "authority"], ["--profile", "tenant", "--tenant-id", "t1"]]) {
      const a = (await kube(["render", ...profile, "--image", "veen:1"])).out;
      const b = (await kube(["render", ...profile, "--image", "veen:1"])).out;
      assert.equal(a, b);
    }
  });
});

Deno.test("kube render: profile_id from --config, flag wins; missing limit means request,request; --no-namespace", async () => {
  await withFiles(async (dir) => {
    const base = [
      "render",
      "--namespace",
      "ns1",
      "--name",
      "b",
      "--image",
      "i:1",
      "--data-pvc",
      "d",
      "--json",
    ];
    let objs: K8sObject[] = JSON.parse(
      (await kube([...base, "--config", `${dir}/hub-config.toml`, "--profile-id", P2])).out,
    );
    const args = (o: K8sObject[]) =>
      o.find((x) => x.kind === "Deployment")!.spec.template.spec.containers[0].args;
    assert.equal(args(objs).at(-1), P2);
    objs = JSON.parse((await kube([...base, "--resources-cpu", "200m", "--no-namespace"])).out);
    assert.equal(objs[0]!.kind, "ServiceAccount");
    assert.equal(args(objs).at(-1), P1);
    const c = objs.find((x) => x.kind === "Deployment")!.spec.template.spec.containers[0];
    assert.deepEqual(c.resources.requests.cpu, "200m");
    assert.deepEqual(c.resources.limits.cpu, "200m");
    assert.deepEqual(c.resources.limits.memory, "512Mi");
    assert.match(
      objs.find((x) => x.kind === "ConfigMap")!.data["hub-config.toml"],
      new RegExp(`profile_id = "${P1}"`),
    );
  });
});

Deno.test("kube render: bad input is a usage error (exit 1), JSON under --json", async () => {
  const base = ["render", "--namespace", "ns1", "--name", "b", "--image", "i:1", "--data-pvc", "d"];
  const cases: [string[], RegExp][] = [
    [["render", "--namespace", "ns1", "--name", "b", "--image", "i:1"], /Missing required flag --data-pvc/],
    [["render", "--namespace", "ns1", "--name", "b", "--data-pvc", "d"], /Missing required flag --image/],
    [[...base, "--replicas", "2"], /--replicas must be 0 or 1/],
    [[...base, "--replicas", "x"], /--replicas must be an integer/],
    [[...base, "--resources-cpu", "lots"], /--resources-cpu/],
    [[...base, "--resources-mem", "1Gi,2Gi,3Gi"], /--resources-mem/],
    [[...base, "--profile-id", "00"], /--profile-id must be 64 hex/],
    [[...base, "--config", "/nonexistent/hub.toml"], /Cannot read --config file/],
    [
      ["render", "--namespace", "Bad_NS", "--name", "b", "--image", "i", "--data-pvc", "d"],
      /--namespace must be a DNS label/,
    ],
    [
      ["render", "--namespace", "n", "--name", "x".repeat(60), "--image", "i", "--data-pvc", "d"],
      /--name must be a DNS label/,
    ],
    [["render", "--profile", "tenant", "--image", "i"], /needs --tenant-id/],
    [
      ["render", "--profile", "tenant", "--tenant-id", "a", "--namespace", "other", "--image", "i"],
      /lives in namespace veen-tenant-a/,
    ],
    [["render", "--profile", "mesh", "--image", "i"], /--profile must be authority or tenant/],
    [[...base, "--storage", "1Gi"], /--storage applies to --profile/],
    [[...base, "--log-level", "loud"], /--log-level/],
    [[...base, "--whatever"], /Unknown flag --whatever/],
  ];
  for (const [args, re] of cases) {
    const r = await kube(args);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, /^E\.USAGE: /m);
    assert.match(r.err, re);
    assert.equal(r.out, "");
  }
  const j = await kube([...base, "--replicas", "9", "--json"]);
  assert.equal(j.code, 1);
  assert.deepEqual(Object.keys(JSON.parse(j.out)), ["ok", "code", "detail"]);
  assert.equal((await kube(["render", "--help"])).code, 0);
  assert.equal((await kube(["--help"])).code, 0);
  assert.equal((await kube([])).code, 1);
  assert.equal((await kube(["explode"])).code, 1);
});

Deno.test("kube render --bridge and --admin-bridge: bridge objects validate; profiles run --profile with hub.yaml", async () => {
  const r = await kube([
    ..."render --bridge orders --namespace veen-system --image veen:1 --replicate --json".split(" "),
    ...[
      "--from",
      "http://veen-authority:8080",
      "--to",
      "http://veen-hub.veen-tenant-t1.svc.cluster.local:8080",
    ],
  ]);
  assert.equal(r.code, 0, r.err);
  const objs = JSON.parse(r.out) as K8sObject[];
  assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`), [
    "ConfigMap/veen-bridge-orders-config",
    "Deployment/veen-bridge-orders",
  ]);
  for (const o of objs) validateStrict(o);
  assert.equal(objs[1]!.metadata.labels["app.kubernetes.io/component"], "bridge");
  const tenant = await kube(
    "render --profile tenant --tenant-id t1 --image veen:1 --admin-bridge --json".split(" "),
  );
  assert.equal(tenant.code, 0, tenant.err);
  const tobjs = JSON.parse(tenant.out) as K8sObject[];
  for (const o of tobjs) validateStrict(o);
  assert.deepEqual(tobjs.slice(-2).map((o) => `${o.kind}/${o.metadata.name}`), [
    "ConfigMap/veen-bridge-admin-config",
    "Deployment/veen-bridge-admin",
  ]);
  const hub = tobjs.find((o) => o.kind === "Deployment" && o.metadata.name === "veen-hub")!;
  const args = hub.spec.template.spec.containers[0].args as string[];
  assert.deepEqual(args.slice(args.indexOf("--profile"), args.indexOf("--profile") + 4), [
    "--profile",
    "tenant",
    "--config",
    "/etc/veen/hub.yaml",
  ]);
  for (
    const bad of [
      ["--bridge", "x", "--namespace", "n", "--image", "i", "--from", "http://a:1"],
      ["--bridge", "x", "--image", "i", "--from", "http://a:1", "--to", "http://b:1"],
      ["--bridge", "x", "--namespace", "n", "--image", "i", "--from", "http://a:1", "--to", "http://a:1"],
      [
        "--bridge",
        "x",
        "--namespace",
        "n",
        "--name",
        "h",
        "--image",
        "i",
        "--from",
        "http://a:1",
        "--to",
        "http://b:1",
      ],
      ["--profile", "authority", "--image", "i", "--admin-bridge"],
      ["--profile", "tenant", "--tenant-id", "t", "--image", "i", "--from", "http://a:1"],
    ]
  ) {
    assert.equal((await kube(["render", ...bad])).code, 1, bad.join(" "));
  }
});
