/**
 * Cap expiry (CORE-GOALS 1.3 test 4): a cap with ttl 0 is E.CAP once its expires_at second has passed.
 */
import { admissionHub, capIssueArgs, type CoreStep, num, sendArgs, untilSecond } from "./context.ts";

export const capExpiry: CoreStep = {
  name: "cap-expiry",
  goal: "a cap past its ttl is E.CAP (1.3 test 4)",
  async run(ctx, ev) {
    const { h } = ctx;
    const hub = admissionHub(ctx).url;
    const cap = `${h.root}/files/cap_expiry.cbor`;
    await h.ok([
      ...capIssueArgs(ctx.admin.dir, ctx.alice.dir, "core/expiry", "0"),
      "--out",
      cap,
    ]);
    const auth = await h.ok(["cap", "authorize", "--hub", hub, "--cap", cap]);
    const exp = num(auth.expires_at, "expires_at");
    await untilSecond(exp + 1);
    const r = await h.refused(
      [
        ...sendArgs(hub, ctx.alice.dir, "core/expiry"),
        "--cap",
        cap,
        "--body",
        "{}",
      ],
      "E.CAP",
    );
    ev.push(`ttl 0, expires_at ${exp}; send at ${Math.floor(Date.now() / 1000)}: ${r.code} (${r.detail})`);
  },
};
