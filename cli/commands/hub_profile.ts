/**
 * `veen hub profile` (CLI-GOALS-2 §2.1): one request, `GET /profile/features` (docs/admin.md), printing the
 * v0.0.1+ feature descriptor: version, profile_id, hub_id and which of core, FED1, AUTH1, KEX1+, SH1+, LCLASS0 and
 * META0+ the hub enforces. A hub without the route is E.PROFILE (exit 4).
 */
import { VeenError } from "../../core/mod.ts";
import { type Command, HUB_DATA_DIR_FLAG, HUB_FLAG } from "../context.ts";
import { resolveHub } from "../hub_address.ts";
import { HubHttp } from "../http_client.ts";

const FEATURES = ["core", "fed1", "auth1", "kex1_plus", "sh1_plus", "lclass0", "meta0_plus"] as const;

export const hubProfile: Command = {
  path: ["hub", "profile"],
  summary:
    "show the hub's v0.0.1+ feature profile (core, fed1, auth1, kex1_plus, sh1_plus, lclass0, meta0_plus)",
  usage: "veen hub profile --hub H",
  flags: [HUB_FLAG, HUB_DATA_DIR_FLAG],
  async run(ctx) {
    const address = await resolveHub(ctx.flags.str("hub") ?? ctx.flags.str("data-dir"), ctx.io.env);
    let r: Record<string, unknown>;
    try {
      r = await new HubHttp(address.url, ctx.timeoutMs).json("/profile/features");
    } catch (e) {
      if (e instanceof VeenError && e.code === "E.NOT_FOUND") {
        throw new VeenError("E.PROFILE", `Hub at ${address.url} does not support profile introspection`);
      }
      throw e;
    }
    const got = (typeof r.features === "object" && r.features !== null ? r.features : {}) as Record<
      string,
      unknown
    >;
    const features = Object.fromEntries(FEATURES.map((f) => [f, got[f] === true]));
    const json = { version: r.version, profile_id: r.profile_id, hub_id: r.hub_id, features };
    ctx.out.result(json, [
      `version: ${json.version}`,
      `profile_id: ${json.profile_id}`,
      `hub_id: ${json.hub_id}`,
      "features:",
      ...FEATURES.map((f) => `  ${f}: ${features[f]}`),
    ]);
    return 0;
  },
};
