/**
 * The v0.0.1+ feature descriptor of `GET /profile/features` and `veen hub profile` (spec 002 §8, CLI-GOALS-2 §2.1):
 * which profiles this hub enforces, true only for what its code and configuration actually enforce.
 */
import type { HubConfig } from "./config.ts";

export const FEATURES_VERSION = "veen-0.0.1+";

export interface HubFeatures {
  core: boolean;
  fed1: boolean;
  auth1: boolean;
  kex1_plus: boolean;
  sh1_plus: boolean;
  lclass0: boolean;
  meta0_plus: boolean;
}

/**
 * KEX1+ is claimed only when the client key usage bounds are configured (overlay decisions "KEX1+": unset bounds
 * mean KEX1+ is not claimed). This hub does not have those settings yet (issue 19, KEX1+ part): false until it does;
 * then true when `max_client_id_lifetime_sec` and `max_msgs_per_client_id_per_label` are both set.
 */
export function kex1Claimed(_cfg: HubConfig): boolean {
  return false;
}

/** SH1+ is claimed only when the staged admission pipeline exists (issue 19, SH1+ part): false until it does. */
export function sh1Claimed(_cfg: HubConfig): boolean {
  return false;
}

/**
 * The features of a hub started with `cfg`. Federation (FED1, AUTH1) is not implemented (issue 20); label classes
 * and the schema registry are folded and enforced, unless the test-only `unsafe_skip_admin_fold` is on.
 */
export function hubFeatures(cfg: HubConfig): HubFeatures {
  const folded = !cfg.unsafeSkipAdminFold;
  return {
    core: true,
    fed1: false,
    auth1: false,
    kex1_plus: kex1Claimed(cfg),
    sh1_plus: sh1Claimed(cfg),
    lclass0: folded,
    meta0_plus: folded,
  };
}
