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
 * KEX1+ is claimed when the client key usage bounds are configured (overlay decisions "KEX1+": unset bounds mean
 * KEX1+ is not claimed): `max_client_id_lifetime_sec` and `max_msgs_per_client_id_per_label` both set, and
 * revocations enforced (not the test-only `unsafe_skip_revocations`). Cap ttl, revocations and the deny list are
 * enforced on every hub.
 */
export function kex1Claimed(cfg: HubConfig): boolean {
  return cfg.maxClientIdLifetimeSec !== null && cfg.maxMsgsPerClientIdPerLabel !== null &&
    !cfg.unsafeSkipRevocations;
}

/**
 * SH1+ is claimed by every hub whose staged admission pipeline is intact (bounds before any signature work, the
 * four stages and their limits; proof of work is SH1+'s optional part), i.e. unless a test-only key breaks it.
 */
export function sh1Claimed(cfg: HubConfig): boolean {
  return !cfg.unsafeDisableSizeBounds && !cfg.unsafeSkipSigCheck && !cfg.unsafeSkipPowCheck;
}

/**
 * The features of a hub started with `cfg`. Authority records (FED1) are folded and AUTH1 is enforced on every hub
 * (hub/label_authority.ts), unless the test-only `unsafe_skip_authority` is on; label classes and the schema
 * registry are folded and enforced, unless the test-only `unsafe_skip_admin_fold` is on.
 */
export function hubFeatures(cfg: HubConfig): HubFeatures {
  const folded = !cfg.unsafeSkipAdminFold;
  return {
    core: true,
    fed1: !cfg.unsafeSkipAuthority,
    auth1: !cfg.unsafeSkipAuthority,
    kex1_plus: kex1Claimed(cfg),
    sh1_plus: sh1Claimed(cfg),
    lclass0: folded,
    meta0_plus: folded,
  };
}
