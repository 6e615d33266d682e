/**
 * `veen hub start|stop|fsck` (CLI-GOALS-1 §2.1-2.2; fsck in fsck.ts): the hub process itself. Without `--foreground` the command starts a
 * detached copy of itself, waits until it serves, and returns; the running hub holds the data dir lock
 * (data_dir_lock.ts: one hub per dir), keeps `DIR/hub.pid` and `DIR/hub.state.json` (`{listen, url, pid, hub_pk,
 * started_at}`) and removes them when it stops.
 */
import { EXIT, toHex, VeenError } from "../core/mod.ts";
import { GLIBC_TUNABLES } from "../runtime.ts";
import { versionLine } from "../version.ts";
import {
  type AdmissionMode,
  applyEnv,
  applyToml,
  defaultConfig,
  type HubConfig,
  type LogLevel,
  validateConfig,
} from "./config.ts";
import { parseDataDirFlags, parseFlags } from "./command_args.ts";
import { startHub } from "./hub.ts";
import { prepareDataDir } from "./hub_key.ts";
import { Logger } from "./logger.ts";

export const PID_FILE = "hub.pid";
export const STATE_FILE = "hub.state.json";
export const LOG_FILE = "hub.log";

const START_HELP =
  `Usage: veen hub start --data-dir DIR [--listen HOST:PORT] [--config FILE] [--profile-id HEX]
                      [--foreground] [--log-level debug|info|warn|error] [--admission auto|on|off]
                      [--allow-open-public] [--trusted-issuer HEX]... [--tls-cert PEM --tls-key PEM]
Starts a hub. --listen defaults to 127.0.0.1:37411 (VEEN_LISTEN). Without --foreground it detaches, writes
DIR/hub.pid and DIR/hub.state.json, logs to DIR/hub.log, and returns once the hub serves.
Admission (cap tokens via /authorize) is required by default on non-loopback addresses; --admission off there
is refused unless --allow-open-public (allow_open_public) is given. One hub per data dir: while a process holds
DIR/lock, a start exits 2 naming the dir and that process.`;

const STOP_HELP = `Usage: veen hub stop --data-dir DIR [--timeout-ms N]
Gracefully stops the hub running on DIR (flush, fsync, final checkpoints). Exits 0 when no hub is running.`;

function err(s: string): void {
  console.error(s);
}

/** Builds the effective config: defaults, then --config TOML, then VEEN_* env, then flags. */
export async function buildConfig(
  flags: Record<string, unknown>,
  env: Record<string, string>,
): Promise<HubConfig> {
  const cfg = defaultConfig();
  const file = flags.config as string | undefined;
  if (file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new VeenError("E.NOT_FOUND", `Cannot read config file ${file}: ${(e as Error).message}`);
    }
    applyToml(cfg, text, file);
  }
  applyEnv(cfg, env);
  if (typeof flags.listen === "string") cfg.listen = flags.listen;
  if (typeof flags["data-dir"] === "string") cfg.dataDir = flags["data-dir"];
  if (typeof flags["profile-id"] === "string") cfg.profileIdHex = flags["profile-id"];
  if (typeof flags["log-level"] === "string") cfg.logLevel = flags["log-level"] as LogLevel;
  if (typeof flags.admission === "string") cfg.admission = flags.admission as AdmissionMode;
  if (flags["allow-open-public"] === true) cfg.allowOpenPublic = true;
  if (Array.isArray(flags["trusted-issuer"])) {
    cfg.trustedIssuers.push(...(flags["trusted-issuer"] as string[]));
  }
  if (typeof flags["tls-cert"] === "string") cfg.tlsCert = flags["tls-cert"];
  if (typeof flags["tls-key"] === "string") cfg.tlsKey = flags["tls-key"];
  validateConfig(cfg);
  return cfg;
}

export async function hubMain(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "start":
    case "run":
      return await start(rest, sub === "run");
    case "stop":
      return await stop(rest);
    case "fsck":
      return await (await import("./fsck.ts")).fsckMain(rest);
    case undefined:
    case "--help":
    case "-h":
      console.log(
        `${START_HELP}\n\n${STOP_HELP}\n\nUsage: veen hub fsck --data-dir DIR [--json] [--force]   (see veen hub fsck --help)`,
      );
      return sub === undefined ? EXIT.USAGE : EXIT.OK;
    default:
      err(`veen hub: unknown subcommand "${sub}" (try veen hub --help)`);
      return EXIT.USAGE;
  }
}

async function start(rest: string[], forceForeground: boolean): Promise<number> {
  const flags = parseFlags(rest, {
    listen: { type: "string" },
    "data-dir": { type: "string" },
    config: { type: "string" },
    "profile-id": { type: "string" },
    foreground: { type: "boolean" },
    "log-level": { type: "string" },
    admission: { type: "string" },
    "allow-open-public": { type: "boolean" },
    "trusted-issuer": { type: "string", multiple: true },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    help: { type: "boolean", short: "h" },
  }, START_HELP);
  if (typeof flags === "number") return flags;
  let cfg: HubConfig;
  try {
    cfg = await buildConfig(flags, Deno.env.toObject());
  } catch (e) {
    err(e instanceof VeenError ? `${e.code}: ${e.detail}` : String(e));
    return EXIT.USAGE;
  }
  if (flags.foreground || forceForeground) return await runForeground(cfg);
  return await detach(cfg, rest);
}

async function runForeground(cfg: HubConfig): Promise<number> {
  const log = new Logger(cfg.logLevel);
  let exitCode: number = EXIT.OK;
  let hub;
  try {
    hub = await startHub(cfg, {
      logger: log,
      onFatal: () => (exitCode = EXIT.CHECK),
      // Removed while the data dir lock is still held, so they never remove a next hub's files.
      onClosed: async () => {
        for (const f of [PID_FILE, STATE_FILE]) await Deno.remove(`${cfg.dataDir}/${f}`).catch(() => {});
      },
    });
  } catch (e) {
    err(
      e instanceof VeenError
        ? `${e.code}: ${e.detail}`
        : `E.UNAVAILABLE: cannot start hub: ${(e as Error).message}`,
    );
    return EXIT.TRANSPORT;
  }
  await Deno.writeTextFile(`${cfg.dataDir}/${PID_FILE}`, `${Deno.pid}\n`, { mode: 0o600 });
  const state = {
    listen: cfg.listen,
    url: hub.url,
    pid: Deno.pid,
    hub_pk: toHex(hub.hubKey.public),
    started_at: new Date().toISOString(),
    version: versionLine(),
  };
  const tmp = `${cfg.dataDir}/${STATE_FILE}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(state) + "\n", { mode: 0o600 });
  await Deno.rename(tmp, `${cfg.dataDir}/${STATE_FILE}`);
  const onSignal = () => void hub.close();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  await hub.finished;
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGINT", onSignal);
  return exitCode;
}

/** The command line that runs this program again (launcher/deno run, or the compiled binary). */
export function selfCommand(): { cmd: string; args: string[] } {
  if (Deno.build.standalone) return { cmd: Deno.execPath(), args: [] };
  const main = new URL("../mod.ts", import.meta.url);
  const config = new URL("../deno.json", import.meta.url);
  return {
    cmd: Deno.execPath(),
    args: ["run", "--allow-all", "--unstable-kv", "--quiet", "--config", config.pathname, main.pathname],
  };
}

/**
 * Starts `hub start --foreground` as a detached child and waits until it serves. The data dir lock is probed
 * first (a dir in use fails here, before anything in it is touched) and released again for the child to take;
 * only a state file naming the child's pid counts as started, so a child that lost the lock to another hub exits
 * and is reported as failed.
 */
async function detach(cfg: HubConfig, rest: string[]): Promise<number> {
  let lock;
  try {
    lock = await prepareDataDir(cfg.dataDir);
  } catch (e) {
    err(e instanceof VeenError ? `${e.code}: ${e.detail}` : `E.UNAVAILABLE: ${(e as Error).message}`);
    return EXIT.TRANSPORT;
  }
  const logPath = `${cfg.dataDir}/${LOG_FILE}`;
  try {
    (await Deno.open(logPath, { create: true, append: true, mode: 0o600 })).close();
    await Deno.remove(`${cfg.dataDir}/${STATE_FILE}`).catch(() => {});
  } finally {
    lock.release();
  }
  const self = selfCommand();
  const args = [...self.args, "hub", "start", ...rest.filter((a) => a !== "--foreground"), "--foreground"];
  if (!rest.some((a) => a === "--data-dir" || a.startsWith("--data-dir="))) {
    args.push("--data-dir", cfg.dataDir);
  }
  if (!rest.some((a) => a === "--listen" || a.startsWith("--listen="))) args.push("--listen", cfg.listen);
  // setsid: own session, so the terminal's signals do not reach it; the shell redirects output to hub.log.
  const child = new Deno.Command("setsid", {
    args: [
      "sh",
      "-c",
      'log="$1"; shift; exec "$@" >>"$log" 2>&1 </dev/null',
      "sh",
      logPath,
      self.cmd,
      ...args,
    ],
    env: Deno.env.get("GLIBC_TUNABLES") === undefined ? { GLIBC_TUNABLES } : {},
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 30_000;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < deadline) {
    const st = await readState(cfg.dataDir);
    if (st !== undefined && st.pid === child.pid) {
      try {
        // The state file is written once the hub serves; over plain HTTP /readyz confirms it. (An HTTPS hub's
        // certificate may not be trusted by this process, so there the state file is the signal.)
        let ok = st.url.startsWith("https:");
        if (!ok) {
          const r = await fetch(`${st.url}/readyz`);
          await r.body?.cancel();
          ok = r.ok;
        }
        if (ok) {
          console.log(`hub started: ${st.url} (pid ${st.pid}, data dir ${cfg.dataDir})`);
          child.unref();
          return EXIT.OK;
        }
      } catch {
        // not serving yet
      }
    }
    if (exited) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = await Deno.readTextFile(logPath).then((t) => t.split("\n").slice(-10).join("\n")).catch(() =>
    ""
  );
  err(`E.UNAVAILABLE: hub did not start (see ${logPath})\n${tail}`);
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  return EXIT.TRANSPORT;
}

export interface HubState {
  listen: string;
  url: string;
  pid: number;
  hub_pk?: string;
}

export async function readState(dataDir: string): Promise<HubState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dataDir}/${STATE_FILE}`)) as HubState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
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
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

const STOP_INTS = { "timeout-ms": { min: 1, max: 3_600_000 } };

async function stop(rest: string[]): Promise<number> {
  const parsed = parseDataDirFlags(
    rest,
    {
      "data-dir": { type: "string" },
      "timeout-ms": { type: "string" },
      help: { type: "boolean" },
    },
    STOP_HELP,
    STOP_INTS,
  );
  if (typeof parsed === "number") return parsed;
  const { flags, dir } = parsed;
  const pid = await runningPid(dir);
  if (pid === undefined) {
    console.log(`no hub running on ${dir}`);
    return EXIT.OK;
  }
  Deno.kill(pid, "SIGTERM");
  const deadline = Date.now() + Number(flags["timeout-ms"] ?? 30_000);
  while (alive(pid)) {
    if (Date.now() > deadline) {
      err(`E.UNAVAILABLE: hub pid ${pid} did not stop in time`);
      return EXIT.TRANSPORT;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`hub stopped (pid ${pid})`);
  return EXIT.OK;
}
