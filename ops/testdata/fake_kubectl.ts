/**
 * A stand-in for `kubectl` in tests (no cluster here). It appends its argv as one JSON line to $FAKE_KUBECTL_LOG,
 * keeps a little cluster in the JSON file $FAKE_KUBE_STATE, and answers the way kubectl does: the same stdout lines
 * ("deployment.apps/x created", `deployment.apps "x" deleted`, "deployment.apps/x patched" for `patch --type json`), the same `Error from server (NotFound): ...`
 * stderr and exit status 1 on failure. It implements only what ops/ calls.
 *
 * State: {namespaces: [..], objects: {"ns/kind/name": obj}, pods: [pod], health: {pod: answer|"error text"},
 *         logs: {pod: text}, jobOutcome: "succeeded"|"failed"|"pending", jobLogs: text, readyAfterGets: n,
 *         unreachable: bool, stdin: [texts], exec: {root, hubUrl, veen: argv}}
 *
 * `exec POD [-c C] -- CMD...` runs CMD on this machine when `exec` is set: `veen` is `exec.veen`, and the pod's
 * /var/lib/veen and /tmp and its hub's http://127.0.0.1:8080 are `exec.root`/var/lib/veen, `exec.root`/tmp and
 * `exec.hubUrl` (in arguments and `sh -c` scripts); stdin, stdout and exit status pass through (binary).
 * `scale` to 0 stops the workload's pods (to `stoppedPods`), back up restarts them; `wait --for=delete` succeeds
 * when no pod matches; `/proxy/healthz?label=L` answers `health[pod].byLabel[L]` when present.
 */
// deno-lint-ignore-file no-explicit-any

const statePath = Deno.env.get("FAKE_KUBE_STATE")!;
const logPath = Deno.env.get("FAKE_KUBECTL_LOG")!;
const argv = [...Deno.args];
Deno.writeTextFileSync(logPath, JSON.stringify(argv) + "\n", { append: true });
const state: any = JSON.parse(Deno.readTextFileSync(statePath));
state.objects ??= {};
state.namespaces ??= ["default"];
state.pods ??= [];
state.stdin ??= [];

function save(): void {
  Deno.writeTextFileSync(statePath, JSON.stringify(state, null, 2));
}
function out(s: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(s));
}
function fail(msg: string): never {
  Deno.stderr.writeSync(new TextEncoder().encode(msg + "\n"));
  save();
  Deno.exit(1);
}

if (state.unreachable) {
  fail("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?");
}

// Global flags
let context = "";
let namespace = "default";
const rest: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === "--context") context = argv[++i]!;
  else if (a === "--namespace" || a === "-n") namespace = argv[++i]!;
  else rest.push(a);
}
if (context !== "" && state.contexts !== undefined && !state.contexts.includes(context)) {
  fail(`error: context "${context}" does not exist`);
}

const RES: Record<string, [string, string, boolean]> = {
  // kind → [resource (singular), group suffix, namespaced]
  Namespace: ["namespace", "", false],
  ServiceAccount: ["serviceaccount", "", true],
  Role: ["role", ".rbac.authorization.k8s.io", true],
  RoleBinding: ["rolebinding", ".rbac.authorization.k8s.io", true],
  ClusterRole: ["clusterrole", ".rbac.authorization.k8s.io", false],
  ConfigMap: ["configmap", "", true],
  Secret: ["secret", "", true],
  PersistentVolumeClaim: ["persistentvolumeclaim", "", true],
  Deployment: ["deployment", ".apps", true],
  StatefulSet: ["statefulset", ".apps", true],
  Service: ["service", "", true],
  NetworkPolicy: ["networkpolicy", ".networking.k8s.io", true],
  Job: ["job", ".batch", true],
  CronJob: ["cronjob", ".batch", true],
  Pod: ["pod", "", true],
};
const kindOfResource = (r: string): string | undefined => Object.keys(RES).find((k) => RES[k]![0] === r);
const keyOf = (kind: string, ns: string, name: string) => `${RES[kind]![2] ? ns : ""}/${kind}/${name}`;
const plural = (kind: string) => RES[kind]![0] + (RES[kind]![0].endsWith("s") ? "es" : "s") + RES[kind]![1];

function readStdin(): string {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = Deno.stdin.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
  }
  const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const text = new TextDecoder().decode(all);
  state.stdin.push(text);
  return text;
}

function itemsOf(doc: any): any[] {
  return doc.kind === "List" ? doc.items : [doc];
}

function withStatus(obj: any): any {
  const o = structuredClone(obj);
  if (o.kind === "Deployment" || o.kind === "StatefulSet") {
    state.gets = (state.gets ?? 0) + 1;
    const ready = state.gets > (state.readyAfterGets ?? 0) ? o.spec.replicas ?? 1 : 0;
    o.metadata.generation = 1;
    o.status = { observedGeneration: 1, replicas: o.spec.replicas ?? 1, readyReplicas: ready };
  }
  if (o.kind === "Job") {
    const outcome = state.jobOutcome ?? "succeeded";
    o.status = outcome === "succeeded"
      ? { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] }
      : outcome === "failed"
      ? { failed: 1, conditions: [{ type: "Failed", status: "True" }] }
      : { active: 1 };
  }
  return o;
}

function matches(labels: Record<string, string> | undefined, sel: string): boolean {
  return sel.split(",").every((p) => {
    const [k, v] = p.split("=");
    return labels?.[k!] === v;
  });
}

function target(spec: string): [string, string] {
  const [r, name] = spec.split("/");
  const kind = kindOfResource(r!);
  if (kind === undefined || name === undefined) fail(`error: the server doesn't have a resource type "${r}"`);
  return [kind, name];
}

const verb = rest[0];
const flag = (name: string) => rest.includes(name);
const flagValue = (name: string) => {
  const i = rest.indexOf(name);
  return i < 0 ? undefined : rest[i + 1];
};

switch (verb) {
  case "apply":
  case "create": {
    const doc = JSON.parse(readStdin());
    for (const o of itemsOf(doc)) {
      const ns = o.metadata.namespace ?? namespace;
      const key = keyOf(o.kind, ns, o.metadata.name);
      const res = `${RES[o.kind]![0]}${RES[o.kind]![1]}`;
      if (verb === "create" && state.objects[key] !== undefined) {
        fail(
          `Error from server (AlreadyExists): error when creating "STDIN": ${
            plural(o.kind)
          } "${o.metadata.name}" already exists`,
        );
      }
      if (RES[o.kind]![2] && !state.namespaces.includes(ns)) {
        fail(`Error from server (NotFound): error when creating "STDIN": namespaces "${ns}" not found`);
      }
      const before = state.objects[key];
      state.objects[key] = o;
      if (o.kind === "Namespace" && !state.namespaces.includes(o.metadata.name)) {
        state.namespaces.push(o.metadata.name);
      }
      const what = before === undefined
        ? "created"
        : JSON.stringify(before) === JSON.stringify(o)
        ? "unchanged"
        : "configured";
      out(`${res}/${o.metadata.name} ${what}\n`);
    }
    break;
  }
  case "get": {
    if (flag("--raw")) {
      const [path, query] = flagValue("--raw")!.split("?");
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/:]+):(\d+)\/proxy\/healthz$/.exec(path!);
      let h = m === null ? undefined : state.health?.[m[2]!];
      const label = new URLSearchParams(query ?? "").get("label");
      if (label !== null && h?.byLabel !== undefined) h = h.byLabel[label];
      if (h === undefined) {
        fail(`Error from server (NotFound): the server could not find the requested resource`);
      }
      if (typeof h === "string") fail(h);
      out(JSON.stringify(h));
      break;
    }
    const what = rest[1]!;
    if (what === "namespace") {
      const name = rest[2]!;
      if (!state.namespaces.includes(name)) {
        fail(`Error from server (NotFound): namespaces "${name}" not found`);
      }
      out(`namespace/${name}\n`);
      break;
    }
    if (what === "pods") {
      const sel = flagValue("-l") ?? "";
      const items = state.pods.filter((p: any) =>
        p.metadata.namespace === namespace && matches(p.metadata.labels, sel)
      );
      out(JSON.stringify({ apiVersion: "v1", kind: "List", items }));
      break;
    }
    const [kind, name] = target(what);
    const o = state.objects[keyOf(kind, namespace, name)];
    if (o === undefined) fail(`Error from server (NotFound): ${plural(kind)} "${name}" not found`);
    out(JSON.stringify(withStatus(o)));
    break;
  }
  case "delete": {
    const targets = rest.slice(1).filter((a) => !a.startsWith("-"));
    for (const t of targets) {
      const [kind, name] = target(t);
      const key = keyOf(kind, namespace, name);
      if (state.objects[key] === undefined) {
        if (flag("--ignore-not-found")) continue;
        fail(`Error from server (NotFound): ${plural(kind)} "${name}" not found`);
      }
      delete state.objects[key];
      out(`${RES[kind]![0]}${RES[kind]![1]} "${name}" deleted\n`);
    }
    break;
  }
  case "patch": {
    const [kind, name] = target(rest[1]!);
    const key = keyOf(kind, namespace, name);
    const o = state.objects[key];
    if (o === undefined) fail(`Error from server (NotFound): ${plural(kind)} "${name}" not found`);
    if (flagValue("--type") !== "json") fail("error: only --type json is implemented here");
    for (const op of JSON.parse(flagValue("-p")!)) {
      const parts = op.path.split("/").slice(1);
      let t = o;
      for (const p of parts.slice(0, -1)) {
        t = t[p];
        if (t === undefined) fail(`The request is invalid: the server rejected our request: path ${op.path}`);
      }
      const last = parts[parts.length - 1];
      if (op.op === "add" && Array.isArray(t) && last === "-") t.push(op.value);
      else if (op.op === "add" || (op.op === "replace" && last in t)) t[last] = op.value;
      else fail(`The request is invalid: the server rejected our request: ${op.op} ${op.path}`);
    }
    out(`${RES[kind]![0]}${RES[kind]![1]}/${name} patched\n`);
    break;
  }
  case "logs": {
    const what = rest[1]!;
    if (what === "-l") {
      const sel = rest[2]!;
      for (
        const p of state.pods.filter((p: any) =>
          p.metadata.namespace === namespace && matches(p.metadata.labels, sel)
        )
      ) {
        out(state.logs?.[p.metadata.name] ?? "");
      }
    } else if (what.startsWith("job/")) {
      if (state.objects[keyOf("Job", namespace, what.slice(4))] === undefined) {
        fail(`Error from server (NotFound): jobs.batch "${what.slice(4)}" not found`);
      }
      out(state.jobLogs ?? "");
    } else {
      const log = state.logs?.[what];
      if (log === undefined) fail(`Error from server (NotFound): pods "${what}" not found`);
      out(log);
    }
    break;
  }
  case "exec":
    execHere();
    break;
  case "scale": {
    const [kind, name] = target(rest[1]!);
    const o = state.objects[keyOf(kind, namespace, name)];
    if (o === undefined) fail(`Error from server (NotFound): ${plural(kind)} "${name}" not found`);
    o.spec.replicas = Number(
      flagValue("--replicas") ?? rest.find((a) => a.startsWith("--replicas="))!.slice(11),
    );
    const tpl: Record<string, string> = o.spec.template?.metadata?.labels ?? {};
    const mine = (p: any) =>
      p.metadata.namespace === namespace &&
      Object.entries(tpl).every(([k, v]) => p.metadata.labels?.[k] === v);
    state.stoppedPods ??= [];
    if (o.spec.replicas === 0) {
      state.stoppedPods.push(...state.pods.filter(mine));
      state.pods = state.pods.filter((p: any) => !mine(p));
    } else {
      state.pods.push(...state.stoppedPods.filter(mine));
      state.stoppedPods = state.stoppedPods.filter((p: any) => !mine(p));
    }
    out(`${RES[kind]![0]}${RES[kind]![1]}/${name} scaled\n`);
    break;
  }
  case "wait": {
    if (flag("--for=delete")) {
      const sel = flagValue("-l") ?? "";
      if (
        state.pods.some((p: any) => p.metadata.namespace === namespace && matches(p.metadata.labels, sel))
      ) {
        fail("error: timed out waiting for the condition on pods");
      }
      break;
    }
    const [kind, name] = target(rest.find((a) => a.includes("/") && !a.startsWith("-"))!);
    if (state.objects[keyOf(kind, namespace, name)] === undefined) {
      fail(`Error from server (NotFound): ${plural(kind)} "${name}" not found`);
    }
    out(`${RES[kind]![0]}/${name} condition met\n`);
    break;
  }
  case "rollout": {
    const [kind, name] = target(rest[2]!);
    if (state.objects[keyOf(kind, namespace, name)] === undefined) {
      fail(`Error from server (NotFound): ${plural(kind)} "${name}" not found`);
    }
    out(`${RES[kind]![0]} "${name}" successfully rolled out\n`);
    break;
  }
  default:
    fail(`error: unknown command "${verb}" for "kubectl"`);
}
save();

/** `exec`: runs the command here with the pod's paths mapped (see the module doc); exits with its status. */
function execHere(): void {
  const x = state.exec;
  if (x === undefined) fail("error: unable to upgrade connection: exec is not set up in this fake");
  const cmd = rest.slice(rest.indexOf("--") + 1);
  // One pass, so that a mapped path is not mapped again.
  const map = (a: string) =>
    a.replace(
      /http:\/\/127\.0\.0\.1:8080|(?<![\w/.-])\/var\/lib\/veen|(?<![\w/.-])\/tmp\//g,
      (m) => m.startsWith("http") ? x.hubUrl ?? "http://127.0.0.1:1" : `${x.root}${m}`,
    );
  const argv = cmd[0] === "veen" ? [...x.veen, ...cmd.slice(1).map(map)] : cmd.map(map);
  save();
  const st = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: flag("-i") ? "inherit" : "null",
    stdout: "inherit",
    stderr: "inherit",
  }).outputSync();
  Deno.exit(st.code);
}
