/**
 * Attachments (CORE-GOALS 1.2): `send --attach`, `attachment verify` (coid and att_root), a one-bit mutation
 * rejected (exit 4), `stream --save-attachments` gives back the original bytes.
 */
import { bytesEqual } from "../../core/mod.ts";
import { check, short } from "../harness.ts";
import { arr, type CoreStep, sendArgs, streamArgs } from "./context.ts";

export const attachments: CoreStep = {
  name: "attachments",
  goal: "send --attach, attachment verify, mutation rejected, stream --save-attachments (1.2)",
  async run(ctx, ev) {
    const { h } = ctx;
    const url = ctx.url;
    ctx.needOpen();
    const stream = ctx.S("core/att");
    const files = `${h.root}/files`;
    const data = ctx.rng.bytes(ctx.rng.range(20_000, 60_000));
    await Deno.writeFile(`${files}/big.bin`, data);
    const s = await h.ok([
      ...sendArgs(url, ctx.alice.dir, stream),
      "--attach",
      `${files}/big.bin`,
      "--dump-raw",
      `${files}/msg_att.cbor`,
      `${files}/receipt_att.cbor`,
    ]);
    const att = arr(s.attachments, "send attachments")[0];
    check(att !== undefined, "send reported no attachment");
    ev.push(`send --attach (${data.length} B): stream_seq ${s.stream_seq}, coid ${short(att.coid)}`);
    const v = await h.ok([
      "attachment",
      "verify",
      "--msg",
      `${files}/msg_att.cbor`,
      "--file",
      `${files}/big.bin`,
      "--client",
      ctx.alice.dir,
    ]);
    check(v.coid === att.coid, "attachment verify computed another coid");
    ev.push(`attachment verify: coid and att_root ${short(v.att_root)} match`);
    const bad = new Uint8Array(data);
    const pos = ctx.rng.int(bad.length);
    bad[pos] = bad[pos]! ^ 0x01;
    await Deno.writeFile(`${files}/big.bad`, bad);
    const r = await h.cli([
      "attachment",
      "verify",
      "--msg",
      `${files}/msg_att.cbor`,
      "--file",
      `${files}/big.bad`,
      "--client",
      ctx.alice.dir,
    ]);
    check(r.code === 4, `attachment verify of a mutated file exited ${r.code}, expected 4`);
    ev.push(`one flipped bit at byte ${pos}: attachment verify exit 4 (${r.json?.code})`);
    const out = `${files}/saved`;
    const st = await h.ok([
      ...streamArgs(url, ctx.alice.dir, stream),
      "--save-attachments",
      out,
    ]);
    const saved = arr(st.items, "items")[0]?.saved as string[] | undefined;
    check(saved !== undefined && saved.length === 1, "stream --save-attachments saved nothing");
    check(
      bytesEqual(await Deno.readFile(saved[0]!), data),
      "the saved attachment differs from the original",
    );
    ev.push(`stream --save-attachments: decrypted file equals the original`);
  },
};
