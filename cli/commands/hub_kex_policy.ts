/**
 * `veen hub kex-policy --hub H [--json]` (CLI-GOALS-2 §4.1): the hub's KEX1+ policy from GET /kex-policy. JSON is
 * `ok: true` (as every command's) and exactly the goals' fields, null for what the hub leaves unset; text prints
 * `unspecified` for those.
 */
import { type Command, connectFromFlags, HUB_DATA_DIR_FLAG, HUB_FLAG } from "../context.ts";

export const hubKexPolicy: Command = {
  path: ["hub", "kex-policy"],
  summary: "show a hub's KEX1+ key and capability policy",
  usage: "veen hub kex-policy (--hub H | --data-dir DIR) [--json]",
  flags: [HUB_FLAG, HUB_DATA_DIR_FLAG],
  async run(ctx) {
    const s = await connectFromFlags(ctx);
    const policy = await s.http.kexPolicy();
    ctx.out.result(
      { ...policy },
      Object.entries(policy).map(([k, v]) => `${k}: ${v === null ? "unspecified" : String(v)}`),
    );
    return 0;
  },
};
