/**
 * Setup (critical): the "main" hub (or the deployed one) and its GET /info, and the alice, bob and admin clients.
 */
import { short } from "../harness.ts";
import { type CoreStep, keygen } from "./context.ts";

/** checkpoint_every of the "main" hub, so `resync` meets CHECKPOINTs. */
const MAIN_CHECKPOINT_EVERY = 8;

export const setup: CoreStep = {
  name: "setup",
  goal: "start the hub, create clients (keygen)",
  critical: true,
  async run(ctx, ev) {
    const { h } = ctx;
    ({ url: ctx.url, hub: ctx.main, info: ctx.info } = await h.suiteHub(
      ev,
      "main",
      { admission: "off", env: { VEEN_CHECKPOINT_EVERY: String(MAIN_CHECKPOINT_EVERY) } },
      `admission off, checkpoint_every ${MAIN_CHECKPOINT_EVERY}`,
      " (no hub is started or stopped by this run)",
    ));
    ev.push(
      `GET /info: hub_id ${
        short(ctx.info.hub_id)
      } version ${ctx.info.version} admission ${ctx.info.admission}`,
    );
    h.report.setEnv("hub version", String(ctx.info.version));
    ctx.alice = await keygen(h, "alice");
    ctx.bob = await keygen(h, "bob");
    ctx.admin = await keygen(h, "admin");
    ev.push(
      `veen keygen: alice ${short(ctx.alice.clientId)}, bob ${short(ctx.bob.clientId)}, admin ${
        short(ctx.admin.clientId)
      }`,
    );
  },
};
