/**
 * Duplicates: re-POSTing the exact bytes of a sent MSG (`send --dump-raw`) is 409 E.DUP and does not grow the label.
 */
import { fromHex, labelFor, streamIdFor, toHex } from "../../core/mod.ts";
import { check, expectError, short } from "../harness.ts";
import { type CoreStep, sendArgs } from "./context.ts";

export const duplicates: CoreStep = {
  name: "duplicates",
  goal: "send --dump-raw, then re-POST the same MSG bytes → 409 E.DUP",
  async run(ctx, ev) {
    const { h } = ctx;
    const url = ctx.url;
    ctx.needOpen();
    const stream = ctx.S("core/dup");
    const files = `${h.root}/files`;
    const s = await h.ok([
      ...sendArgs(url, ctx.alice.dir, stream),
      "--body",
      '{"dup":1}',
      "--dump-raw",
      `${files}/dup_msg.cbor`,
      `${files}/dup_receipt.cbor`,
    ]);
    const bytes = await Deno.readFile(`${files}/dup_msg.cbor`);
    const r = await h.post(url, "/submit", bytes);
    ev.push(
      `send stream_seq ${s.stream_seq} msg_id ${short(s.msg_id)}; re-POST: ${
        expectError(r, "E.DUP", "duplicate MSG")
      }`,
    );
    const label = toHex(labelFor(streamIdFor(stream), fromHex(String(ctx.info.routing_key_hex ?? ""))));
    const health = await h.json(`${url}/healthz?label=${label}`);
    check(
      health.last_stream_seq === s.stream_seq,
      `the label grew to ${health.last_stream_seq} after a duplicate`,
    );
    ev.push(`label still ends at stream_seq ${health.last_stream_seq}`);
  },
};
