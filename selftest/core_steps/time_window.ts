/**
 * Time window: on a label_epochs hub a label from a far epoch is 400 E.TIME; the current epoch passes.
 */
import {
  decodeReceipt,
  DEFAULT_PROFILE,
  epochOf,
  fromHex,
  labelFor,
  streamIdFor,
  toHex,
} from "../../core/mod.ts";
import { Crafter } from "../craft.ts";
import { describeAnswer, expectError, fail, short } from "../harness.ts";
import { capIssueArgs, type CoreStep, needOwnHub, stopAfterStep, str } from "./context.ts";

export const timeWindow: CoreStep = {
  name: "time-window",
  goal: "label_epochs hub: a label from a far epoch → 400 E.TIME, the current epoch passes",
  async run(ctx, ev) {
    const { h } = ctx;
    needOwnHub(h, "needs label_epochs=true");
    const hub = await h.startHub("epochs", {
      admission: "on",
      trustedIssuers: [ctx.admin.idSignPublic],
      env: { VEEN_LABEL_EPOCHS: "true" },
    }, "label_epochs true, admission on");
    try {
      const w = new Crafter(`${h.opts.seed}/epoch`, "core/epoch");
      const cap = `${h.root}/files/cap_epoch.cbor`;
      const issued = await h.ok([
        ...capIssueArgs(ctx.admin.dir, toHex(w.key.public), "core/epoch", "600"),
        "--out",
        cap,
      ]);
      await h.ok(["cap", "authorize", "--hub", hub.url, "--cap", cap]);
      const ref = fromHex(str(issued.auth_ref, "auth_ref"), 32);
      const epoch = epochOf(Math.floor(Date.now() / 1000), DEFAULT_PROFILE.epochSec);
      const sid = streamIdFor("core/epoch");
      const now = await h.post(
        hub.url,
        "/submit",
        w.bytes({ authRef: ref, label: labelFor(sid, undefined, epoch) }),
      );
      if (now.status !== 200) {
        fail(`the current epoch's label was refused: ${describeAnswer(now)}`);
      }
      ev.push(
        `auth_ref ${short(issued.auth_ref)}; label of epoch ${epoch}: 200 stream_seq ${
          decodeReceipt(now.body).streamSeq
        }`,
      );
      const far = await h.post(
        hub.url,
        "/submit",
        w.bytes({ authRef: ref, label: labelFor(sid, undefined, epoch + 5) }),
      );
      ev.push(`label of epoch ${epoch + 5}: ${expectError(far, "E.TIME", "far epoch")}`);
    } finally {
      await stopAfterStep(h, hub, ev);
    }
  },
};
