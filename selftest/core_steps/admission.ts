/**
 * Admission (CORE-GOALS 1.3 test 1): starts the "admission" hub (`--admission on`, trusting the admin key) that later
 * capability steps use; a send without a cap is 403 E.AUTH. Against a deployed hub that requires admission, only the E.AUTH check.
 */
import { short, StepSkipped } from "../harness.ts";
import { type CoreStep, sendArgs } from "./context.ts";

export const admission: CoreStep = {
  name: "admission",
  goal: "write without cap → 403 E.AUTH (1.3 test 1)",
  async run(ctx, ev) {
    const { h } = ctx;
    const url = ctx.url;
    if (h.deployed) {
      if (ctx.open) throw new StepSkipped("the deployed hub does not require admission");
      const r = await h.refused(
        [...sendArgs(url, ctx.alice.dir, ctx.S("core/capped")), "--body", "{}"],
        "E.AUTH",
      );
      ev.push(`send without --cap: ${r.code}`);
      return;
    }
    ctx.admission = await h.startHub("admission", {
      admission: "on",
      trustedIssuers: [ctx.admin.idSignPublic],
    }, `admission on, trusted issuer admin ${short(ctx.admin.idSignPublic)}`);
    const r = await h.refused(
      [
        ...sendArgs(ctx.admission.url, ctx.alice.dir, "core/capped"),
        "--body",
        "{}",
      ],
      "E.AUTH",
    );
    ev.push(`send without --cap: exit 4 ${r.code} (${r.detail})`);
  },
};
