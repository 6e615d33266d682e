/**
 * Operations: `veen env` (environment descriptors, CLI-GOALS-3 §4) and `veen kube` (Kubernetes rendering and
 * kubectl-driven lifecycle, CLI-GOALS-3 §2-3 and spec 000). mod.ts routes `veen env ...` to envMain and
 * `veen kube ...` to kubeMain with the words after "env"/"kube".
 */
import { processIo } from "./io.ts";
import { runEnv } from "./env.ts";
import { runKube } from "./kube.ts";

export { OpsError } from "./io.ts";
export { type ResolvedHub, resolveHubEntryFromEnv, resolveHubFromEnv } from "./env.ts";

/** `veen env init|add-hub|add-tenant|show`; returns the exit code. */
export async function envMain(args: string[]): Promise<number> {
  return await runEnv(args, processIo());
}

/** `veen kube render|apply|status|delete|logs|job send|job stream`; returns the exit code. */
export async function kubeMain(args: string[]): Promise<number> {
  return await runKube(args, processIo());
}

if (import.meta.main) {
  const [cmd, ...rest] = Deno.args;
  Deno.exit(cmd === "env" ? await envMain(rest) : cmd === "kube" ? await kubeMain(rest) : 1);
}
