/**
 * A cap's ttl counts seconds (spec cap_token `allow.ttl`; expires_at = issued_at + ttl): authorize answers an
 * expires_at ttl seconds after the hub first saw the cap, a send within the ttl passes and a send after
 * expires_at is E.CAP. `cap-expiry` (ttl 0) cannot tell seconds from milliseconds; this step can.
 */
import { check } from "../harness.ts";
import { admissionHub, capIssueArgs, type CoreStep, num, sendArgs, untilSecond } from "./context.ts";

/** Long enough that a send one second after authorize is well inside it, even with a slow CLI start. */
const TTL_SEC = 3;

export const capTtl: CoreStep = {
  name: "cap-ttl",
  goal:
    `a cap with ttl ${TTL_SEC} expires ${TTL_SEC} s after authorize, usable until then, E.CAP after (1.3)`,
  async run(ctx, ev) {
    const { h } = ctx;
    const hub = admissionHub(ctx).url;
    const cap = `${ctx.files}/cap_ttl.cbor`;
    const stream = "core/ttl";
    await h.ok([
      ...capIssueArgs(ctx.admin.dir, ctx.alice.dir, stream, String(TTL_SEC)),
      "--out",
      cap,
    ]);
    const before = Math.floor(Date.now() / 1000);
    const auth = await h.ok(["cap", "authorize", "--hub", hub, "--cap", cap]);
    const after = Math.floor(Date.now() / 1000);
    const exp = num(auth.expires_at, "expires_at");
    check(
      exp >= before + TTL_SEC && exp <= after + TTL_SEC,
      `authorize at ${before}..${after} answered expires_at ${exp} for ttl ${TTL_SEC}; expected ${TTL_SEC} s later`,
    );
    ev.push(`ttl ${TTL_SEC}, authorized at ${before}: expires_at ${exp}`);
    const send = [
      ...sendArgs(hub, ctx.alice.dir, stream),
      "--cap",
      cap,
      "--body",
      "{}",
    ];
    await untilSecond(exp - TTL_SEC + 1);
    const at = Math.floor(Date.now() / 1000);
    const s = await h.ok(send);
    ev.push(`send at ${at} (within the ttl): stream_seq ${s.stream_seq}`);
    await untilSecond(exp + 1);
    const r = await h.refused(send, "E.CAP");
    ev.push(`send at ${Math.floor(Date.now() / 1000)} (past expires_at): ${r.code} (${r.detail})`);
  },
};
