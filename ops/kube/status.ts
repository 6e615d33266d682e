/** `veen kube status` (CLI-GOALS-3 §2.4): workload replicas, pods and each running pod's /healthz. */
import { EXIT } from "../../core/mod.ts";
import type { Flags } from "../../cmd/mod.ts";
import { type Mode, type OpsIo, result } from "../io.ts";
import { HUB_PORT, hubSelector, selectorString } from "../kube_names.ts";
import { Kubectl, kubectlError } from "../kubectl.ts";
import { addressNames, podsOf, readWorkload } from "./cluster.ts";

interface PodStatus {
  name: string;
  phase: string;
  ready: boolean;
  restarts: number;
  health: string;
}

export async function status(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const context = f.req("cluster-context");
  const n = addressNames(f);
  const k = new Kubectl(io, context, mode.verbose);
  const w = await readWorkload(k, n.workloadKind, n.workload, n.namespace);
  const sel = selectorString(hubSelector(n));
  const pods = await podsOf(k, n.namespace, sel);
  const out: PodStatus[] = [];
  for (const p of pods) {
    const name = String(p?.metadata?.name ?? "");
    const phase = String(p?.status?.phase ?? "Unknown");
    // deno-lint-ignore no-explicit-any
    const cs: any[] = Array.isArray(p?.status?.containerStatuses) ? p.status.containerStatuses : [];
    const restarts = cs.reduce((a, c) => a + (typeof c?.restartCount === "number" ? c.restartCount : 0), 0);
    const ready = cs.length > 0 && cs.every((c) => c?.ready === true);
    let health: string;
    if (phase !== "Running") {
      health = `not running (${phase})`;
    } else {
      const res = await k.run([
        "get",
        "--raw",
        `/api/v1/namespaces/${n.namespace}/pods/${name}:${HUB_PORT}/proxy/healthz`,
      ]);
      if (res.code !== 0) {
        health = `error: ${kubectlError(res, "healthz").detail.replace(/^healthz: /, "")}`;
      } else {
        try {
          const h = JSON.parse(res.stdout);
          health = h?.ok === true ? "ok" : `error: /healthz answered ok=${JSON.stringify(h?.ok)}`;
        } catch {
          health = "error: /healthz answer is not JSON";
        }
      }
    }
    out.push({ name, phase, ready, restarts, health });
  }
  const lines = [
    `deployment_name: ${n.workload}`,
    `kind: ${n.workloadKind}`,
    `namespace: ${n.namespace}`,
    `desired_replicas: ${w.desired}`,
    `ready_replicas: ${w.ready}`,
    `pods: ${out.length}`,
    ...out.map((p) =>
      `  ${p.name}  phase=${p.phase}  ready=${p.ready}  restarts=${p.restarts}  health=${p.health}`
    ),
  ];
  result(
    io,
    mode,
    {
      deployment_name: n.workload,
      kind: n.workloadKind,
      namespace: n.namespace,
      desired_replicas: w.desired,
      ready_replicas: w.ready,
      pods: out,
    },
    lines,
  );
  return EXIT.OK;
}
