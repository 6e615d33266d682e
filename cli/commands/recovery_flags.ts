/** The recovery policy flags shared by `recovery timeline` and `wallet ledger` (overlays/recovery_timeline.ts). */
import { type FlagSpec, parseHex32, parseUint } from "../../cmd/mod.ts";
import type { RecoveryPolicy } from "../../overlays/mod.ts";
import type { CommandContext } from "../context.ts";

export const RECOVERY_POLICY_FLAGS: FlagSpec[] = [
  { name: "threshold", metavar: "N", help: "distinct guardian approvals an execution needs (default 1)" },
  {
    name: "guardian",
    metavar: "HEX32",
    multiple: true,
    help: "a guardian identity (repeatable; default: any approver counts)",
  },
];

export function recoveryPolicy(ctx: CommandContext): RecoveryPolicy {
  const t = ctx.flags.str("threshold");
  const guardians = ctx.flags.list("guardian").map((g) => {
    parseHex32(g, "--guardian");
    return g.toLowerCase();
  });
  return {
    threshold: t === undefined ? 1 : parseUint(t, "--threshold", { min: 1 }),
    ...(guardians.length === 0 ? {} : { guardians }),
  };
}
