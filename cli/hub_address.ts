/**
 * Resolves `--hub` (normalization rules of spec 001: an HTTP(S) URL or a local hub data directory). A directory or
 * `file://` URI names a running hub through `<dir>/hub.state.json` (cmd/hub_state.ts). `VEEN_HUB` is the default.
 *
 * `key` identifies the address for the hub-key pin (TOFU): the normalized URL, or `file://` + absolute directory,
 * which stays the same when a hub restarts on another port.
 */
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { STATE_FILE, stateUrl, transportError, usageError } from "../cmd/mod.ts";

export interface HubAddress {
  /** Base URL without a trailing slash. */
  url: string;
  /** Stable key of this address for pins in state.json. */
  key: string;
  /** The data directory, when `--hub` named one. */
  dataDir?: string;
}

function normalizeUrl(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw usageError(`Cannot parse hub URL "${s}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw usageError(`Hub URL must be http(s), got "${s}"`);
  }
  if (u.search !== "" || u.hash !== "") throw usageError(`Hub URL must not have a query or fragment: "${s}"`);
  return (u.origin + u.pathname).replace(/\/+$/, "");
}

/** Reads `<dir>/hub.state.json`; a missing or unreadable file is a transport failure (no running hub). */
async function readHubStateUrl(dir: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${STATE_FILE}`);
  } catch (e) {
    throw transportError(`No running hub at ${dir} (cannot read ${STATE_FILE})`, e);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw transportError(`${dir}/${STATE_FILE} is not valid JSON`, e);
  }
  const url = stateUrl(v);
  if (url === undefined) throw transportError(`${dir}/${STATE_FILE} names no url or listen address`);
  return normalizeUrl(url);
}

/** Resolves a `--hub` value (or `VEEN_HUB` when absent). */
export async function resolveHub(
  value: string | undefined,
  env: (k: string) => string | undefined,
): Promise<HubAddress> {
  const v = value ?? env("VEEN_HUB");
  if (v === undefined || v === "") throw usageError("Missing required flag --hub (or set VEEN_HUB)");
  if (/^https?:\/\//i.test(v)) {
    const url = normalizeUrl(v);
    return { url, key: url };
  }
  const dir = hubDirOf(v);
  return { url: await readHubStateUrl(dir), key: hubAddressKey(v), dataDir: dir };
}

/**
 * The absolute data directory named by a path or `file://` URI. Any other `scheme://` is refused (spec 001: `--hub` is
 * an HTTP(S) URL or a data directory), so `ftp://x` is not read as the relative directory `ftp:/x`.
 */
function hubDirOf(value: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== "file") {
    throw usageError(
      `Hub URL scheme "${scheme}" is not supported (use http, https, file or a data directory): "${value}"`,
    );
  }
  let dir: string;
  if (scheme !== undefined) {
    try {
      dir = fileURLToPath(value);
    } catch {
      throw usageError(`Cannot parse file URI "${value}"`);
    }
  } else {
    dir = resolve(value);
  }
  return dir.replace(/\/+$/, "") || "/";
}

/** The pin key of a `--hub` value without any I/O (for offline lookups of pins in state.json). */
export function hubAddressKey(value: string): string {
  if (/^https?:\/\//i.test(value)) return normalizeUrl(value);
  return pathToFileURL(hubDirOf(value)).href;
}
