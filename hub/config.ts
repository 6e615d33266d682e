/**
 * Hub configuration: defaults, an optional TOML file (`--config`), `VEEN_*` environment variables, then flags,
 * later sources overriding earlier ones. Every key is listed in docs/hub-config.md.
 */
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { type CommandError, usageError } from "../cmd/mod.ts";
import {
  DEFAULT_LIMITS,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_BATCH_ITEMS,
  DEFAULT_PROFILE_ID_HEX,
  fromHex,
  type Limits,
  POW_DIFFICULTY_MAX,
  VeenError,
} from "../core/mod.ts";
import { parseCidr } from "./peer_filter.ts";
import { DEFAULT_ATTACHMENT_POLICY } from "./attachment_ledger.ts";
import { parseClassRates } from "./label_policy.ts";
import { HUB_ROLES } from "./label_authority.ts";

export type AdmissionMode = "auto" | "on" | "off";
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface HubConfig {
  listen: string;
  dataDir: string;
  profileIdHex: string;
  logLevel: LogLevel;
  /** "auto": required when listening on a non-loopback address, open on loopback. */
  admission: AdmissionMode;
  /** Lets `admission = "off"` serve a non-loopback address (refused otherwise; warned about loudly when set). */
  allowOpenPublic: boolean;
  /** Hex Ed25519 keys whose cap tokens the hub accepts; the hub's own key is always trusted. */
  trustedIssuers: string[];
  routingKeyHex: string;
  /** The hub's realm name (`realm_id = Ht("id/realm", utf8(name))`, overlay decisions "Realm and admin records"). */
  realm: string;
  /** Hex Ed25519 client ids that may write admin records (or root the caps of those who may). */
  adminKeys: string[];
  /** A realm admin key file shared by the hubs of the realm; empty: `DIR/realm_admin_key`, created at first start. */
  realmAdminKey: string;
  /** A tenant's authority hub (URL): this hub's admin labels are replicas of its (hub/admin_source.ts); "": none. */
  adminSource: string;
  /** The admin source's hub key (hex); "": pinned from its /info at first contact (DIR/admin_source.json). */
  adminSourceKey: string;
  /** A tenant pulls its admin labels itself every this many ms (hub/admin_follower.ts); 0: a bridge does. */
  adminSourcePollMs: number;
  /** URLs of the other hubs of the federated set, asked for an old primary's last seq after a flip (catch-up). */
  peerHubs: string[];
  /** `CLASS=RATE/BURST` entries: the rate per label of each label class (LCLASS0, hub/label_policy.ts). */
  classRates: string[];
  /** Rotate labels per profile epoch (E.TIME outside the skew window); off by default. */
  labelEpochs: boolean;
  /** Largest batch written and fsynced as one group commit. */
  batchMax: number;
  /** Extra time a batch waits for company after the first entry arrives (0: commit as soon as the disk is free). */
  batchWaitMs: number;
  /** POST /submit_batch: MSGs in one request, at most (E.SIZE for the whole request beyond) ... */
  maxBatchItems: number;
  /** ... and bytes of its body, at most. */
  maxBatchBytes: number;
  /** Submissions queued beyond this are refused with 503 E.UNAVAILABLE (OP0.4 Qmax). */
  queueMax: number;
  /** A CHECKPOINT per label every this many entries ... */
  checkpointEvery: number;
  /** ... or every this many seconds when the label has new entries. */
  checkpointIntervalSec: number;
  segmentBytes: number;
  /** PEM certificate chain and private key files; both set → the hub serves HTTPS (SH0.3: TLS 1.2+, AEAD only). */
  tlsCert: string;
  tlsKey: string;
  /** Threads for signature work (verify MSGs, sign RECEIPTs); 0 does it on the main thread. */
  cryptoWorkers: number;
  /** Request body reads (hub/body_limits.ts): abandoned after this long without bytes ... */
  bodyIdleTimeoutMs: number;
  /** ... or this long in total; */
  bodyTimeoutMs: number;
  /** at most this many at once, this many per peer address, reserving at most this many bytes together. */
  maxBodyReads: number;
  maxBodyReadsPerPeer: number;
  maxBodyBufferBytes: number;
  /** A /stream page stops before the item that would take it beyond this many bytes (it always has one item). */
  streamPageBytes: number;
  limits: Limits;
  /** Bytes one auth_ref (or the anonymous owner) may keep in attachments, pending and claimed (E.RATE past it). */
  attachmentQuotaBytes: number;
  /** Unclaimed attachment bytes of all owners together (503 E.UNAVAILABLE past it). */
  attachmentPendingBytes: number;
  /** Seconds an upload waits for a MSG of its owner before it is collected. */
  attachmentGraceSec: number;
  /**
   * TEST-ONLY (`unsafe_disable_size_bounds`, env VEEN_UNSAFE_DISABLE_SIZE_BOUNDS=1): /submit skips the max_msg_bytes
   * bound. It exists only so `selftest/` can prove that `veen selftest core` fails against a hub with a check
   * disabled. Never set it on a real hub; the hub logs a loud warning at start-up when it is on.
   */
  unsafeDisableSizeBounds: boolean;
  /** TEST-ONLY (`unsafe_skip_sig_check`): /submit does not verify MSG.sig (see `unsafeDisableSizeBounds`). */
  unsafeSkipSigCheck: boolean;
  /** TEST-ONLY (`unsafe_cap_ttl_millis`): /authorize reads cap_token ttl as milliseconds, not seconds. */
  unsafeCapTtlMillis: boolean;
  /** TEST-ONLY (`unsafe_skip_revocations`): /submit does not check revocations (the views are still folded). */
  unsafeSkipRevocations: boolean;
  /** SH1+ proof of work: leading zero bits a `Veen-PoW` cookie must have on /submit (0: off). */
  powDifficulty: number;
  /** SH1+ stage 0: CIDR blocks allowed to submit (empty: everyone) ... */
  ipAllow: string[];
  /** ... and denied (deny wins). */
  ipDeny: string[];
  /** SH1+ stage 2: submissions in signature and capability checks at once (503 E.UNAVAILABLE beyond). */
  stage2QueueMax: number;
  /** TEST-ONLY (`unsafe_skip_pow_check`): /submit does not check Veen-PoW cookies (see `unsafeDisableSizeBounds`). */
  unsafeSkipPowCheck: boolean;
  /** KEX1+ §4.1 (hub/client_key_bounds.ts): seconds a client_id may write a label after its first message there. */
  maxClientIdLifetimeSec: number | null;
  /** KEX1+ §4.1: MSGs a client_id may write per label. */
  maxMsgsPerClientIdPerLabel: number | null;
  /** KEX1+ §4.2: the ttl `veen cap issue --hub` uses without --ttl (published by GET /kex-policy). */
  defaultCapTtlSec: number | null;
  /** KEX1+ §4.2: /authorize refuses a cap_token whose ttl is longer (E.CAP). */
  maxCapTtlSec: number | null;
  /** KEX1+: the hub-key rotation window, published by GET /kex-policy (informational). */
  rotationWindowSec: number | null;
  /** Hex Ed25519 hub keys whose CHECKPOINTs this hub cosigns as a witness (POST /witness/cosign). */
  witnessFor: string[];
  /** ANCHOR0.2 (hub/anchorer.ts): `file:DIR` anchors CHECKPOINT roots in DIR/anchors.log; "" anchors nothing. */
  anchorBackend: string;
  /** ANCHOR0.2: least seconds between two anchors of one label. */
  anchorIntervalSec: number;
  /** Base URLs of the witnesses asked to cosign each CHECKPOINT of this hub (at most 14: witness_sigs holds 16). */
  witnesses: string[];
  /** KEX0.3: hex client_ids refused at the capability stage (E.AUTH). */
  clientIdDeny: string[];
  /**
   * TEST-ONLY (`unsafe_skip_admin_fold`): label classes, schema records and access grants are admitted but not
   * folded (their views stay empty; views.kv is left untouched, in memory only), so `veen selftest meta` and
   * `plus-plus` can prove they fail.
   */
  unsafeSkipAdminFold: boolean;
  /** FED1/AUTH1 (docs/federation.md): standalone, primary or replica; `/info` and `hub role` report it. */
  role: string;
  /** AUTH1: labels without an active authority record: accept, reject, or "" (reject on a replica, else accept). */
  unspecifiedPolicy: string;
  /** Spec 000 deployment profile: "authority", "tenant" or "" (none); see {@link applyProfile}. */
  profile: string;
  /** Profile tenant: the authority hub's URL (its admin_source unless that is set; /readyz asks it). */
  authorityUrl: string;
  /** COMP0.3: unauthenticated reads (/stream, /receipt, /proof, /consistency, /checkpoint_range) per second per
   * peer address (0: unlimited) ... */
  readRatePerSec: number;
  /** ... with this burst (0: the rate, at least 1). */
  readRateBurst: number;
  /** TEST-ONLY (`unsafe_skip_authority`): /submit does not apply AUTH1, so `veen selftest federated` can fail. */
  unsafeSkipAuthority: boolean;
}

export const DEFAULT_LISTEN = "127.0.0.1:37411";

export function defaultConfig(dataDir = ""): HubConfig {
  return {
    listen: DEFAULT_LISTEN,
    dataDir,
    profileIdHex: DEFAULT_PROFILE_ID_HEX,
    logLevel: "info",
    admission: "auto",
    allowOpenPublic: false,
    trustedIssuers: [],
    routingKeyHex: "",
    realm: "default",
    adminKeys: [],
    realmAdminKey: "",
    adminSource: "",
    adminSourceKey: "",
    adminSourcePollMs: 0,
    peerHubs: [],
    classRates: [],
    labelEpochs: false,
    batchMax: 256,
    batchWaitMs: 4,
    maxBatchItems: DEFAULT_MAX_BATCH_ITEMS,
    maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
    queueMax: 8192,
    checkpointEvery: 1024,
    checkpointIntervalSec: 60,
    segmentBytes: 64 * 1024 * 1024,
    cryptoWorkers: navigator.hardwareConcurrency >= 2 ? 1 : 0,
    bodyIdleTimeoutMs: 15_000,
    bodyTimeoutMs: 120_000,
    maxBodyReads: 512,
    maxBodyReadsPerPeer: 64,
    maxBodyBufferBytes: 256 * 1024 * 1024,
    streamPageBytes: 4 * 1024 * 1024,
    tlsCert: "",
    tlsKey: "",
    limits: { ...DEFAULT_LIMITS },
    attachmentQuotaBytes: DEFAULT_ATTACHMENT_POLICY.quotaBytes,
    attachmentPendingBytes: DEFAULT_ATTACHMENT_POLICY.pendingMaxBytes,
    attachmentGraceSec: DEFAULT_ATTACHMENT_POLICY.graceSec,
    unsafeDisableSizeBounds: false,
    unsafeSkipSigCheck: false,
    unsafeCapTtlMillis: false,
    unsafeSkipRevocations: false,
    powDifficulty: 0,
    ipAllow: [],
    ipDeny: [],
    stage2QueueMax: 8192,
    unsafeSkipPowCheck: false,
    maxClientIdLifetimeSec: null,
    maxMsgsPerClientIdPerLabel: null,
    defaultCapTtlSec: null,
    maxCapTtlSec: null,
    rotationWindowSec: null,
    witnessFor: [],
    anchorBackend: "",
    anchorIntervalSec: 600,
    witnesses: [],
    clientIdDeny: [],
    unsafeSkipAdminFold: false,
    role: "standalone",
    unspecifiedPolicy: "",
    unsafeSkipAuthority: false,
    profile: "",
    authorityUrl: "",
    readRatePerSec: 0,
    readRateBurst: 0,
  };
}

/** "optint": a non-negative integer or unset (null); an empty environment variable leaves it unset. */
type Kind = "string" | "int" | "optint" | "list" | "bool";

/** config key → [field path, kind, env var] */
const KEYS: Record<string, [string, Kind]> = {
  listen: ["listen", "string"],
  data_dir: ["dataDir", "string"],
  profile_id: ["profileIdHex", "string"],
  log_level: ["logLevel", "string"],
  admission: ["admission", "string"],
  allow_open_public: ["allowOpenPublic", "bool"],
  trusted_issuers: ["trustedIssuers", "list"],
  routing_key: ["routingKeyHex", "string"],
  realm: ["realm", "string"],
  admin_keys: ["adminKeys", "list"],
  realm_admin_key: ["realmAdminKey", "string"],
  admin_source: ["adminSource", "string"],
  admin_source_key: ["adminSourceKey", "string"],
  admin_source_poll_ms: ["adminSourcePollMs", "int"],
  peer_hubs: ["peerHubs", "list"],
  class_rates: ["classRates", "list"],
  label_epochs: ["labelEpochs", "bool"],
  batch_max: ["batchMax", "int"],
  batch_wait_ms: ["batchWaitMs", "int"],
  max_batch_items: ["maxBatchItems", "int"],
  max_batch_bytes: ["maxBatchBytes", "int"],
  queue_max: ["queueMax", "int"],
  checkpoint_every: ["checkpointEvery", "int"],
  checkpoint_interval_sec: ["checkpointIntervalSec", "int"],
  segment_bytes: ["segmentBytes", "int"],
  crypto_workers: ["cryptoWorkers", "int"],
  body_idle_timeout_ms: ["bodyIdleTimeoutMs", "int"],
  body_timeout_ms: ["bodyTimeoutMs", "int"],
  max_body_reads: ["maxBodyReads", "int"],
  max_body_reads_per_peer: ["maxBodyReadsPerPeer", "int"],
  max_body_buffer_bytes: ["maxBodyBufferBytes", "int"],
  stream_page_bytes: ["streamPageBytes", "int"],
  tls_cert: ["tlsCert", "string"],
  tls_key: ["tlsKey", "string"],
  max_msg_bytes: ["limits.maxMsgBytes", "int"],
  max_body_bytes: ["limits.maxBodyBytes", "int"],
  max_hdr_bytes: ["limits.maxHdrBytes", "int"],
  max_attachment_bytes: ["limits.maxAttachmentBytes", "int"],
  max_cap_chain: ["limits.maxCapChain", "int"],
  clock_skew_epochs: ["limits.clockSkewEpochs", "int"],
  attachment_quota_bytes: ["attachmentQuotaBytes", "int"],
  attachment_pending_bytes: ["attachmentPendingBytes", "int"],
  attachment_grace_sec: ["attachmentGraceSec", "int"],
  // TEST-ONLY: lets the selftest prove it can fail (see HubConfig.unsafeDisableSizeBounds).
  unsafe_disable_size_bounds: ["unsafeDisableSizeBounds", "bool"],
  unsafe_skip_sig_check: ["unsafeSkipSigCheck", "bool"],
  unsafe_cap_ttl_millis: ["unsafeCapTtlMillis", "bool"],
  unsafe_skip_revocations: ["unsafeSkipRevocations", "bool"],
  unsafe_skip_pow_check: ["unsafeSkipPowCheck", "bool"],
  pow_difficulty: ["powDifficulty", "int"],
  ip_allow: ["ipAllow", "list"],
  ip_deny: ["ipDeny", "list"],
  stage2_queue_max: ["stage2QueueMax", "int"],
  max_client_id_lifetime_sec: ["maxClientIdLifetimeSec", "optint"],
  max_msgs_per_client_id_per_label: ["maxMsgsPerClientIdPerLabel", "optint"],
  default_cap_ttl_sec: ["defaultCapTtlSec", "optint"],
  max_cap_ttl_sec: ["maxCapTtlSec", "optint"],
  rotation_window_sec: ["rotationWindowSec", "optint"],
  client_id_deny: ["clientIdDeny", "list"],
  witness_for: ["witnessFor", "list"],
  anchor_backend: ["anchorBackend", "string"],
  anchor_interval_sec: ["anchorIntervalSec", "int"],
  witnesses: ["witnesses", "list"],
  unsafe_skip_admin_fold: ["unsafeSkipAdminFold", "bool"],
  role: ["role", "string"],
  unspecified_policy: ["unspecifiedPolicy", "string"],
  unsafe_skip_authority: ["unsafeSkipAuthority", "bool"],
  profile: ["profile", "string"],
  authority_url: ["authorityUrl", "string"],
  read_rate_per_sec: ["readRatePerSec", "int"],
  read_rate_burst: ["readRateBurst", "int"],
};

/**
 * The TEST-ONLY keys that are on in `cfg`, each with the check it breaks. They exist only so the selftest can prove
 * each of its checks able to fail; the hub logs a loud warning for each at start-up.
 */
export function unsafeKeysOn(cfg: HubConfig): { key: string; effect: string }[] {
  const all: [boolean, string, string][] = [
    [cfg.unsafeDisableSizeBounds, "unsafe_disable_size_bounds", "max_msg_bytes is NOT enforced on /submit"],
    [cfg.unsafeSkipSigCheck, "unsafe_skip_sig_check", "MSG.sig is NOT verified on /submit"],
    [cfg.unsafeCapTtlMillis, "unsafe_cap_ttl_millis", "cap_token ttl is read as MILLISECONDS"],
    [cfg.unsafeSkipRevocations, "unsafe_skip_revocations", "revocations are NOT enforced on /submit"],
    [cfg.unsafeSkipPowCheck, "unsafe_skip_pow_check", "Veen-PoW cookies are NOT checked on /submit"],
    [
      cfg.unsafeSkipAdminFold,
      "unsafe_skip_admin_fold",
      "label classes and schema records are NOT folded",
    ],
    [
      cfg.unsafeSkipAuthority,
      "unsafe_skip_authority",
      "AUTH1 (not primary for label) is NOT enforced on /submit",
    ],
  ];
  return all.filter(([on]) => on).map(([, key, effect]) => ({ key, effect }));
}

/** The documented config keys and their environment variables. */
export const CONFIG_KEYS: readonly string[] = Object.keys(KEYS);
export const envNameOf = (key: string): string => "VEEN_" + key.toUpperCase();

/** Sets one config key from `source` (a file, an environment variable or a flag), checking its kind. */
export function setKey(cfg: HubConfig, key: string, raw: unknown, source: string): void {
  const spec = KEYS[key];
  if (spec === undefined) throw configError(`Unknown config key "${key}" in ${source}`);
  const [path, kind] = spec;
  let v: unknown;
  if (kind === "int" || kind === "optint") {
    v = typeof raw === "string" ? (/^[0-9]+$/.test(raw) ? Number(raw) : NaN) : raw;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw configError(`Config key "${key}" in ${source} must be a non-negative integer`);
    }
  } else if (kind === "list") {
    v = typeof raw === "string" ? raw.split(",").map((s) => s.trim()).filter((s) => s !== "") : raw;
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
      throw configError(`Config key "${key}" in ${source} must be a list of strings`);
    }
  } else if (kind === "bool") {
    v = raw === true || raw === "true" || raw === "1"
      ? true
      : raw === false || raw === "false" || raw === "0"
      ? false
      : raw;
    if (typeof v !== "boolean") {
      throw configError(`Config key "${key}" in ${source} must be true or false`);
    }
  } else {
    if (typeof raw !== "string") {
      throw configError(`Config key "${key}" in ${source} must be a string`);
    }
    v = raw;
  }
  const parts = path.split(".");
  // deno-lint-ignore no-explicit-any
  let target: any = cfg;
  for (const p of parts.slice(0, -1)) target = target[p];
  target[parts[parts.length - 1]!] = v;
}

/**
 * A bad config key, value, file or flag: a usage-class failure (`E.CONFIG`, exit 1) raised before the hub binds or
 * touches its data dir. Config problems are the operator's, never a wire code.
 */
export function configError(detail: string): CommandError {
  return usageError(detail, "E.CONFIG");
}

function hexOrConfigError(f: () => void): void {
  try {
    f();
  } catch (e) {
    throw e instanceof VeenError ? configError(e.detail) : e;
  }
}

/** Applies a TOML document: flat keys, or one `[hub]` table and nothing else (see {@link applyDoc}). */
export function applyToml(cfg: HubConfig, text: string, source: string): void {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw configError(`Cannot parse config ${source}: ${e instanceof Error ? e.message : e}`);
  }
  applyDoc(cfg, doc, source);
}

/** Applies a YAML document (spec 000 `/etc/veen/hub.yaml`) with the same keys and layout as the TOML file. */
export function applyYaml(cfg: HubConfig, text: string, source: string): void {
  let doc: unknown;
  try {
    doc = parseYaml(text, { strict: true, uniqueKeys: true });
  } catch (e) {
    throw configError(`Cannot parse config ${source}: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
  }
  if (doc === null || doc === undefined) return; // an empty file sets nothing
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw configError(`Config ${source} must be a mapping of config keys`);
  }
  applyDoc(cfg, doc as Record<string, unknown>, source);
}

/** A config file by its name: `.yaml` / `.yml` is YAML, anything else TOML. */
export function applyConfigFile(cfg: HubConfig, text: string, source: string): void {
  if (/\.ya?ml$/i.test(source)) applyYaml(cfg, text, source);
  else applyToml(cfg, text, source);
}

/**
 * Applies a parsed config document: flat keys, or one `hub` table and nothing else. Unknown keys, and keys beside a
 * `hub` table, are config errors.
 */
function applyDoc(cfg: HubConfig, doc: Record<string, unknown>, source: string): void {
  let table = doc;
  if ("hub" in doc) {
    const hub = doc.hub;
    if (typeof hub !== "object" || hub === null || Array.isArray(hub) || hub instanceof Date) {
      throw configError(`"hub" in ${source} must be a table ([hub])`);
    }
    const outside = Object.keys(doc).find((k) => k !== "hub");
    if (outside !== undefined) {
      throw configError(
        `Config key "${outside}" in ${source} is outside the [hub] table; put every key under [hub]`,
      );
    }
    table = hub as Record<string, unknown>;
  }
  for (const [k, v] of Object.entries(table)) setKey(cfg, k, v, source);
}

export function applyEnv(cfg: HubConfig, env: Record<string, string>): void {
  for (const key of CONFIG_KEYS) {
    const v = env[envNameOf(key)];
    if (v !== undefined && v !== "") setKey(cfg, key, v, `environment variable ${envNameOf(key)}`);
  }
}

/** Checks cross-field rules; throws a config error naming the offending key. */
export function validateConfig(cfg: HubConfig): void {
  if (cfg.dataDir === "") throw usageError("Missing required flag --data-dir (or set VEEN_DATA_DIR)");
  parseListen(cfg.listen);
  if (cfg.profileIdHex.toLowerCase() !== DEFAULT_PROFILE_ID_HEX) {
    throw configError(
      `Unsupported profile_id ${cfg.profileIdHex}; this hub supports ${DEFAULT_PROFILE_ID_HEX}`,
    );
  }
  if (!["debug", "info", "warn", "error"].includes(cfg.logLevel)) {
    throw configError(`log_level must be debug, info, warn or error, not "${cfg.logLevel}"`);
  }
  if (!["auto", "on", "off"].includes(cfg.admission)) {
    throw configError(`admission must be auto, on or off, not "${cfg.admission}"`);
  }
  checkOpenPublic(cfg);
  hexOrConfigError(() => {
    for (const k of cfg.trustedIssuers) fromHex(k, 32, "trusted issuer key");
    for (const k of cfg.adminKeys) fromHex(k, 32, "admin key");
    for (const k of cfg.clientIdDeny) fromHex(k, 32, "client_id_deny key");
    for (const k of cfg.witnessFor) fromHex(k, 32, "witness_for key");
    fromHex(cfg.routingKeyHex, undefined, "routing_key");
    parseClassRates(cfg.classRates);
  });
  if (cfg.realm === "") throw configError("realm must not be empty");
  if ((cfg.tlsCert === "") !== (cfg.tlsKey === "")) {
    throw configError("tls_cert and tls_key must be given together");
  }
  if (cfg.batchMax < 1) throw configError("batch_max must be at least 1");
  if (cfg.limits.maxMsgBytes < 256) throw configError("max_msg_bytes must be at least 256");
  if (cfg.limits.maxMsgBytes > MAX_MSG_BYTES_MAX) {
    throw configError(`max_msg_bytes must be at most ${MAX_MSG_BYTES_MAX}`);
  }
  if (cfg.limits.maxAttachmentBytes > MAX_ATTACHMENT_BYTES_MAX) {
    throw configError(`max_attachment_bytes must be at most ${MAX_ATTACHMENT_BYTES_MAX}`);
  }
  validateHttpBounds(cfg);
  validateSh1(cfg);
  validateFederation(cfg);
  validateProfile(cfg);
  validateWitnesses(cfg);
  if (cfg.anchorBackend !== "" && !/^file:./.test(cfg.anchorBackend)) {
    throw configError(`anchor_backend must be "file:DIR" or empty, not "${cfg.anchorBackend}"`);
  }
}

/**
 * `role` is standalone, primary or replica (or authority, tenant: the spec 000 deployment roles `veen kube render`
 * sets); `unspecified_policy` accept or reject (or unset); AUTH1 derives labels at epoch 0, so `label_epochs`
 * cannot be on with role primary or replica (overlay decisions "FED1 / AUTH1"); `admin_source` is an http(s) URL
 * and `admin_source_key` (32 bytes hex) goes with it.
 */
function validateFederation(cfg: HubConfig): void {
  if (!(HUB_ROLES as readonly string[]).includes(cfg.role)) {
    throw configError(`role must be one of ${HUB_ROLES.join(", ")}, not "${cfg.role}"`);
  }
  if (!["", "accept", "reject"].includes(cfg.unspecifiedPolicy)) {
    throw configError(`unspecified_policy must be accept or reject, not "${cfg.unspecifiedPolicy}"`);
  }
  if (cfg.labelEpochs && (cfg.role === "primary" || cfg.role === "replica")) {
    throw configError(`label_epochs cannot be on with role ${cfg.role}: AUTH1 needs labels at epoch 0`);
  }
  if (cfg.adminSource !== "" && !/^https?:\/\/[^\s]+$/.test(cfg.adminSource)) {
    throw configError(`admin_source "${cfg.adminSource}" must be an http(s) URL`);
  }
  if (cfg.adminSourceKey !== "") {
    if (cfg.adminSource === "") throw configError("admin_source_key needs admin_source");
    hexOrConfigError(() => fromHex(cfg.adminSourceKey, 32, "admin_source_key"));
  }
  if (cfg.adminSourcePollMs > 0 && cfg.adminSource === "") {
    throw configError("admin_source_poll_ms needs admin_source");
  }
}

/**
 * Spec 000 deployment profiles (§4-5): `profile = "authority"` is the universe's authority hub (it has no
 * authority_url); `profile = "tenant"` needs `authority_url`, the authority hub it takes its admin records from.
 * A profile and a different explicit role (primary, replica) are a config error.
 */
function validateProfile(cfg: HubConfig): void {
  if (!["", "authority", "tenant"].includes(cfg.profile)) {
    throw configError(`profile must be authority or tenant, not "${cfg.profile}"`);
  }
  if (cfg.authorityUrl !== "" && !/^https?:\/\/[^\s]+$/.test(cfg.authorityUrl)) {
    throw configError(`authority_url "${cfg.authorityUrl}" must be an http(s) URL`);
  }
  if (cfg.profile === "tenant" && cfg.authorityUrl === "") {
    throw configError("profile tenant needs authority_url (VEEN_AUTHORITY_URL), the authority hub's URL");
  }
  if (cfg.profile !== "tenant" && cfg.authorityUrl !== "") {
    throw configError("authority_url applies to profile tenant only");
  }
  if (cfg.profile !== "" && cfg.role !== "standalone" && cfg.role !== cfg.profile) {
    throw configError(`profile ${cfg.profile} cannot run with role ${cfg.role}`);
  }
}

/**
 * The settings a profile implies (spec 000 §4-5), applied after every config source: the role becomes the profile,
 * and a tenant's `admin_source` defaults to its `authority_url` (docs/federation.md "Tenant hubs"). Idempotent.
 */
export function applyProfile(cfg: HubConfig): HubConfig {
  if (cfg.profile === "") return cfg;
  const out = { ...cfg };
  if (out.role === "standalone") out.role = out.profile;
  if (out.profile === "tenant" && out.adminSource === "") out.adminSource = out.authorityUrl;
  return out;
}

/** At most 14 witnesses (witness_sigs holds 16 and a rotation window takes two), each an http(s) URL. */
function validateWitnesses(cfg: HubConfig): void {
  if (cfg.witnesses.length > 14) throw configError("witnesses must list at most 14 URLs");
  for (const u of cfg.witnesses) {
    if (!/^https?:\/\/[^\s]+$/.test(u)) throw configError(`witnesses entry "${u}" must be an http(s) URL`);
  }
}

/** pow_difficulty within what a client can solve; ip_allow / ip_deny are CIDR blocks; stage2_queue_max >= 1. */
function validateSh1(cfg: HubConfig): void {
  if (cfg.powDifficulty > POW_DIFFICULTY_MAX) {
    throw configError(`pow_difficulty must be at most ${POW_DIFFICULTY_MAX}`);
  }
  for (const [key, list] of [["ip_allow", cfg.ipAllow], ["ip_deny", cfg.ipDeny]] as const) {
    for (const c of list) {
      try {
        parseCidr(c);
      } catch (e) {
        throw configError(`${key}: ${(e as Error).message}`);
      }
    }
  }
  if (cfg.stage2QueueMax < 1) throw configError("stage2_queue_max must be at least 1");
  validateKexPolicy(cfg);
}

/** KEX1+ bounds: unset or at least 1 (0 would refuse every MSG or cap); the default cap ttl within the maximum. */
function validateKexPolicy(cfg: HubConfig): void {
  const bounds = [
    ["max_client_id_lifetime_sec", cfg.maxClientIdLifetimeSec],
    ["max_msgs_per_client_id_per_label", cfg.maxMsgsPerClientIdPerLabel],
    ["default_cap_ttl_sec", cfg.defaultCapTtlSec],
    ["max_cap_ttl_sec", cfg.maxCapTtlSec],
  ] as const;
  for (const [k, v] of bounds) if (v !== null && v < 1) throw configError(`${k} must be at least 1 when set`);
  if (cfg.defaultCapTtlSec !== null && cfg.maxCapTtlSec !== null && cfg.defaultCapTtlSec > cfg.maxCapTtlSec) {
    throw configError(
      `default_cap_ttl_sec ${cfg.defaultCapTtlSec} exceeds max_cap_ttl_sec ${cfg.maxCapTtlSec}`,
    );
  }
}

/** The body-read and /stream page bounds must be positive: 0 would refuse or abandon every request. */
function validateHttpBounds(cfg: HubConfig): void {
  const keys = [
    "body_idle_timeout_ms",
    "body_timeout_ms",
    "max_body_reads",
    "max_body_reads_per_peer",
    "max_body_buffer_bytes",
    "stream_page_bytes",
    "max_batch_items",
    "max_batch_bytes",
  ] as const;
  for (const k of keys) {
    const v = (cfg as unknown as Record<string, number>)[KEYS[k]![0]];
    if (v === undefined || v < 1) throw configError(`${k} must be at least 1`);
  }
  if (cfg.streamPageBytes > STREAM_PAGE_BYTES_MAX) {
    throw configError(`stream_page_bytes must be at most ${STREAM_PAGE_BYTES_MAX}`);
  }
  if (cfg.maxBatchItems > MAX_BATCH_ITEMS_MAX) {
    throw configError(`max_batch_items must be at most ${MAX_BATCH_ITEMS_MAX}`);
  }
  if (cfg.maxBatchBytes > MAX_BATCH_BYTES_MAX) {
    throw configError(`max_batch_bytes must be at most ${MAX_BATCH_BYTES_MAX}`);
  }
}

/** Largest max_batch_items: the answer (about 200 bytes per RECEIPT) stays far within a client's 4 MiB cap. */
export const MAX_BATCH_ITEMS_MAX = 8192;
/** Largest max_batch_bytes: one request body the hub holds while its MSGs go through admission. */
export const MAX_BATCH_BYTES_MAX = 64 * 1024 * 1024;

/** Largest stream_page_bytes: clients read a /stream page with a 64 MiB cap (cli/http_client.ts). */
export const STREAM_PAGE_BYTES_MAX = 32 * 1024 * 1024;
/**
 * Largest max_msg_bytes: a /stream page always holds one item (its RECEIPT, the MSG and a proof), which must stay
 * within the clients' 64 MiB page cap, and a stored MSG must stay within a log frame (hub/frame.ts MAX_FRAME_BODY),
 * or the hub would accept entries that no client can read and that recovery calls corrupt.
 */
export const MAX_MSG_BYTES_MAX = 32 * 1024 * 1024;
/** Largest max_attachment_bytes: clients read an attachment with a 64 MiB cap (cli/http_client.ts). */
export const MAX_ATTACHMENT_BYTES_MAX = 64 * 1024 * 1024;

export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw configError(`Cannot parse listen address "${listen}" (want HOST:PORT)`);
  }
  return { hostname: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Whether this config serves a non-loopback address without admission: anyone who reaches it can write. */
export function isOpenPublic(cfg: HubConfig): boolean {
  return !admissionRequired(cfg) && !isLoopback(parseListen(cfg.listen).hostname);
}

/** `admission = "off"` on a non-loopback address needs `allow_open_public` (a config error otherwise). */
export function checkOpenPublic(cfg: HubConfig): void {
  if (isOpenPublic(cfg) && !cfg.allowOpenPublic) {
    throw configError(
      `admission = "off" on the non-loopback address "${cfg.listen}" lets anyone write; set allow_open_public ` +
        `(VEEN_ALLOW_OPEN_PUBLIC=1, --allow-open-public) to run an open public hub, or use admission = "on"`,
    );
  }
}

/** Whether admission (cap tokens via /authorize) is enforced for this config. */
export function admissionRequired(cfg: HubConfig): boolean {
  if (cfg.admission === "on") return true;
  if (cfg.admission === "off") return false;
  return !isLoopback(parseListen(cfg.listen).hostname);
}
