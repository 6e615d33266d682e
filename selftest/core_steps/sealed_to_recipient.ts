/**
 * Sealed to a recipient: `send --to CARD` is decryptable by the recipient only.
 */
import { check, short } from "../harness.ts";
import { arr, type CoreStep, sendArgs, streamArgs } from "./context.ts";

export const sealedToRecipient: CoreStep = {
  name: "sealed-to-recipient",
  goal: "send --to CARD: only the recipient can decrypt",
  async run(ctx, ev) {
    const { h } = ctx;
    const url = ctx.url;
    ctx.needOpen();
    const stream = ctx.S("core/sealed");
    const s = await h.ok([
      ...sendArgs(url, ctx.alice.dir, stream),
      "--to",
      ctx.bob.dir,
      "--body",
      JSON.stringify({ secret: ctx.marker }),
    ]);
    ev.push(`alice → bob: stream_seq ${s.stream_seq} msg_id ${short(s.msg_id)}`);
    const b = await h.ok([...streamArgs(url, ctx.bob.dir, stream)]);
    const bi = arr(b.items, "stream items")[0];
    check(bi?.decrypted === true, `bob could not decrypt: ${bi?.payload}`);
    check((bi.body as Record<string, unknown>).secret === ctx.marker, "bob decrypted another body");
    const a = await h.ok([...streamArgs(url, ctx.alice.dir, stream)]);
    const ai = arr(a.items, "stream items")[0];
    check(ai?.decrypted === false, "alice (not the recipient) could decrypt a MSG sealed to bob");
    ev.push(`bob: decrypted; alice: verified but not decryptable (${ai.payload})`);
  },
};
