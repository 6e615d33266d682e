/**
 * Bounds first (SH0.4; spec 004 §19, submit step 2): a MSG of exactly the `max_msg_bytes` the hub advertises on
 * GET /info passes the bound, one byte more is 413 E.SIZE, and the hub stays healthy. Own hubs: a hub started with
 * max_msg_bytes 4096 (which it must advertise); with `--hub URL`: the deployed hub and its own bound. On a hub that
 * requires admission the MSG at the bound gets past the bound and stops at the capability stage (E.AUTH).
 */
import { decodeReceipt } from "../../core/mod.ts";
import { Crafter } from "../craft.ts";
import { check, describeAnswer, expectError, fail, type HubHandle } from "../harness.ts";
import { type CoreStep, num, stopAfterStep } from "./context.ts";

/** max_msg_bytes of the "bounds" hub: the `bounds` step submits a MSG of exactly this size and one byte more. */
const BOUNDS_MAX_MSG_BYTES = 4096;

export const bounds: CoreStep = {
  name: "bounds",
  goal:
    "a MSG of exactly the advertised max_msg_bytes passes the bound, one byte more is 413 E.SIZE (SH0 bounds first)",
  async run(ctx, ev) {
    const { h } = ctx;
    let hub: HubHandle | undefined;
    let url = ctx.url;
    let info = ctx.info;
    if (!h.deployed) {
      hub = await h.startHub("bounds", {
        admission: "off",
        env: { VEEN_MAX_MSG_BYTES: String(BOUNDS_MAX_MSG_BYTES) },
      }, `max_msg_bytes ${BOUNDS_MAX_MSG_BYTES}`);
      url = hub.url;
      info = await h.json(`${url}/info`);
    }
    try {
      const max = num(info.max_msg_bytes, "GET /info max_msg_bytes");
      if (hub !== undefined) {
        check(
          max === BOUNDS_MAX_MSG_BYTES,
          `the hub advertises max_msg_bytes ${max}, configured ${BOUNDS_MAX_MSG_BYTES}`,
        );
      }
      const open = info.admission !== true;
      ev.push(`GET /info: max_msg_bytes ${max}${open ? "" : ", admission required"}`);
      const w = new Crafter(`${h.opts.seed}/${h.runId}/bounds`, ctx.S("core/size"));
      const atLimit = w.bytesOfSize(max);
      const r1 = await h.post(url, "/submit", atLimit);
      if (open) {
        if (r1.status !== 200) {
          fail(`a MSG of exactly ${atLimit.length} bytes was refused: ${describeAnswer(r1)}`);
        }
        ev.push(`MSG of ${atLimit.length} bytes: 200 RECEIPT stream_seq ${decodeReceipt(r1.body).streamSeq}`);
      } else {
        ev.push(
          `MSG of ${atLimit.length} bytes: ${
            expectError(r1, "E.AUTH", `MSG of exactly ${atLimit.length} bytes`)
          }`,
        );
      }
      const over = w.bytesOfSize(max + 1);
      const r2 = await h.post(url, "/submit", over);
      if (r2.status === 200) {
        fail(
          `a MSG of ${over.length} bytes (max_msg_bytes ${max}) was ACCEPTED as stream_seq ${
            decodeReceipt(r2.body).streamSeq
          }; expected 413 E.SIZE`,
        );
      }
      ev.push(`MSG of ${over.length} bytes: ${expectError(r2, "E.SIZE", `MSG of ${over.length} bytes`)}`);
      const garbage = ctx.rng.bytes(max * 4);
      ev.push(
        `${garbage.length} random bytes: ${
          expectError(await h.post(url, "/submit", garbage), "E.SIZE", "oversized garbage")
        }`,
      );
      const health = await h.json(`${url}/healthz`);
      check(health.ok === true, "the hub is not healthy after oversized input");
    } finally {
      if (hub !== undefined) await stopAfterStep(h, hub, ev);
    }
  },
};
