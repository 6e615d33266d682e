/**
 * Environment descriptors (CLI-GOALS-3 §4) as data: `ROOT/NAME.env.json` naming a cluster context, a namespace, hubs
 * (service URL, profile_id, realm_id) and tenants (stream prefix, label class). `veen env` (ops/env.ts) writes them;
 * `--env FILE --hub-name NAME` resolves a hub from them, and `audit summary --env FILE` reads their tenants, so the
 * parser lives here, where both the ops and the client commands reach it.
 *
 *   {"version": 1, "name", "cluster_context", "namespace", "description": "" when not given,
 *    "hubs": {NAME: {"service_url", "profile_id", "realm_id": HEX32 or null}},
 *    "tenants": {TENANT_ID: {"stream_prefix", "label_class": "user"|"wallet"|"log"|"admin"|"bulk"}}}
 */
import { type CommandError, usageError } from "./errors.ts";

export const ENV_VERSION = 1;
export const LABEL_CLASSES = ["user", "wallet", "log", "admin", "bulk"] as const;
export type LabelClass = typeof LABEL_CLASSES[number];

export interface HubEntry {
  service_url: string;
  profile_id: string;
  realm_id: string | null;
}

export interface TenantEntry {
  stream_prefix: string;
  label_class: LabelClass;
}

export interface EnvDescriptor {
  version: number;
  name: string;
  cluster_context: string;
  namespace: string;
  description: string;
  hubs: Record<string, HubEntry>;
  tenants: Record<string, TenantEntry>;
  /** Top-level keys this version does not know, kept as they were. */
  extra: Record<string, unknown>;
}

const KNOWN_KEYS = ["version", "name", "cluster_context", "namespace", "description", "hubs", "tenants"];

function fail(path: string, detail: string): CommandError {
  return usageError(`Environment file ${path}: ${detail}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses and validates descriptor text; every problem is a usage error naming the file. */
export function parseEnvDescriptor(text: string, path: string): EnvDescriptor {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw fail(path, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw fail(path, "not a JSON object");
  if (doc.version !== ENV_VERSION) {
    throw fail(path, `unsupported version ${JSON.stringify(doc.version)} (expected 1)`);
  }
  for (const k of ["name", "cluster_context", "namespace"] as const) {
    if (typeof doc[k] !== "string") throw fail(path, `"${k}" must be a string`);
  }
  if (doc.description !== undefined && typeof doc.description !== "string") {
    throw fail(path, `"description" must be a string`);
  }
  const hubs: Record<string, HubEntry> = {};
  const rawHubs = doc.hubs ?? {};
  if (!isObject(rawHubs)) throw fail(path, `"hubs" must be an object`);
  for (const [name, h] of Object.entries(rawHubs)) {
    if (!isObject(h) || typeof h.service_url !== "string" || typeof h.profile_id !== "string") {
      throw fail(path, `hubs["${name}"] needs string service_url and profile_id`);
    }
    const realm = h.realm_id ?? null;
    if (realm !== null && typeof realm !== "string") {
      throw fail(path, `hubs["${name}"].realm_id must be a string or null`);
    }
    hubs[name] = { service_url: h.service_url, profile_id: h.profile_id, realm_id: realm };
  }
  const tenants: Record<string, TenantEntry> = {};
  const rawTenants = doc.tenants ?? {};
  if (!isObject(rawTenants)) throw fail(path, `"tenants" must be an object`);
  for (const [id, t] of Object.entries(rawTenants)) {
    if (!isObject(t) || typeof t.stream_prefix !== "string") {
      throw fail(path, `tenants["${id}"] needs a string stream_prefix`);
    }
    const cls = t.label_class ?? "user";
    if (!(LABEL_CLASSES as readonly unknown[]).includes(cls)) {
      throw fail(path, `tenants["${id}"].label_class must be one of ${LABEL_CLASSES.join(", ")}`);
    }
    tenants[id] = { stream_prefix: t.stream_prefix, label_class: cls as LabelClass };
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!KNOWN_KEYS.includes(k)) extra[k] = v;
  return {
    version: ENV_VERSION,
    name: doc.name as string,
    cluster_context: doc.cluster_context as string,
    namespace: doc.namespace as string,
    description: (doc.description as string | undefined) ?? "",
    hubs,
    tenants,
    extra,
  };
}

/** The tenant a stream belongs to: the one whose stream_prefix is the longest prefix of `stream`, if any. */
export function tenantOfStream(env: EnvDescriptor, stream: string): string | undefined {
  let best: string | undefined;
  for (const [id, t] of Object.entries(env.tenants)) {
    if (!stream.startsWith(t.stream_prefix)) continue;
    if (best === undefined || t.stream_prefix.length > env.tenants[best]!.stream_prefix.length) best = id;
  }
  return best;
}
