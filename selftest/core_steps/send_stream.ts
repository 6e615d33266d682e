/**
 * End to end (CORE-GOALS 1.1): `send` ×3 → `stream --with-proof` (proofs verified, bodies decrypted) →
 * `verify-receipt`; MSG and RECEIPT bytes re-encode identically (deterministic CBOR).
 */
import { bytesEqual, decodeMsg, decodeReceipt, encodeMsg, encodeReceipt } from "../../core/mod.ts";
import { check, short } from "../harness.ts";
import { arr, type CoreStep, num, sendArgs, streamArgs } from "./context.ts";

export const sendStream: CoreStep = {
  name: "send-stream",
  goal: "send → stream --with-proof → decrypt → verify-receipt (CORE-GOALS 1.1)",
  async run(ctx, ev) {
    const { h } = ctx;
    const url = ctx.url;
    ctx.needOpen();
    const stream = ctx.S("core/main");
    const files = `${h.root}/files`;
    const sent: Record<string, unknown>[] = [];
    for (let i = 1; i <= 3; i++) {
      const args = [
        ...sendArgs(url, ctx.alice.dir, stream),
        "--body",
        JSON.stringify({ text: `hello-veens ${ctx.marker} #${i}` }),
      ];
      if (i === 1) args.push("--dump-raw", `${files}/msg1.cbor`, `${files}/receipt1.cbor`);
      sent.push(await h.ok(args));
    }
    const seqs = sent.map((s) => num(s.stream_seq, "send stream_seq"));
    check(seqs[1] === seqs[0]! + 1 && seqs[2] === seqs[0]! + 2, `stream_seq not consecutive: ${seqs}`);
    ev.push(`veen send ×3: stream_seq ${seqs.join(",")}, msg_id ${short(sent[0]!.msg_id)} …`);
    const st = await h.ok([
      ...streamArgs(url, ctx.alice.dir, stream),
      "--with-proof",
    ]);
    const items = arr(st.items, "stream items");
    check(items.length === 3, `stream returned ${items.length} items, expected 3`);
    items.forEach((it, i) => {
      check(it.msg_id === sent[i]!.msg_id, `item ${i + 1} msg_id differs from what send reported`);
      check(it.proof === "verified", `item ${i + 1} proof: ${it.proof}`);
      check(it.decrypted === true, `item ${i + 1} was not decrypted: ${it.payload}`);
      const body = it.body as Record<string, unknown> | undefined;
      check(
        body?.text === `hello-veens ${ctx.marker} #${i + 1}`,
        `item ${i + 1} body differs: ${JSON.stringify(body)}`,
      );
    });
    ev.push(`veen stream --with-proof: 3 items, proofs verified, decrypted bodies equal what was sent`);
    const vr = await h.ok([
      "verify-receipt",
      "--receipt",
      `${files}/receipt1.cbor`,
      "--msg",
      `${files}/msg1.cbor`,
      "--stream",
      stream,
      "--client",
      ctx.alice.dir,
      "--hub",
      url,
    ]);
    ev.push(
      `veen verify-receipt: ${Object.keys(vr.checks as object).join(", ")} ok (stream_seq ${vr.stream_seq})`,
    );
    const mb = await Deno.readFile(`${files}/msg1.cbor`);
    const rb = await Deno.readFile(`${files}/receipt1.cbor`);
    check(bytesEqual(encodeMsg(decodeMsg(mb)), mb), "MSG does not re-encode to the same bytes");
    check(bytesEqual(encodeReceipt(decodeReceipt(rb)), rb), "RECEIPT does not re-encode to the same bytes");
    ev.push(`deterministic CBOR: MSG (${mb.length} B) and RECEIPT (${rb.length} B) re-encode identically`);
  },
};
