/**
 * Rate limit (CORE-GOALS 1.3 test 3): a cap with rate 0/s burst 2 lets two sends through; the third is E.RATE.
 */
import { short } from "../harness.ts";
import { admissionHub, capIssueArgs, type CoreStep, sendArgs } from "./context.ts";

export const rateLimit: CoreStep = {
  name: "rate-limit",
  goal: "a cap with rate 0/s burst 2: two sends pass, the third is E.RATE (1.3 test 3)",
  async run(ctx, ev) {
    const { h } = ctx;
    const hub = admissionHub(ctx).url;
    const cap = `${h.root}/files/cap_rate.cbor`;
    const issued = await h.ok([
      ...capIssueArgs(ctx.admin.dir, ctx.alice.dir, "core/rate", "600"),
      "--rate",
      "0,2",
      "--out",
      cap,
    ]);
    await h.ok(["cap", "authorize", "--hub", hub, "--cap", cap]);
    const send = [
      ...sendArgs(hub, ctx.alice.dir, "core/rate"),
      "--cap",
      cap,
      "--body",
      "{}",
    ];
    const a = await h.ok(send);
    const b = await h.ok(send);
    const c = await h.refused(send, "E.RATE");
    ev.push(
      `auth_ref ${
        short(issued.auth_ref)
      }: stream_seq ${a.stream_seq}, ${b.stream_seq}, then ${c.code} (${c.detail})`,
    );
  },
};
