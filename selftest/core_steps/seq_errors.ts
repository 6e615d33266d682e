/**
 * Sequencing: client_seq reuse after rolled-back client state is E.SEQ and `resync` recovers; a crafted skipped
 * client_seq and a prev_ack ahead of the label are E.SEQ.
 */
import { Crafter } from "../craft.ts";
import { check, expectError } from "../harness.ts";
import { type CoreStep, sendArgs } from "./context.ts";

export const seqErrors: CoreStep = {
  name: "seq-errors",
  goal: "client_seq reuse after lost state, skipped client_seq, prev_ack ahead → E.SEQ",
  async run(ctx, ev) {
    const { h } = ctx;
    const url = ctx.url;
    ctx.needOpen();
    const stream = ctx.S("core/seq");
    const state = `${ctx.alice.dir}/state.json`;
    const send = [...sendArgs(url, ctx.alice.dir, stream), "--body"];
    const first = await h.ok([...send, '{"n":1}']);
    const backup = await Deno.readFile(state);
    const second = await h.ok([...send, '{"n":2}']);
    await Deno.writeFile(state, backup);
    const r = await h.refused([...send, '{"n":"2 again"}'], "E.SEQ");
    ev.push(
      `send stream_seq ${first.stream_seq}, ${second.stream_seq}; state.json rolled back; send reusing client_seq ${second.client_seq}: ${r.code}`,
    );
    const rs = await h.ok(["resync", "--hub", url, "--client", ctx.alice.dir, "--stream", stream]);
    check(
      rs.client_seq === second.client_seq,
      `resync recovered client_seq ${rs.client_seq}, expected ${second.client_seq}`,
    );
    const third = await h.ok([...send, '{"n":3}']);
    ev.push(`veen resync: client_seq ${rs.client_seq} recovered; next send stream_seq ${third.stream_seq}`);
    const w = new Crafter(`${h.opts.seed}/${h.runId}/seq`, stream);
    const ok = await h.post(url, "/submit", w.bytes());
    check(ok.status === 200, `a well-formed crafted MSG was refused with HTTP ${ok.status}`);
    const skip = await h.post(url, "/submit", w.bytes({ clientSeq: w.seq + 2 }));
    ev.push(
      `crafted client_seq ${w.seq + 2} after ${w.seq}: ${expectError(skip, "E.SEQ", "skipped client_seq")}`,
    );
    w.seq = 1;
    const ahead = await h.post(url, "/submit", w.bytes({ clientSeq: 2, prevAck: 1_000_000 }));
    ev.push(`crafted prev_ack 1000000: ${expectError(ahead, "E.SEQ", "prev_ack ahead of the label")}`);
  },
};
