/**
 * Environment descriptors (CLI-GOALS-3 §4): `ROOT/NAME.env.json` files naming a cluster context, a namespace, hubs
 * (service URL, profile_id, realm_id) and tenants (stream prefix, label class), for `veen env init|add-hub|
 * add-tenant|show` and for `--env FILE --hub-name NAME` wherever `--hub URL` is accepted.
 *
 * File format (written with two-space indentation, keys in this order, hubs and tenants sorted by name, a final
 * newline; unknown top-level keys are kept after the known ones):
 *
 *   {"version": 1, "name", "cluster_context", "namespace", "description": "" when not given,
 *    "hubs": {NAME: {"service_url", "profile_id", "realm_id": HEX32 or null}},
 *    "tenants": {TENANT_ID: {"stream_prefix", "label_class": "user"|"wallet"|"log"|"admin"|"bulk"}}}
 *
 * Saves are atomic: a temporary file in the same directory, fsync, rename, fsync of the directory. The parser and
 * the types are cmd/env_descriptor.ts (the client commands read descriptors too).
 */
import { dirname, join } from "node:path";
import {
  ENV_VERSION,
  type EnvDescriptor,
  type Flags,
  type HubEntry,
  LABEL_CLASSES,
  type LabelClass,
  parseEnvDescriptor as parseEnv,
  type TenantEntry,
} from "../cmd/mod.ts";
import { EXIT } from "../core/mod.ts";
import {
  check,
  dispatch,
  type Mode,
  type OpsIo,
  readUserFile,
  result,
  type Subcommand,
  type Tool,
  usage,
} from "./io.ts";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HEX32_RE = /^[0-9a-fA-F]{64}$/;

const ENV_HELP = `Usage: veen env <init|add-hub|add-tenant|show> [flags]
  veen env init --root DIR --name ENV --cluster-context CTX --namespace NS [--description TEXT]
  veen env add-hub --env FILE --hub-name NAME --service-url URL --profile-id HEX32 [--realm HEX32]
  veen env add-tenant --env FILE --tenant-id ID --stream-prefix PREFIX [--label-class user|wallet|log|admin|bulk]
  veen env show --env FILE [--json]
Environment descriptors (DIR/ENV.env.json) name a cluster context, a namespace, hubs and tenants. Other commands
accept --env FILE --hub-name NAME instead of --hub URL. Flags: --json --quiet --help`;

const HELP: Record<string, string> = {
  init:
    `Usage: veen env init --root DIR --name ENV --cluster-context CTX --namespace NS [--description TEXT] [--json]
Creates DIR (if missing) and writes DIR/ENV.env.json with no hubs and no tenants. Run again to change the context,
namespace or description: hubs and tenants already in the file are kept.`,
  "add-hub":
    `Usage: veen env add-hub --env FILE --hub-name NAME --service-url URL --profile-id HEX32 [--realm HEX32] [--json]
Inserts or updates hubs[NAME] = {service_url, profile_id, realm_id (null without --realm)} and saves atomically.`,
  "add-tenant": `Usage: veen env add-tenant --env FILE --tenant-id ID --stream-prefix PREFIX
                      [--label-class user|wallet|log|admin|bulk] [--json]
Inserts or updates tenants[ID] = {stream_prefix, label_class (default user)} and saves atomically.`,
  show: `Usage: veen env show --env FILE [--json]
Prints a summary of the descriptor's hubs and tenants; --json reprints the file verbatim.`,
};

function sorted<T>(rec: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(rec).sort()) out[k] = rec[k]!;
  return out;
}

/** The canonical file text of a descriptor. */
function encodeEnv(env: EnvDescriptor): string {
  const doc: Record<string, unknown> = {
    version: env.version,
    name: env.name,
    cluster_context: env.cluster_context,
    namespace: env.namespace,
    description: env.description,
    hubs: sorted(env.hubs),
    tenants: sorted(env.tenants),
  };
  for (const [k, v] of Object.entries(env.extra)) doc[k] = v;
  return JSON.stringify(doc, null, 2) + "\n";
}

async function loadEnv(path: string): Promise<{ env: EnvDescriptor; text: string }> {
  const text = await readUserFile(path, "environment file");
  return { env: parseEnv(text, path), text };
}

/** Writes `text` to `path` atomically (tmp in the same directory, fsync, rename, directory fsync). */
async function writeAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const bytes = new TextEncoder().encode(text);
  try {
    const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    try {
      let rest = bytes;
      while (rest.length > 0) rest = rest.subarray(await f.write(rest));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw check("E.UNAVAILABLE", `Cannot write ${path}: ${(e as Error).message}`);
  }
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

function checkName(v: string, flag: string): string {
  if (!NAME_RE.test(v)) {
    throw usage(
      `--${flag} must be letters, digits, ".", "_" or "-" (not starting with a symbol), not "${v}"`,
    );
  }
  return v;
}

function checkHex32(v: string, flag: string): string {
  if (!HEX32_RE.test(v)) throw usage(`--${flag} must be 64 hex digits, not "${v}"`);
  return v.toLowerCase();
}

function checkUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw usage(`--service-url must be an http:// or https:// URL, not "${v}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw usage(`--service-url must be an http:// or https:// URL, not "${v}"`);
  }
  return v;
}

async function init(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const root = f.req("root");
  const name = checkName(f.req("name"), "name");
  const context = f.req("cluster-context");
  const namespace = f.req("namespace");
  const description = f.str("description") ?? "";
  const path = join(root, `${name}.env.json`);
  try {
    await Deno.mkdir(root, { recursive: true });
  } catch (e) {
    throw usage(`Cannot create --root directory "${root}": ${(e as Error).message}`);
  }
  let env: EnvDescriptor;
  let status: "created" | "updated" | "unchanged";
  let before: string | undefined;
  try {
    before = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw usage(`Cannot read ${path}: ${(e as Error).message}`);
  }
  if (before === undefined) {
    env = {
      version: ENV_VERSION,
      name,
      cluster_context: context,
      namespace,
      description,
      hubs: {},
      tenants: {},
      extra: {},
    };
    status = "created";
  } else {
    env = { ...parseEnv(before, path), name, cluster_context: context, namespace, description };
    status = encodeEnv(env) === before ? "unchanged" : "updated";
  }
  if (status !== "unchanged") await writeAtomic(path, encodeEnv(env));
  result(io, mode, { env: path, status }, [`${status} ${path}`]);
  return EXIT.OK;
}

async function addHub(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const path = f.req("env");
  const hubName = checkName(f.req("hub-name"), "hub-name");
  const entry: HubEntry = {
    service_url: checkUrl(f.req("service-url")),
    profile_id: checkHex32(f.req("profile-id"), "profile-id"),
    realm_id: f.str("realm") === undefined ? null : checkHex32(f.str("realm")!, "realm"),
  };
  const { env } = await loadEnv(path);
  const existed = env.hubs[hubName] !== undefined;
  env.hubs[hubName] = entry;
  await writeAtomic(path, encodeEnv(env));
  const status = existed ? "updated" : "added";
  result(io, mode, { env: path, hub_name: hubName, status, hub: entry }, [
    `${status} hub ${hubName} in ${path}`,
  ]);
  return EXIT.OK;
}

async function addTenant(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const path = f.req("env");
  const tenantId = checkName(f.req("tenant-id"), "tenant-id");
  const prefix = f.req("stream-prefix");
  const cls = f.str("label-class") ?? "user";
  if (!(LABEL_CLASSES as readonly string[]).includes(cls)) {
    throw usage(`--label-class must be one of ${LABEL_CLASSES.join(", ")}, not "${cls}"`);
  }
  const { env } = await loadEnv(path);
  const existed = env.tenants[tenantId] !== undefined;
  const entry: TenantEntry = { stream_prefix: prefix, label_class: cls as LabelClass };
  env.tenants[tenantId] = entry;
  await writeAtomic(path, encodeEnv(env));
  const status = existed ? "updated" : "added";
  result(io, mode, { env: path, tenant_id: tenantId, status, tenant: entry }, [
    `${status} tenant ${tenantId} in ${path}`,
  ]);
  return EXIT.OK;
}

/** The human summary of `env show`. */
function summarize(env: EnvDescriptor, path: string): string[] {
  const lines = [
    `env: ${env.name} (${path})`,
    `cluster_context: ${env.cluster_context}`,
    `namespace: ${env.namespace}`,
    `description: ${env.description === "" ? "-" : env.description}`,
  ];
  const hubs = Object.keys(env.hubs).sort();
  lines.push(`hubs (${hubs.length}):`);
  for (const h of hubs) {
    const e = env.hubs[h]!;
    lines.push(`  ${h}  ${e.service_url}  profile_id=${e.profile_id}  realm_id=${e.realm_id ?? "-"}`);
  }
  const tenants = Object.keys(env.tenants).sort();
  lines.push(`tenants (${tenants.length}):`);
  for (const t of tenants) {
    const e = env.tenants[t]!;
    lines.push(`  ${t}  stream_prefix=${e.stream_prefix}  label_class=${e.label_class}`);
  }
  return lines;
}

async function show(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const path = f.req("env");
  const { env, text } = await loadEnv(path);
  if (mode.json) io.writeOut(text.endsWith("\n") ? text : text + "\n");
  else if (!mode.quiet) io.writeOut(summarize(env, path).map((l) => l + "\n").join(""));
  return EXIT.OK;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  init: {
    flags: {
      root: { type: "string" },
      name: { type: "string" },
      "cluster-context": { type: "string" },
      namespace: { type: "string" },
      description: { type: "string" },
    },
    run: init,
  },
  "add-hub": {
    flags: {
      env: { type: "string" },
      "hub-name": { type: "string" },
      "service-url": { type: "string" },
      "profile-id": { type: "string" },
      realm: { type: "string" },
    },
    run: addHub,
  },
  "add-tenant": {
    flags: {
      env: { type: "string" },
      "tenant-id": { type: "string" },
      "stream-prefix": { type: "string" },
      "label-class": { type: "string" },
    },
    run: addTenant,
  },
  show: { flags: { env: { type: "string" } }, run: show },
};

/** `veen env ...` with an injectable environment (tests). `args` starts after the word "env". */
export async function runEnv(args: string[], io: OpsIo): Promise<number> {
  return await dispatch(io, ENV_TOOL, args);
}

/** `veen env` as a tool of ops/io.ts (its subcommands, flags and help texts). */
export const ENV_TOOL: Tool = { name: "env", help: ENV_HELP, commands: SUBCOMMANDS, helps: HELP };

/** A hub of a descriptor, as `--env FILE --hub-name NAME` resolves it. */
export interface ResolvedHub {
  serviceUrl: string;
  profileId: string;
  realmId: string | null;
}

/**
 * Resolves `--env FILE --hub-name NAME` to the hub's entry (synchronous, for flag resolution before a command runs).
 * Throws a CommandError (code E.USAGE, exit code 1) when the file is missing or malformed or has no such hub.
 */
export function resolveHubEntryFromEnv(envFile: string, hubName: string): ResolvedHub {
  let text: string;
  try {
    text = Deno.readTextFileSync(envFile);
  } catch (e) {
    throw usage(`Cannot read environment file "${envFile}": ${e instanceof Error ? e.message : String(e)}`);
  }
  const env = parseEnv(text, envFile);
  const hub = env.hubs[hubName];
  if (hub === undefined) {
    const known = Object.keys(env.hubs).sort();
    throw usage(
      `No hub named "${hubName}" in ${envFile} (known: ${known.length === 0 ? "none" : known.join(", ")})`,
    );
  }
  return { serviceUrl: hub.service_url, profileId: hub.profile_id, realmId: hub.realm_id };
}

/** The hub URL for `--env FILE --hub-name NAME`; see resolveHubEntryFromEnv for errors. */
export function resolveHubFromEnv(envFile: string, hubName: string): string {
  return resolveHubEntryFromEnv(envFile, hubName).serviceUrl;
}
