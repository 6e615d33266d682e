/**
 * What every selftest suite runs on: a private temp directory, the real `veen` program as subprocesses (through
 * `selfCommand()`, so it works from the launcher, `deno run` and a compiled binary), hubs started with
 * `veen hub start` on 127.0.0.1:0 and stopped with `veen hub stop`, small HTTP helpers, and steps that record
 * evidence into the report.
 *
 * Cleanup is one idempotent routine (`Harness.cleanup`), reached from the `finally` of `selftestMain` and from the
 * SIGINT/SIGTERM handlers: it refuses new work, aborts the CLI commands in flight, stops every hub whose data
 * directory it created (`veen hub stop --data-dir`, then SIGKILL by pid if that did not work), ends any process
 * whose command line still names the temp directory (by pid; they can only be ours), and removes the directory.
 */
import { decodeErrorBody, HTTP_STATUS, isErrorCode, toHex } from "../core/mod.ts";
import { PID_FILE, readState } from "../cmd/mod.ts";
import { selfCommand } from "../hub/mod.ts";
import type { Report, StepRecord } from "./report.ts";
import type { Rng } from "./rng.ts";

/** A step did not hold; the message says what was expected and what happened. */
export class StepFailed extends Error {
  override name = "StepFailed";
}

/** A step could not run here (command not available, or not possible against a deployed hub). */
export class StepSkipped extends Error {
  override name = "StepSkipped";
}

/** A setup step failed: the rest of the suite cannot run. */
export class SuiteAborted extends Error {
  override name = "SuiteAborted";
}

/** The run was interrupted (SIGINT/SIGTERM); no new commands are started. */
export class Interrupted extends Error {
  override name = "Interrupted";
}

export function fail(msg: string): never {
  throw new StepFailed(msg);
}

export function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new StepFailed(msg);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON document on stdout (`--json`), when there is one. */
  json: Record<string, unknown> | undefined;
  /** How the command was spelled, for messages: `veen send --hub ...`. */
  line: string;
  ms: number;
}

export interface CliOptions {
  /** Add `--json` (default true; `hub start|stop` take no --json). */
  json?: boolean;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Run even while cleaning up (used by cleanup itself). */
  cleanup?: boolean;
  /** The command's JSON answer carries no `"ok": true` (root-level tools such as `retention show --json`). */
  bareJson?: boolean;
}

export interface HubHandle {
  name: string;
  dir: string;
  url: string;
  pid: number;
  hubPk: string;
  /** Human description of its non-default configuration. */
  config: string;
  stopped: boolean;
}

export interface HubStartOptions {
  admission?: "on" | "off" | "auto";
  env?: Record<string, string>;
  trustedIssuers?: string[];
  logLevel?: "debug" | "info" | "warn" | "error";
}

export interface HttpResult {
  status: number;
  body: Uint8Array;
  headers: Headers;
}

export interface HarnessOptions {
  seed: number;
  /** Run against this deployed hub instead of starting hubs. */
  hubUrl?: string;
  /** Keep the temp directory (for debugging); hubs are still stopped. */
  keep?: boolean;
  /** Per CLI command time limit. */
  commandTimeoutMs?: number;
}

/**
 * Environment for every `veen` subprocess: VEEN_ARGV0=veen, so a run started as `veen-selftest` (launcher symlink
 * exports VEEN_ARGV0; a compiled binary is named so) does not turn each `veen hub start` into `selftest hub start`.
 */
const SELF_ENV: Record<string, string> = { VEEN_ARGV0: "veen" };

const shellWord = (s: string) => /^[A-Za-z0-9_./:=@,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;

/** True when `pid` is a live (not zombie) process. */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Pids of live processes (other than this one) whose command line mentions `path` (Linux /proc). */
function pidsMentioning(path: string): number[] {
  const out: number[] = [];
  try {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      const pid = Number(e.name);
      if (pid === Deno.pid) continue;
      try {
        const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
        if (cmd.includes(path) && processAlive(pid)) out.push(pid);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc: nothing to sweep
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

function kill(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone
  }
}

export class Harness {
  readonly self = selfCommand();
  readonly hubs: HubHandle[] = [];
  /** Data directories of hubs this run started (or began to start). */
  readonly #hubDirs = new Set<string>();
  readonly #inflight = new Set<{ abort: AbortController; done: Promise<unknown> }>();
  readonly #background = new Set<Deno.ChildProcess>();
  #cleanup: Promise<void> | undefined;
  #closed = false;
  #commands = 0;
  readonly #commandCache = new Map<string, boolean>();
  /** A label prefix that keeps runs apart on a deployed hub; empty on the selftest's own hubs. */
  readonly prefix: string;

  private constructor(
    readonly root: string,
    readonly report: Report,
    readonly rng: Rng,
    readonly opts: HarnessOptions,
    readonly runId: string,
  ) {
    this.prefix = opts.hubUrl === undefined ? "" : `selftest/${runId}/`;
  }

  static async create(report: Report, rng: Rng, opts: HarnessOptions): Promise<Harness> {
    const root = await Deno.makeTempDir({ prefix: "veen-selftest-" });
    await Deno.mkdir(`${root}/hubs`);
    await Deno.mkdir(`${root}/clients`);
    await Deno.mkdir(`${root}/files`);
    const runId = toHex(crypto.getRandomValues(new Uint8Array(6)));
    return new Harness(root, report, rng, opts, runId);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get commandsRun(): number {
    return this.#commands;
  }

  /** True when the run targets an already deployed hub (`--hub URL`). */
  get deployed(): boolean {
    return this.opts.hubUrl !== undefined;
  }

  /** A stream name private to this run. */
  stream(name: string): string {
    return this.prefix + name;
  }

  /** Runs `veen ARGS` as a subprocess and returns its exit code and output (never throws for a non-zero exit). */
  async cli(args: string[], o: CliOptions = {}): Promise<CliResult> {
    if (this.#closed && !o.cleanup) throw new Interrupted("the selftest is shutting down");
    const full = o.json === false ? args : [...args, "--json"];
    const line = "veen " + full.map(shellWord).join(" ");
    const abort = new AbortController();
    const limit = o.timeoutMs ?? this.opts.commandTimeoutMs ?? 60_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, limit);
    const t0 = performance.now();
    this.#commands++;
    const child = new Deno.Command(this.self.cmd, {
      args: [...this.self.args, ...full],
      env: { ...SELF_ENV, ...o.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).spawn();
    const entry = { abort, done: child.status };
    this.#inflight.add(entry);
    let out: Deno.CommandOutput;
    try {
      out = await child.output();
    } finally {
      clearTimeout(timer);
      this.#inflight.delete(entry);
    }
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (timedOut) throw new StepFailed(`${line} did not finish within ${limit} ms`);
    if (
      !o.cleanup &&
      (out.signal === "SIGINT" || out.signal === "SIGTERM" || out.code === 130 || out.code === 143)
    ) {
      // Ctrl-C reaches the whole process group: let our own handler win rather than report a failed step.
      await sleep(300);
    }
    if (this.#closed && !o.cleanup) throw new Interrupted("the selftest is shutting down");
    let json: Record<string, unknown> | undefined;
    if (o.json !== false) {
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        const v = JSON.parse(last);
        if (typeof v === "object" && v !== null && !Array.isArray(v)) json = v as Record<string, unknown>;
      } catch {
        json = undefined;
      }
    }
    return { code: out.code, stdout, stderr, json, line, ms: performance.now() - t0 };
  }

  /** `veen ARGS --json` that must succeed; returns its JSON answer. */
  async ok(args: string[], o: CliOptions = {}): Promise<Record<string, unknown>> {
    const r = await this.cli(args, o);
    if (r.code !== 0) {
      const why = r.json?.code !== undefined
        ? `${r.json.code}: ${r.json.detail}`
        : tail(r.stderr || r.stdout);
      fail(`${r.line} exited ${r.code} (${why})`);
    }
    if (r.json === undefined || (r.json.ok !== true && !o.bareJson)) {
      fail(`${r.line} printed no JSON answer: ${tail(r.stdout)}`);
    }
    return r.json;
  }

  /** Whether this program has the command spelled by `words`: `veen WORDS --help` exits 0 (cached). */
  async hasCommand(words: string[]): Promise<boolean> {
    const key = words.join(" ");
    let v = this.#commandCache.get(key);
    if (v === undefined) {
      const r = await this.cli([...words, "--help"], { json: false, timeoutMs: 30_000 });
      v = r.code === 0;
      this.#commandCache.set(key, v);
    }
    return v;
  }

  /** `veen ARGS --json` that must fail with exit `exit` (default 4) and error `code`; returns its JSON answer. */
  async refused(
    args: string[],
    code: string,
    exit = 4,
    o: CliOptions = {},
  ): Promise<Record<string, unknown>> {
    const r = await this.cli(args, o);
    const got = r.json?.code;
    if (r.code !== exit || got !== code) {
      fail(
        `${r.line}: expected exit ${exit} with ${code}, got exit ${r.code}` +
          (got === undefined ? "" : ` with ${got}: ${r.json?.detail}`) +
          (r.code === 0 ? " (the command succeeded)" : ""),
      );
    }
    return r.json!;
  }

  /** Starts a hub with `veen hub start --data-dir ROOT/hubs/NAME --listen 127.0.0.1:0` (detached). */
  async startHub(name: string, o: HubStartOptions = {}, describe = ""): Promise<HubHandle> {
    const dir = `${this.root}/hubs/${name}`;
    this.#hubDirs.add(dir);
    const args = ["hub", "start", "--data-dir", dir, "--listen", "127.0.0.1:0"];
    if (o.admission !== undefined) args.push("--admission", o.admission);
    for (const k of o.trustedIssuers ?? []) args.push("--trusted-issuer", k);
    if (o.logLevel !== undefined) args.push("--log-level", o.logLevel);
    const r = await this.cli(args, { json: false, timeoutMs: 60_000, ...(o.env ? { env: o.env } : {}) });
    if (r.code !== 0) fail(`${r.line} exited ${r.code}: ${tail(r.stderr || r.stdout)}`);
    const st = await readState(dir);
    if (st === undefined) fail(`hub ${name} started but ${dir}/hub.state.json is missing`);
    const h: HubHandle = {
      name,
      dir,
      url: st.url,
      pid: st.pid,
      hubPk: st.hub_pk ?? "",
      config: describe,
      stopped: false,
    };
    this.hubs.push(h);
    this.report.setEnv(
      `hub ${name}`,
      `${h.url} (pid ${h.pid}, data dir ${dir}${describe === "" ? "" : `; ${describe}`})`,
    );
    const log = await Deno.readTextFile(`${dir}/hub.log`).catch(() => "");
    const unsafe = log.split("\n").filter((l) => l.includes("UNSAFE TEST-ONLY CONFIG")).map((l) => {
      const w = JSON.parse(l) as { key?: string; effect?: string };
      return `${w.key} key (${w.effect})`;
    });
    if (unsafe.length > 0) {
      this.report.setEnv(`WARNING hub ${name}`, `started with the test-only ${unsafe.join(", ")}`);
    }
    return h;
  }

  /**
   * A suite's hub: the deployed one (--hub URL), or one started here as `name`; says which on `ev` (a deployed hub's
   * line ends with `deployedNote`) and returns its URL, its handle when started here, and its GET /info.
   */
  async suiteHub(
    ev: string[],
    name: string,
    o: HubStartOptions,
    describe: string,
    deployedNote = "",
  ): Promise<{ url: string; hub: HubHandle | undefined; info: Record<string, unknown> }> {
    let url: string;
    let hub: HubHandle | undefined;
    if (this.deployed) {
      url = this.opts.hubUrl!.replace(/\/+$/, "");
      ev.push(`deployed hub ${url}${deployedNote}`);
    } else {
      hub = await this.startHub(name, o, describe);
      url = hub.url;
      ev.push(`veen hub start: ${url} pid ${hub.pid}`);
    }
    return { url, hub, info: await this.json(`${url}/info`) };
  }

  /** Stops a hub with `veen hub stop --data-dir`; falls back to SIGKILL by pid. Returns a line of evidence. */
  async stopHub(h: HubHandle, duringCleanup = false): Promise<string> {
    if (h.stopped) return `hub ${h.name} already stopped`;
    const r = await this.cli(["hub", "stop", "--data-dir", h.dir, "--timeout-ms", "15000"], {
      json: false,
      cleanup: duringCleanup,
      timeoutMs: 30_000,
    }).catch((e) => ({ code: -1, stderr: String(e), stdout: "", line: "veen hub stop" }));
    const gone = await waitGone(h.pid, 5_000);
    if (!gone) {
      kill(h.pid, "SIGKILL");
      await waitGone(h.pid, 2_000);
    }
    h.stopped = true;
    if (r.code !== 0 || !gone) {
      const msg = `veen hub stop --data-dir ${h.dir} exited ${r.code} (${tail(r.stderr || r.stdout)}); ` +
        `pid ${h.pid} ${gone ? "exited" : "was killed with SIGKILL"}`;
      if (duringCleanup) return msg;
      fail(msg);
    }
    return `hub ${h.name} stopped (${r.stdout.trim()})`;
  }

  /** Starts a long-running `veen ARGS` (e.g. `rpc serve`); it is ended by pid at cleanup or by `endBackground`. */
  spawnBackground(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
    if (this.#closed) throw new Interrupted("the selftest is shutting down");
    const child = new Deno.Command(this.self.cmd, {
      args: [...this.self.args, ...args],
      env: { ...SELF_ENV, ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#background.add(child);
    return child;
  }

  /**
   * Waits for a background command and returns its output. With `terminate` it is sent SIGTERM first; in any
   * case it gets SIGKILL after `graceMs`. It stays registered (ended at cleanup) until it has exited.
   */
  async endBackground(
    child: Deno.ChildProcess,
    terminate = true,
    graceMs = 5_000,
  ): Promise<{ stdout: string; stderr: string }> {
    if (terminate) kill(child.pid, "SIGTERM");
    const t = setTimeout(() => kill(child.pid, "SIGKILL"), graceMs);
    const out = await child.output().catch(() => undefined);
    clearTimeout(t);
    this.#background.delete(child);
    const dec = new TextDecoder();
    return { stdout: out ? dec.decode(out.stdout) : "", stderr: out ? dec.decode(out.stderr) : "" };
  }

  /** Stops everything this run started and removes its temp directory. Idempotent; never throws. */
  cleanup(): Promise<void> {
    this.#cleanup ??= this.#doCleanup();
    return this.#cleanup;
  }

  async #doCleanup(): Promise<void> {
    this.#closed = true;
    const problems: string[] = [];
    for (const c of this.#inflight) c.abort.abort();
    await Promise.race([Promise.allSettled([...this.#inflight].map((c) => c.done)), sleep(5_000)]);
    await Promise.all([...this.#background].map((child) => this.endBackground(child)));
    for (const dir of this.#hubDirs) {
      // A step may restart a hub on its data dir: every handle of the dir is stopped, not only the first.
      const started = this.hubs.filter((x) => x.dir === dir);
      for (const h of started.filter((x) => !x.stopped)) {
        const line = await this.stopHub(h, true);
        if (!line.startsWith("hub ")) problems.push(line);
      }
      if (started.length > 0) continue;
      // A start that was interrupted: the detached hub may still come up and write its pid file.
      const deadline = Date.now() + 3_000;
      while (
        Date.now() < deadline && !(await exists(`${dir}/${PID_FILE}`)) && pidsMentioning(dir).length > 0
      ) {
        await sleep(50);
      }
      if (await exists(`${dir}/${PID_FILE}`)) {
        await this.cli(["hub", "stop", "--data-dir", dir], { json: false, cleanup: true }).catch(() =>
          undefined
        );
      }
    }
    // Anything still naming our directory was started by this run (hubs, CLI commands): end it by pid.
    let strays = pidsMentioning(this.root);
    if (strays.length > 0) {
      problems.push(`ended stray processes ${strays.join(", ")}`);
      for (const pid of strays) kill(pid, "SIGTERM");
      await Promise.all(strays.map((pid) => waitGone(pid, 5_000)));
      strays = pidsMentioning(this.root);
      for (const pid of strays) kill(pid, "SIGKILL");
      await Promise.all(strays.map((pid) => waitGone(pid, 2_000)));
    }
    if (!this.opts.keep) {
      for (let i = 0; i < 5; i++) {
        try {
          await Deno.remove(this.root, { recursive: true });
          break;
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) break;
          if (i === 4) problems.push(`could not remove ${this.root}: ${(e as Error).message}`);
          await sleep(100);
        }
      }
    }
    for (const p of problems) this.report.note(`cleanup: ${p}`);
  }

  // ---- HTTP ----

  async http(url: string, init: RequestInit = {}, timeoutMs = 15_000): Promise<HttpResult> {
    if (this.#closed) throw new Interrupted("the selftest is shutting down");
    try {
      const r = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      return { status: r.status, body: new Uint8Array(await r.arrayBuffer()), headers: r.headers };
    } catch (e) {
      if (this.#closed) throw new Interrupted("the selftest is shutting down");
      throw new StepFailed(`${init.method ?? "GET"} ${url}: ${e instanceof Error ? e.message : e}`);
    }
  }

  post(base: string, path: string, body: Uint8Array, type = "application/cbor"): Promise<HttpResult> {
    return this.http(base + path, {
      method: "POST",
      body: body as BodyInit,
      headers: { "content-type": type },
    });
  }

  async json(url: string): Promise<Record<string, unknown>> {
    const r = await this.http(url);
    if (r.status !== 200) fail(`GET ${url} answered ${r.status}`);
    return JSON.parse(new TextDecoder().decode(r.body)) as Record<string, unknown>;
  }

  // ---- steps ----

  /** Runs one step: records ok / skip / fail with its evidence; a failing `critical` step aborts the suite. */
  async step(
    suite: string,
    name: string,
    goal: string,
    fn: (ev: string[]) => Promise<void> | void,
    o: { critical?: boolean } = {},
  ): Promise<boolean> {
    if (this.#closed) throw new Interrupted("the selftest is shutting down");
    const ev: string[] = [];
    const t0 = performance.now();
    const rec: StepRecord = { suite, name, goal, status: "ok", evidence: ev, ms: 0 };
    try {
      await fn(ev);
    } catch (e) {
      if (e instanceof Interrupted || this.#closed) {
        throw e instanceof Interrupted ? e : new Interrupted(String(e));
      }
      if (e instanceof StepSkipped) {
        rec.status = "skip";
        rec.detail = e.message;
      } else {
        rec.status = "fail";
        rec.detail = e instanceof StepFailed
          ? e.message
          : `unexpected error: ${e instanceof Error ? e.stack : e}`;
      }
    }
    rec.ms = performance.now() - t0;
    this.report.addStep(rec);
    if (rec.status === "fail" && o.critical) throw new SuiteAborted(`${suite}/${name}: ${rec.detail}`);
    return rec.status !== "fail";
  }
}

function tail(s: string, lines = 6): string {
  const t = s.trim().split("\n").slice(-lines).join(" | ");
  return t.length > 600 ? t.slice(0, 600) + "…" : t;
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Short hex for evidence lines. */
export const short = (hex: unknown): string => typeof hex === "string" ? `${hex.slice(0, 16)}…` : String(hex);

/** The E.* code of a hub answer, checked against the documented status; fails the step otherwise. */
function errorCodeOf(r: HttpResult, what: string): string {
  const e = decodeErrorBody(r.body);
  if (e === undefined) fail(`${what}: HTTP ${r.status} without a CBOR error body`);
  if (!isErrorCode(e.code)) fail(`${what}: unknown error code ${e.code}`);
  if (HTTP_STATUS[e.code] !== r.status) {
    fail(`${what}: ${e.code} came with HTTP ${r.status}, documented ${HTTP_STATUS[e.code]}`);
  }
  return e.code;
}

/** `HTTP 400 E.TIME (detail)` for messages. */
export function describeAnswer(r: HttpResult): string {
  const e = decodeErrorBody(r.body);
  return `HTTP ${r.status}${e === undefined ? "" : ` ${e.code}${e.detail === "" ? "" : ` (${e.detail})`}`}`;
}

/** Expects an E.* answer with `code` (and its documented status); returns `STATUS CODE` for evidence. */
export function expectError(r: HttpResult, code: string, what: string): string {
  if (r.status === 200) fail(`${what}: expected ${code}, but the hub answered 200`);
  const got = errorCodeOf(r, what);
  if (got !== code) {
    const detail = decodeErrorBody(r.body)?.detail ?? "";
    fail(`${what}: expected ${code}, got HTTP ${r.status} ${got} (${detail})`);
  }
  return `${r.status} ${got}`;
}
