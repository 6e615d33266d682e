/**
 * Profile (CORE-GOALS 1.3 test 5): a MSG under another profile_id is 400 E.PROFILE.
 */
import { DEFAULT_PROFILE, profileId, toHex } from "../../core/mod.ts";
import { Crafter } from "../craft.ts";
import { check, expectError, short } from "../harness.ts";
import type { CoreStep } from "./context.ts";

export const profile: CoreStep = {
  name: "profile",
  goal: "a MSG under another profile_id → 400 E.PROFILE (1.3 test 5)",
  async run(ctx, ev) {
    const { h } = ctx;
    const url = ctx.url;
    const other = profileId({ ...DEFAULT_PROFILE, padBlock: 1024 });
    check(toHex(other) !== toHex(profileId(DEFAULT_PROFILE)), "the other profile has the same id");
    const w = new Crafter(`${h.opts.seed}/${h.runId}/profile`, ctx.S("core/profile"));
    const r = await h.post(url, "/submit", w.bytes({ profileId: other }));
    ev.push(
      `profile_id ${short(toHex(other))} (pad_block 1024): ${expectError(r, "E.PROFILE", "other profile")}`,
    );
  },
};
