/** What several `veen kube` subcommands read from the cluster through kubectl, and the hub address flags. */
import type { Flags } from "../../cmd/mod.ts";
import { malformed } from "../io.ts";
import { type HubNames, namesFromFlags } from "../kube_names.ts";
import type { Kubectl } from "../kubectl.ts";

/** The hub named by --namespace/--name or --profile/--tenant-id. */
export function addressNames(f: Flags): HubNames {
  return namesFromFlags({
    profile: f.str("profile"),
    namespace: f.str("namespace"),
    name: f.str("name"),
    tenantId: f.str("tenant-id"),
  });
}

/** kubectl's output lines, trailing blanks trimmed and empty lines dropped. */
export const nonEmptyLines = (s: string): string[] =>
  s.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");

/** A workload's desired and ready replicas, and whether its status is for its current generation. */
export async function readWorkload(
  k: Kubectl,
  kind: string,
  name: string,
  namespace: string,
): Promise<{ desired: number; ready: number; current: boolean }> {
  const o = await k.json(
    ["get", `${kind.toLowerCase()}/${name}`],
    `kubectl get ${kind.toLowerCase()}/${name}`,
    { namespace },
  );
  if (typeof o !== "object" || o === null || typeof o.spec !== "object") {
    throw malformed(`kubectl get ${kind.toLowerCase()}/${name}: not a ${kind}`);
  }
  const desired = typeof o.spec.replicas === "number" ? o.spec.replicas : 1;
  const ready = typeof o.status?.readyReplicas === "number" ? o.status.readyReplicas : 0;
  const gen = o.metadata?.generation;
  const observed = o.status?.observedGeneration;
  const current = typeof gen !== "number" || (typeof observed === "number" && observed >= gen);
  return { desired, ready, current };
}

/** The pods with labels `sel` in `namespace`, sorted by name. */
// deno-lint-ignore no-explicit-any
export async function podsOf(k: Kubectl, namespace: string, sel: string): Promise<any[]> {
  const listDoc = await k.json(["get", "pods", "-l", sel], "kubectl get pods", { namespace });
  if (typeof listDoc !== "object" || listDoc === null || !Array.isArray(listDoc.items)) {
    throw malformed("kubectl get pods: not a List");
  }
  // deno-lint-ignore no-explicit-any
  return [...listDoc.items].sort((a: any, b: any) =>
    String(a?.metadata?.name).localeCompare(String(b?.metadata?.name))
  );
}
