/**
 * The files a running hub keeps in its data dir for other processes (`hub stop`, `--hub DIR`, selftest, bench):
 * `DIR/hub.pid` (the pid and a newline) and `DIR/hub.state.json`
 * (`{listen, url, pid, hub_pk, started_at, version}`), both 0600, written once the hub serves and removed when it
 * stops; a detached hub logs to `DIR/hub.log`. This module is their one reader and writer.
 */

export const PID_FILE = "hub.pid";
export const STATE_FILE = "hub.state.json";
export const LOG_FILE = "hub.log";

/** The content of `hub.state.json`. */
export interface HubState {
  listen: string;
  url: string;
  pid: number;
  hub_pk?: string;
  started_at?: string;
  version?: string;
}

/** Writes `hub.pid`, then `hub.state.json` atomically (tmp + rename): a reader never sees half a state file. */
export async function writeHubState(dataDir: string, state: HubState): Promise<void> {
  await Deno.writeTextFile(`${dataDir}/${PID_FILE}`, `${state.pid}\n`, { mode: 0o600 });
  const tmp = `${dataDir}/${STATE_FILE}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(state) + "\n", { mode: 0o600 });
  await Deno.rename(tmp, `${dataDir}/${STATE_FILE}`);
}

/** Removes `hub.pid` and `hub.state.json` (missing files are fine). */
export async function removeHubState(dataDir: string): Promise<void> {
  for (const f of [PID_FILE, STATE_FILE]) await Deno.remove(`${dataDir}/${f}`).catch(() => {});
}

/** The state file of `dataDir`, or undefined when it is missing or unreadable. */
export async function readState(dataDir: string): Promise<HubState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dataDir}/${STATE_FILE}`)) as HubState;
  } catch {
    return undefined;
  }
}

/**
 * The base URL a parsed state file names (`url`, else `http://` + `listen` with 0.0.0.0 read as 127.0.0.1), or
 * undefined when it names neither.
 */
export function stateUrl(state: unknown): string | undefined {
  const o = (typeof state === "object" && state !== null ? state : {}) as Record<string, unknown>;
  if (typeof o.url === "string") return o.url;
  if (typeof o.listen === "string") return `http://${o.listen.replace(/^0\.0\.0\.0:/, "127.0.0.1:")}`;
  return undefined;
}

/** True while process `pid` exists and is not a zombie (Linux /proc). */
export function processAlive(pid: number): boolean {
  try {
    return Deno.statSync(`/proc/${pid}`).isDirectory &&
      !Deno.readTextFileSync(`/proc/${pid}/stat`).split(" ")[2]?.startsWith("Z");
  } catch {
    return false;
  }
}

/** The pid of a live hub on `dataDir`, if any (a stale pid file is ignored). */
export async function runningPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(`${dataDir}/${PID_FILE}`)).trim());
    return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
