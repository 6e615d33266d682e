/**
 * Operations: `veen env` (environment descriptors, CLI-GOALS-3 §4) and `veen kube` (Kubernetes rendering and
 * kubectl-driven lifecycle, CLI-GOALS-3 §2-3 and spec 000) as framework commands: OPS_COMMANDS is what the
 * root program (mod.ts) loads when a command is not in the other roles' tables.
 */
import type { Command } from "../cmd/mod.ts";
import { toolCommands } from "./io.ts";
import { ENV_TOOL } from "./env.ts";
import { KUBE_TOOL } from "./kube.ts";

export { type ResolvedHub, resolveHubEntryFromEnv, resolveHubFromEnv } from "./env.ts";

/** The `veen env` and `veen kube` subcommands as framework commands (for the root help and `veen help`). */
export const OPS_COMMANDS: readonly Command[] = [...toolCommands(ENV_TOOL), ...toolCommands(KUBE_TOOL)];
