/**
 * GET /kex-policy (docs/protocol.md "KEX1+"; CLI-GOALS-2 §4.1 `veen hub kex-policy`): the hub's KEX1+ settings, each
 * null when unset, and `revocation_stream`, the hex stream id of the realm's revocation stream
 * `Ht("veen/revocation", realm_id)` with `realm_id = Ht("id/realm", utf8(realm))` (002 §1, OVERLAY-DECISIONS).
 */
import { adminStreamId, realmIdFor, toHex } from "../core/mod.ts";
import type { HubConfig } from "./config.ts";

/** The settings GET /kex-policy publishes (hub/config.ts). */
export type KexPolicy = Pick<
  HubConfig,
  | "realm"
  | "maxClientIdLifetimeSec"
  | "maxMsgsPerClientIdPerLabel"
  | "defaultCapTtlSec"
  | "maxCapTtlSec"
  | "rotationWindowSec"
>;

/** The JSON answer of GET /kex-policy, keys in the CLI goals' order. */
export function kexPolicyJson(p: KexPolicy): Record<string, number | string | null> {
  return {
    max_client_id_lifetime_sec: p.maxClientIdLifetimeSec,
    max_msgs_per_client_id_per_label: p.maxMsgsPerClientIdPerLabel,
    default_cap_ttl_sec: p.defaultCapTtlSec,
    max_cap_ttl_sec: p.maxCapTtlSec,
    revocation_stream: toHex(adminStreamId("veen/revocation", realmIdFor(p.realm))),
    rotation_window_sec: p.rotationWindowSec,
  };
}
