/**
 * `veen kube render` input (CLI-GOALS-3 §2.2, spec 000): validates the flags, reads the files they name (--config,
 * --env-file, --pod-annotations) and builds the {@link RenderInput} that ops/kube_render.ts turns into manifests.
 * Every problem is a usage error naming the flag. File-derived maps are sorted, so the same inputs give the same
 * RenderInput.
 */
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { DEFAULT_PROFILE_ID_HEX } from "../core/mod.ts";
import { readUserFile, usage } from "./io.ts";
import { DATA_DIR, type RenderInput } from "./kube_render.ts";
import {
  AUTHORITY_URL,
  authorityNames,
  checkDnsLabel,
  HUB_PORT,
  hubLayoutNames,
  type HubNames,
  tenantNames,
} from "./kube_names.ts";

const DEFAULT_CPU = "250m,1";
const DEFAULT_MEM = "256Mi,512Mi";
const DEFAULT_SELFTEST_SCHEDULE = "17 * * * *";

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** "request,limit" (a missing limit means request,request). */
function parseResources(v: string, flag: string): [string, string] {
  const parts = v.split(",").map((s) => s.trim());
  if (parts.length > 2 || parts.some((p) => !QUANTITY.test(p))) {
    throw usage(
      `--${flag} must be "REQUEST,LIMIT" with Kubernetes quantities (for example 500m,1 or 512Mi,1Gi), not "${v}"`,
    );
  }
  return [parts[0]!, parts[1] ?? parts[0]!];
}

function checkQuantity(v: string, flag: string): string {
  if (!QUANTITY.test(v)) throw usage(`--${flag} must be a Kubernetes quantity such as 1Gi, not "${v}"`);
  return v;
}

export function checkLabelValue(v: string, flag: string): string {
  if (!LABEL_VALUE.test(v) || v.length > 63) {
    throw usage(`--${flag} must be a Kubernetes label value, not "${v}"`);
  }
  return v;
}

export function checkSubdomain(v: string, flag: string): string {
  if (!DNS_SUBDOMAIN.test(v) || v.length > 253) {
    throw usage(`--${flag} must be a Kubernetes object name, not "${v}"`);
  }
  return v;
}

export function checkImage(v: string, flag = "image"): string {
  if (v === "" || /\s/.test(v)) throw usage(`--${flag} must be a container image reference, not "${v}"`);
  return v;
}

export function checkProfileId(v: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw usage(`--profile-id must be 64 hex digits, not "${v}"`);
  return v.toLowerCase();
}

/** `KEY=VALUE` lines: blank lines and `#` comments skipped, optional `export `, optional '...' or "..." quoting. */
export function parseEnvFile(text: string, path: string): [string, string][] {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const body = line.startsWith("export ") ? line.slice(7).trimStart() : line;
    const eq = body.indexOf("=");
    const key = eq < 0 ? "" : body.slice(0, eq).trim();
    if (!ENV_NAME.test(key)) {
      throw usage(`--env-file ${path} line ${i + 1}: expected KEY=VALUE with a variable name`);
    }
    let value = body.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
      value = value.slice(1, -1);
    } else if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replace(/\\(["\\n])/g, (_m, c: string) => (c === "n" ? "\n" : c));
    }
    out.set(key, value);
  });
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A JSON object of string annotations. */
function parseAnnotations(text: string, path: string): [string, string][] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw usage(`--pod-annotations ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw usage(`--pod-annotations ${path} must be a JSON object of strings`);
  }
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v !== "string") throw usage(`--pod-annotations ${path}: the value of "${k}" must be a string`);
    if (!QUALIFIED_NAME.test(k) || k.split("/").pop()!.length > 63) {
      throw usage(`--pod-annotations ${path}: "${k}" is not a valid annotation key`);
    }
    out.push([k, v]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `key=value[,key=value]` for --allow-from-label. */
function parseLabelSelector(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(",")) {
    const eq = part.indexOf("=");
    const k = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (eq < 0 || !QUALIFIED_NAME.test(k) || !LABEL_VALUE.test(val) || val.length > 63) {
      throw usage(`--allow-from-label must be key=value[,key=value], not "${v}"`);
    }
    out[k] = val;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Whether a --config file is YAML (the hub reads `.yaml`/`.yml` as YAML, anything else as TOML). */
const isYaml = (path: string) => /\.ya?ml$/i.test(path);

/**
 * profile_id and log_level of a hub config file, TOML or YAML by its name (flat, or under a [hub] table with nothing
 * beside it), if set.
 */
function configSettings(
  text: string,
  path: string,
): { profileId: string | undefined; logLevel: string | undefined } {
  let doc: Record<string, unknown>;
  try {
    const parsed = isYaml(path) ? parseYaml(text) ?? {} : parseToml(text);
    if (typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a mapping of config keys");
    doc = parsed as Record<string, unknown>;
  } catch (e) {
    throw usage(`--config ${path} is not valid ${isYaml(path) ? "YAML" : "TOML"}: ${(e as Error).message}`);
  }
  const table = typeof doc.hub === "object" && doc.hub !== null ? doc.hub as Record<string, unknown> : doc;
  const outside = table === doc ? undefined : Object.keys(doc).find((k) => k !== "hub");
  if (outside !== undefined) {
    throw usage(`--config ${path}: key "${outside}" is outside the [hub] table (the hub refuses it)`);
  }
  const profileId = table.profile_id;
  if (profileId !== undefined && typeof profileId !== "string") {
    throw usage(`--config ${path}: profile_id must be a string`);
  }
  return { profileId, logLevel: typeof table.log_level === "string" ? table.log_level : undefined };
}

/**
 * A profile's generated `/etc/veen/hub.yaml` (spec 000 §4.3/§5.3): a tenant names its authority (`--profile tenant`
 * makes it the admin source) and, unless an admin bridge does it, pulls the admin labels itself every 2 s.
 */
function generatedProfileConfig(profileId: string, names: HubNames, adminBridge: boolean): string {
  const lines = [
    "# VEEN hub configuration rendered by `veen kube render` (keys: docs/hub-config.md).",
    "# The container command passes --listen, --data-dir, --profile and --profile-id, which take precedence.",
    "hub:",
    `  listen: "0.0.0.0:${HUB_PORT}"`,
    `  data_dir: "${DATA_DIR}"`,
    `  profile_id: "${profileId}"`,
    `  profile: "${names.layout}"`,
  ];
  if (names.layout === "tenant") {
    lines.push(`  authority_url: "${AUTHORITY_URL}"`);
    if (!adminBridge) lines.push("  admin_source_poll_ms: 2000");
  }
  return lines.join("\n") + "\n";
}

function generatedConfig(profileId: string): string {
  return [
    "# VEEN hub configuration rendered by `veen kube render` (keys: docs/hub-config.md).",
    "# The container command passes --listen, --data-dir and --profile-id, which take precedence.",
    "[hub]",
    `listen = "0.0.0.0:${HUB_PORT}"`,
    `data_dir = "${DATA_DIR}"`,
    `profile_id = "${profileId}"`,
    "",
  ].join("\n");
}

export interface RenderFlags {
  profile?: string | undefined;
  clusterContext?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  image?: string | undefined;
  dataPvc?: string | undefined;
  replicas?: number | undefined;
  resourcesCpu?: string | undefined;
  resourcesMem?: string | undefined;
  profileId?: string | undefined;
  config?: string | undefined;
  envFile?: string | undefined;
  podAnnotations?: string | undefined;
  universeId?: string | undefined;
  tenantId?: string | undefined;
  keysSecret?: string | undefined;
  logLevel?: string | undefined;
  noNamespace?: boolean | undefined;
  storage?: string | undefined;
  storageClass?: string | undefined;
  selftestSchedule?: string | undefined;
  allowFromLabel?: string[] | undefined;
  adminBridge?: boolean | undefined;
}

/** Validates flags, reads the files they name and builds the RenderInput. */
export async function renderInput(f: RenderFlags): Promise<RenderInput> {
  if (f.image === undefined) throw usage("Missing required flag --image");
  const image = checkImage(f.image);
  const keysSecret = f.keysSecret === undefined ? undefined : checkSubdomain(f.keysSecret, "keys-secret");
  let names: HubNames;
  let dataPvc: string | undefined;
  let tenantId: string | undefined;
  if (f.profile === undefined) {
    if (f.namespace === undefined) throw usage("Missing required flag --namespace");
    if (f.name === undefined) throw usage("Missing required flag --name (or --profile authority|tenant)");
    if (f.dataPvc === undefined) throw usage("Missing required flag --data-pvc");
    names = hubLayoutNames(f.namespace, f.name, keysSecret);
    dataPvc = checkSubdomain(f.dataPvc, "data-pvc");
    if (f.tenantId !== undefined) tenantId = checkDnsLabel(f.tenantId, "tenant-id");
    for (
      const [flag, v] of [["storage", f.storage], ["storage-class", f.storageClass], [
        "selftest-schedule",
        f.selftestSchedule,
      ]]
    ) {
      if (v !== undefined) throw usage(`--${flag} applies to --profile authority|tenant only`);
    }
    if ((f.allowFromLabel ?? []).length > 0) {
      throw usage("--allow-from-label applies to --profile authority|tenant only");
    }
    if (f.adminBridge === true) throw usage("--admin-bridge applies to --profile tenant only");
  } else {
    if (f.name !== undefined) throw usage("--name and --profile are exclusive: the profile fixes the names");
    if (f.dataPvc !== undefined) {
      throw usage("--data-pvc applies without --profile; profiles name their PVC (use --storage)");
    }
    if (f.profile === "authority") {
      if (f.tenantId !== undefined) throw usage("--tenant-id applies to --profile tenant only");
      if (f.adminBridge === true) throw usage("--admin-bridge applies to --profile tenant only");
      names = authorityNames(keysSecret);
    } else if (f.profile === "tenant") {
      if (f.tenantId === undefined) throw usage("--profile tenant needs --tenant-id");
      names = tenantNames(f.tenantId, keysSecret);
      tenantId = f.tenantId;
    } else {
      throw usage(`--profile must be authority or tenant, not "${f.profile}"`);
    }
    if (f.namespace !== undefined && f.namespace !== names.namespace) {
      throw usage(`--profile ${f.profile} lives in namespace ${names.namespace}, not "${f.namespace}"`);
    }
  }
  const replicas = f.replicas ?? 1;
  if (replicas > 1) {
    throw usage(
      "--replicas must be 0 or 1: a hub is the single writer of its data directory (spec 000 §5.2)",
    );
  }
  const cpu = parseResources(f.resourcesCpu ?? DEFAULT_CPU, "resources-cpu");
  const mem = parseResources(f.resourcesMem ?? DEFAULT_MEM, "resources-mem");

  let configText: string | undefined;
  let config: ReturnType<typeof configSettings> = { profileId: undefined, logLevel: undefined };
  if (f.config !== undefined) {
    configText = await readUserFile(f.config, "--config file");
    config = configSettings(configText, f.config);
  }
  const profileId = checkProfileId(f.profileId ?? config.profileId ?? DEFAULT_PROFILE_ID_HEX);
  const adminBridge = f.adminBridge === true;
  configText ??= names.layout === "hub"
    ? generatedConfig(profileId)
    : generatedProfileConfig(profileId, names, adminBridge);
  const configKey = f.config === undefined
    ? (names.layout === "hub" ? "hub-config.toml" : "hub.yaml")
    : (isYaml(f.config) ? "hub.yaml" : "hub-config.toml");
  const logLevel = f.logLevel ?? config.logLevel ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw usage(`--log-level must be debug, info, warn or error, not "${logLevel}"`);
  }
  const envFile = f.envFile === undefined
    ? []
    : parseEnvFile(await readUserFile(f.envFile, "--env-file"), f.envFile);
  const podAnnotations = f.podAnnotations === undefined
    ? []
    : parseAnnotations(await readUserFile(f.podAnnotations, "--pod-annotations file"), f.podAnnotations);
  const universeId = checkLabelValue(f.universeId ?? "default", "universe-id");
  if (universeId === "") throw usage("--universe-id must not be empty");
  const schedule = f.selftestSchedule ?? DEFAULT_SELFTEST_SCHEDULE;
  if (schedule.trim().split(/\s+/).length !== 5) {
    throw usage(`--selftest-schedule must be a 5-field cron expression, not "${schedule}"`);
  }

  const inp: RenderInput = {
    names,
    image,
    replicas,
    cpu,
    mem,
    profileId,
    logLevel,
    configText,
    configKey,
    adminBridge,
    envFile,
    podAnnotations,
    universeId,
    includeNamespace: f.noNamespace !== true,
    selftestSchedule: schedule,
    allowFrom: (f.allowFromLabel ?? []).map(parseLabelSelector),
  };
  if (dataPvc !== undefined) inp.dataPvc = dataPvc;
  if (tenantId !== undefined) inp.tenantId = tenantId;
  if (f.storage !== undefined) inp.storage = checkQuantity(f.storage, "storage");
  if (f.storageClass !== undefined) inp.storageClass = checkSubdomain(f.storageClass, "storage-class");
  return inp;
}
