/**
 * Bounds first (SH0.4; spec 004 §19, submit step 2): a MSG of exactly the `max_msg_bytes` the hub advertises on
 * GET /info passes the bound, one byte more is 413 E.SIZE, and the hub stays healthy. Own hubs: a hub started with
 * max_msg_bytes 4096 (which it must advertise); with `--hub URL`: the deployed hub and its own bound, with MSGs
 * whose sig is broken so that the hub stores nothing (the one at the bound must get as far as E.SIG).
 */
import { decodeMsg, decodeReceipt, encodeMsg } from "../../core/mod.ts";
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
      ev.push(`GET /info: max_msg_bytes ${max}`);
      const w = new Crafter(`${h.opts.seed}/${h.runId}/bounds`, ctx.S("core/size"));
      // A deployed hub keeps nothing of this step: its MSGs carry a broken sig, so the one at the bound gets past
      // the bound and the structure checks and stops at the signature (E.SIG), whatever the hub's admission.
      const sized = (n: number) => h.deployed ? brokenSig(w.bytesOfSize(n), n) : w.bytesOfSize(n);
      const atLimit = sized(max);
      const r1 = await h.post(url, "/submit", atLimit);
      if (h.deployed) {
        const got = expectError(r1, "E.SIG", `MSG of exactly ${atLimit.length} bytes with a broken sig`);
        ev.push(`MSG of ${atLimit.length} bytes with a broken sig: ${got} (past the bound; nothing stored)`);
      } else {
        if (r1.status !== 200) {
          fail(`a MSG of exactly ${atLimit.length} bytes was refused: ${describeAnswer(r1)}`);
        }
        ev.push(`MSG of ${atLimit.length} bytes: 200 RECEIPT stream_seq ${decodeReceipt(r1.body).streamSeq}`);
      }
      const over = sized(max + 1);
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

/** The same MSG with one bit of its sig flipped (same size). */
function brokenSig(bytes: Uint8Array, size: number): Uint8Array {
  const m = decodeMsg(bytes, size);
  const sig = new Uint8Array(m.sig);
  sig[0] = sig[0]! ^ 0x01;
  return encodeMsg({ ...m, sig });
}
