/**
 * Operations: `veen env` (environment descriptors, CLI-GOALS-3 §4) and `veen kube` (Kubernetes rendering and
 * kubectl-driven lifecycle, CLI-GOALS-3 §2-3 and spec 000). mod.ts routes `veen env ...` to envMain and
 * `veen kube ...` to kubeMain with the words after "env"/"kube"; OPS_COMMANDS feeds the root help.
 */
import type { Command } from "../cmd/mod.ts";
import { type OpsIo, processIo, toolCommands } from "./io.ts";
import { ENV_TOOL, runEnv } from "./env.ts";
import { KUBE_TOOL, runKube } from "./kube.ts";

export { type ResolvedHub, resolveHubEntryFromEnv, resolveHubFromEnv } from "./env.ts";

/** The `veen env` and `veen kube` subcommands as framework commands (for the root help and `veen help`). */
export const OPS_COMMANDS: readonly Command[] = [...toolCommands(ENV_TOOL), ...toolCommands(KUBE_TOOL)];

/** `veen env init|add-hub|add-tenant|show`; returns the exit code. */
export async function envMain(args: string[], io: OpsIo = processIo()): Promise<number> {
  return await runEnv(args, io);
}

/** `veen kube render|apply|status|delete|logs|job send|job stream`; returns the exit code. */
export async function kubeMain(args: string[], io: OpsIo = processIo()): Promise<number> {
  return await runKube(args, io);
}
