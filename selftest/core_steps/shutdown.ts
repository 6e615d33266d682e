/**
 * Shutdown (own hubs only): `veen hub stop` stops every hub gracefully; the main hub wrote its final checkpoints.
 */
import { check } from "../harness.ts";
import type { CoreStep } from "./context.ts";

export const shutdown: CoreStep = {
  name: "shutdown",
  goal: "veen hub stop: graceful stop, final checkpoints, no process left",
  when: (ctx) => !ctx.h.deployed,
  async run(ctx, ev) {
    const { h } = ctx;
    for (const hub of h.hubs) {
      if (hub.stopped) continue;
      ev.push(await h.stopHub(hub));
    }
    if (ctx.main !== undefined) {
      const cps = await Deno.stat(`${ctx.main.dir}/checkpoints.cborseq`).catch(() => undefined);
      check(cps !== undefined && cps.size > 0, "no checkpoints.cborseq after a graceful stop");
      ev.push(`main hub: checkpoints.cborseq ${cps.size} B after stop`);
    }
  },
};
