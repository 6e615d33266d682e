/**
 * `veen hub start|run|stop` (CLI-GOALS-1 §2.1-2.2; table in commands.ts): the hub process itself. Without
 * `--foreground` `start` starts a detached copy of itself, waits until it serves, and returns; the running hub holds
 * the data dir lock (data_dir_lock.ts: one hub per dir) and keeps `DIR/hub.pid` and `DIR/hub.state.json`
 * (cmd/hub_state.ts), removing them when it stops.
 */
import {
  type CommandContext,
  CommandError,
  LOG_FILE,
  processAlive,
  readState,
  removeHubState,
  runningPid,
  STATE_FILE,
  transportError,
  writeHubState,
} from "../cmd/mod.ts";
import { EXIT, toHex, VeenError } from "../core/mod.ts";
import { GLIBC_TUNABLES } from "../runtime.ts";
import { versionLine } from "../version.ts";
import { dataDirOf } from "./commands.ts";
import {
  type AdmissionMode,
  applyConfigFile,
  applyEnv,
  applyProfile,
  CONFIG_KEYS,
  configError,
  defaultConfig,
  envNameOf,
  type HubConfig,
  type LogLevel,
  parseListen,
  setKey,
  validateConfig,
} from "./config.ts";
import { type RunningHub, startHub } from "./hub.ts";
import { prepareDataDir } from "./hub_key.ts";
import { Logger } from "./logger.ts";

/**
 * Builds the effective config: defaults, then the --config file (TOML or YAML), then VEEN_* env, then flags, then
 * what the deployment profile implies (config.ts applyProfile).
 */
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
      throw configError(`Cannot read config file ${file}: ${(e as Error).message}`);
    }
    applyConfigFile(cfg, text, file);
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
  if (typeof flags["pow-difficulty"] === "string") {
    setKey(cfg, "pow_difficulty", flags["pow-difficulty"], "flag --pow-difficulty");
  }
  if (typeof flags.role === "string") setKey(cfg, "role", flags.role, "flag --role");
  if (typeof flags.profile === "string") setKey(cfg, "profile", flags.profile, "flag --profile");
  if (typeof flags["authority-url"] === "string") {
    setKey(cfg, "authority_url", flags["authority-url"], "flag --authority-url");
  }
  const effective = applyProfile(cfg);
  validateConfig(effective);
  return effective;
}

/** The flags of a `hub start` invocation as buildConfig takes them. */
function configFlags(ctx: CommandContext): Record<string, unknown> {
  const f = ctx.flags;
  const out: Record<string, unknown> = {};
  const valued = [
    "listen",
    "config",
    "profile-id",
    "log-level",
    "admission",
    "tls-cert",
    "tls-key",
    "pow-difficulty",
    "role",
    "profile",
    "authority-url",
  ];
  for (const k of valued) {
    const v = f.str(k);
    if (v !== undefined) out[k] = v;
  }
  const dir = f.str("data-dir");
  if (dir !== undefined) out["data-dir"] = dir;
  if (f.bool("allow-open-public")) out["allow-open-public"] = true;
  const issuers = f.list("trusted-issuer");
  if (issuers.length > 0) out["trusted-issuer"] = issuers;
  return out;
}

/**
 * Refuses a listen address this process cannot bind, before anything in the data dir is created (a failed start
 * leaves no data dir and no hub key behind). Port 0 always binds.
 */
function checkListen(listen: string): void {
  const { hostname, port } = parseListen(listen);
  if (port === 0) return;
  try {
    Deno.listen({ hostname, port }).close();
  } catch (e) {
    throw new VeenError("E.UNAVAILABLE", `Cannot listen on ${listen}: ${(e as Error).message}`);
  }
}

/**
 * `veen hub start` (and `hub run`, always in the foreground): builds the config (a bad one is a usage error,
 * exit 1), checks the listen address, then runs the hub here or detaches. An unusable data dir or listen address
 * is E.UNAVAILABLE (exit 2) in both modes.
 */
export async function start(ctx: CommandContext, forceForeground: boolean): Promise<number> {
  const cfg = await buildConfig(configFlags(ctx), envObject(ctx));
  try {
    // An existing data dir held by another hub is refused first (naming that hub); a new one is created only
    // after the listen address proved usable.
    if (await Deno.stat(cfg.dataDir).then((s) => s.isDirectory, () => false)) {
      (await prepareDataDir(cfg.dataDir)).release();
    }
    checkListen(cfg.listen);
    if (ctx.flags.bool("foreground") || forceForeground) return await runForeground(ctx, cfg);
    return await detach(ctx, cfg);
  } catch (e) {
    // A hub that cannot start here (data dir, lock, address) is unavailable: exit 2, as for an unreachable hub.
    if (e instanceof VeenError && e.code === "E.UNAVAILABLE") {
      throw new CommandError("transport", e.detail, { code: e.code, cause: e });
    }
    throw e;
  }
}

/** The VEEN_* config variables as the command's environment gives them. */
function envObject(ctx: CommandContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const v = ctx.io.env(envNameOf(key));
    if (v !== undefined) out[envNameOf(key)] = v;
  }
  return out;
}

async function runForeground(ctx: CommandContext, cfg: HubConfig): Promise<number> {
  const log = new Logger(cfg.logLevel);
  let exitCode: number = EXIT.OK;
  // Signals are handled from before the hub is started: a SIGTERM right after "hub listening" stops it
  // gracefully (exit 0) instead of killing the process.
  let hub: RunningHub | undefined;
  let stopRequested = false;
  const onSignal = () => {
    stopRequested = true;
    void hub?.close();
  };
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    try {
      hub = await startHub(cfg, {
        logger: log,
        onFatal: () => (exitCode = EXIT.CHECK),
        // Removed while the data dir lock is still held, so they never remove a next hub's files.
        onClosed: () => removeHubState(cfg.dataDir),
      });
    } catch (e) {
      throw e instanceof VeenError ? e : transportError(`Cannot start hub: ${(e as Error).message}`, e);
    }
    if (stopRequested) void hub.close();
    else {
      await writeHubState(cfg.dataDir, {
        listen: cfg.listen,
        url: hub.url,
        pid: Deno.pid,
        hub_pk: toHex(hub.hubKey.public),
        started_at: new Date().toISOString(),
        version: versionLine(),
      });
      ctx.out.debug(`hub serving ${hub.url} (pid ${Deno.pid})`);
    }
    await hub.finished;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
  }
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
async function detach(ctx: CommandContext, cfg: HubConfig): Promise<number> {
  const rest = ctx.argv;
  const lock = await prepareDataDir(cfg.dataDir);
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
          ctx.out.result({ url: st.url, pid: st.pid, data_dir: cfg.dataDir }, [
            `hub started: ${st.url} (pid ${st.pid}, data dir ${cfg.dataDir})`,
          ]);
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
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  throw transportError(`Hub did not start (see ${logPath})\n${tail}`);
}

/** `veen hub stop`: SIGTERM to the hub on the data dir, then waits until it exits (`--timeout-ms`, 30 s). */
export async function stop(ctx: CommandContext): Promise<number> {
  const dir = dataDirOf(ctx);
  const pid = await runningPid(dir);
  if (pid === undefined) {
    ctx.out.result({ data_dir: dir, stopped: null }, [`no hub running on ${dir}`]);
    return EXIT.OK;
  }
  Deno.kill(pid, "SIGTERM");
  const deadline = Date.now() + (ctx.flags.int("timeout-ms", { min: 1, max: 3_600_000 }) ?? 30_000);
  while (processAlive(pid)) {
    if (Date.now() > deadline) throw transportError(`Hub pid ${pid} did not stop in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
  ctx.out.result({ data_dir: dir, stopped: pid }, [`hub stopped (pid ${pid})`]);
  return EXIT.OK;
}
