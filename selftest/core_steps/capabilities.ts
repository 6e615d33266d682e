/**
 * Capabilities (CORE-GOALS 1.3): `cap issue` → `cap authorize` → `send --cap`, the stored MSG carries the auth_ref;
 * another stream, another subject and an untrusted issuer are E.CAP.
 */
import { check, short } from "../harness.ts";
import { admissionHub, arr, capIssueArgs, type CoreStep, sendArgs, str, streamArgs } from "./context.ts";

export const capabilities: CoreStep = {
  name: "capabilities",
  goal: "cap issue → cap authorize → send --cap; wrong stream/subject/issuer → E.CAP (1.3)",
  async run(ctx, ev) {
    const { h } = ctx;
    const hub = admissionHub(ctx).url;
    const files = `${h.root}/files`;
    const issued = await h.ok([
      ...capIssueArgs(ctx.admin.dir, ctx.alice.dir, "core/capped", "600"),
      "--rate",
      "5/s,10",
      "--out",
      `${files}/cap_alice.cbor`,
    ]);
    const ref = str(issued.auth_ref, "cap issue auth_ref");
    ev.push(`cap issue: auth_ref ${short(ref)} (admin → alice, core/capped, ttl 600, rate 5/s,10)`);
    const auth = await h.ok([
      "cap",
      "authorize",
      "--hub",
      hub,
      "--cap",
      `${files}/cap_alice.cbor`,
      "--client",
      ctx.alice.dir,
    ]);
    check(auth.auth_ref === ref, `hub answered auth_ref ${auth.auth_ref}, token has ${ref}`);
    ev.push(`cap authorize: auth_ref ${short(auth.auth_ref)} expires_at ${auth.expires_at}`);
    const s = await h.ok([
      ...sendArgs(hub, ctx.alice.dir, "core/capped"),
      "--cap",
      `${files}/cap_alice.cbor`,
      "--body",
      '{"capped":true}',
    ]);
    const st = await h.ok([...streamArgs(hub, ctx.alice.dir, "core/capped")]);
    const item = arr(st.items, "items").find((i) => i.msg_id === s.msg_id);
    check(item?.auth_ref === ref, `the stored MSG carries auth_ref ${item?.auth_ref}, expected ${ref}`);
    ev.push(
      `send --cap: stream_seq ${s.stream_seq} msg_id ${short(s.msg_id)}; stream shows auth_ref ${short(ref)}`,
    );
    const other = await h.refused([
      ...sendArgs(hub, ctx.alice.dir, "core/other"),
      "--cap",
      `${files}/cap_alice.cbor`,
      "--body",
      "{}",
    ], "E.CAP");
    ev.push(`send --cap on a stream the cap does not allow: ${other.code}`);
    const notSubject = await h.refused([
      ...sendArgs(hub, ctx.bob.dir, "core/capped"),
      "--cap",
      `${files}/cap_alice.cbor`,
      "--body",
      "{}",
    ], "E.CAP");
    ev.push(`bob using alice's cap: ${notSubject.code}`);
    await h.ok([
      ...capIssueArgs(ctx.bob.dir, ctx.bob.dir, "core/capped", "600"),
      "--out",
      `${files}/cap_bob_self.cbor`,
    ]);
    const untrusted = await h.refused(
      ["cap", "authorize", "--hub", hub, "--cap", `${files}/cap_bob_self.cbor`],
      "E.CAP",
    );
    ev.push(`cap authorize of a token from an untrusted issuer: ${untrusted.code}`);
  },
};
