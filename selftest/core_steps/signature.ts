/**
 * Signature (OP0.1, SH0.4: bounds → structure → signature → capability): a MSG whose sig does not verify under its
 * client_id is 409 E.SIG and takes no stream_seq; one flipped bit of sig, and a sig made by another key. Runs
 * against any hub: the signature stage comes before admission, so a hub that requires it must still answer E.SIG.
 */
import { decodeReceipt, encodeMsg, signMsg } from "../../core/mod.ts";
import { Crafter } from "../craft.ts";
import { check, describeAnswer, expectError, fail } from "../harness.ts";
import type { CoreStep } from "./context.ts";

export const signature: CoreStep = {
  name: "signature",
  goal: "a MSG with a flipped sig bit or signed by another key → 409 E.SIG, no stream_seq (OP0.1)",
  async run(ctx, ev) {
    const { h } = ctx;
    const w = new Crafter(`${h.opts.seed}/${h.runId}/sig`, ctx.S("core/sig"));
    const other = new Crafter(`${h.opts.seed}/${h.runId}/sig-other`, ctx.S("core/sig"));
    const good = w.msg({ clientSeq: 1 });
    const flipped = new Uint8Array(good.sig);
    flipped[7] = flipped[7]! ^ 0x01;
    const r1 = await h.post(ctx.url, "/submit", encodeMsg({ ...good, sig: flipped }));
    ev.push(`sig with bit 0 of byte 7 flipped: ${expectError(r1, "E.SIG", "a MSG with a flipped sig bit")}`);
    const { sig: _, ...unsigned } = good;
    const forged = signMsg(unsigned, other.key.secret);
    const r2 = await h.post(ctx.url, "/submit", encodeMsg(forged));
    ev.push(
      `sig by another key under this client_id: ${expectError(r2, "E.SIG", "a MSG signed by another key")}`,
    );
    const r3 = await h.post(ctx.url, "/submit", encodeMsg(good));
    if (!ctx.open) {
      ev.push(`the same MSG correctly signed: ${expectError(r3, "E.AUTH", "the correctly signed MSG")}`);
      return;
    }
    if (r3.status !== 200) fail(`the correctly signed MSG was refused: ${describeAnswer(r3)}`);
    const seq = decodeReceipt(r3.body).streamSeq;
    check(
      seq === 1,
      `the correctly signed MSG got stream_seq ${seq}: a badly signed one was stored before it`,
    );
    ev.push(`the same MSG correctly signed: 200 stream_seq 1 (nothing was stored before it)`);
  },
};
