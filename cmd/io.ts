/**
 * Output of every command: injectable writers (tests capture them), text versus `--json`, `--quiet` and `--verbose`.
 *
 * Rules (USAGE "Output precedence"): under `--json` stdout carries only JSON (one document per command, or one
 * line per item for `stream --follow`); `--json` overrides `--quiet`; `--quiet` suppresses successful text output;
 * diagnostics, warnings and progress go to stderr.
 */

/** The process environment as a command sees it; tests pass their own. */
export interface Io {
  writeOut(s: string | Uint8Array): void;
  writeErr(s: string | Uint8Array): void;
  env(name: string): string | undefined;
  /** Extra environment for child processes (kubectl); the rest is inherited. */
  childEnv: Record<string, string>;
  /** True when stderr is a terminal (progress bars). */
  isTty: boolean;
  /** Unix time in milliseconds. */
  now(): number;
  /** Waits `ms` milliseconds (polling in `stream --follow`, `kube apply --wait-seconds`). */
  sleep(ms: number): Promise<void>;
}

function writeAll(f: { writeSync(p: Uint8Array): number }, s: string | Uint8Array): void {
  let b = typeof s === "string" ? new TextEncoder().encode(s) : s;
  while (b.length > 0) b = b.subarray(f.writeSync(b));
}

/** The real process: Deno stdout/stderr, Deno.env and the wall clock. */
export function processIo(): Io {
  return {
    writeOut: (s) => writeAll(Deno.stdout, s),
    writeErr: (s) => writeAll(Deno.stderr, s),
    env: (name) => Deno.env.get(name),
    childEnv: {},
    isTty: Deno.stderr.isTerminal(),
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

/** An Io that records everything, for tests. */
export interface CapturedIo extends Io {
  out: string[];
  err: string[];
  stdout(): string;
  stderr(): string;
}

/**
 * An Io recording output; `env` is what commands read and what child processes get. With `virtualClock` (a start
 * time in ms) `sleep(ms)` returns at once and advances `now()` by ms, and PATH falls back to the process's.
 */
export function captureIo(
  env: Record<string, string> = {},
  opts: { isTty?: boolean; now?: () => number; virtualClock?: number } = {},
): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  const text = (s: string | Uint8Array) => (typeof s === "string" ? s : new TextDecoder().decode(s));
  let clock = opts.virtualClock;
  return {
    out,
    err,
    writeOut: (s) => void out.push(text(s)),
    writeErr: (s) => void err.push(text(s)),
    env: (name) => env[name] ?? (clock !== undefined && name === "PATH" ? Deno.env.get("PATH") : undefined),
    childEnv: env,
    isTty: opts.isTty ?? false,
    now: opts.now ?? (() => clock ?? Date.now()),
    sleep: (ms) => {
      if (clock === undefined) return new Promise((r) => setTimeout(r, ms));
      clock += ms;
      return Promise.resolve();
    },
    stdout: () => out.join(""),
    stderr: () => err.join(""),
  };
}

export interface OutputMode {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** Writes results and diagnostics according to the global flags. */
export class Output {
  readonly io: Io;
  readonly mode: OutputMode;
  #progressShown = false;

  constructor(io: Io, mode: OutputMode) {
    this.io = io;
    this.mode = mode;
  }

  /** The command's answer: `{"ok":true, ...json}` under --json, else the text lines (unless --quiet). */
  result(json: Record<string, unknown>, lines: readonly string[]): void {
    if (this.mode.json) {
      this.io.writeOut(JSON.stringify({ ok: true, ...json }) + "\n");
    } else if (!this.mode.quiet) {
      this.io.writeOut(lines.map((l) => l + "\n").join(""));
    }
  }

  /**
   * An answer whose JSON form the spec fixes (OBS0.3 `/healthz`, fsck reports, retention policies): `json`
   * verbatim under --json, else the text lines (unless --quiet).
   */
  document(json: unknown, lines: readonly string[]): void {
    if (this.mode.json) this.io.writeOut(JSON.stringify(json) + "\n");
    else if (!this.mode.quiet && lines.length > 0) this.io.writeOut(lines.map((l) => l + "\n").join(""));
  }

  /** {@link result} with one `key: value` text line per field. */
  fields(json: Record<string, unknown>): void {
    this.result(json, Object.entries(json).map(([k, v]) => `${k}: ${v}`));
  }

  /** One item of a streamed answer (`stream --follow`): a JSON line, or text lines. */
  item(json: Record<string, unknown>, lines: readonly string[]): void {
    this.result(json, lines);
  }

  /**
   * A failure: `{"ok":false,code,detail[,retry_after],...}` on stdout under --json, else report lines on stdout
   * and `CODE: detail` on stderr.
   */
  failure(
    code: string,
    detail: string,
    report?: { lines?: string[]; json?: Record<string, unknown> },
    retryAfter?: number,
  ): void {
    this.clearProgress();
    if (this.mode.json) {
      const retry = retryAfter === undefined ? {} : { retry_after: Math.ceil(retryAfter) };
      this.io.writeOut(JSON.stringify({ ok: false, code, detail, ...retry, ...(report?.json ?? {}) }) + "\n");
      return;
    }
    if (report?.lines !== undefined && report.lines.length > 0) {
      this.io.writeOut(report.lines.map((l) => l + "\n").join(""));
    }
    this.io.writeErr(`${code}: ${detail}\n`);
  }

  /** Help screens on stdout, even under --quiet (as `{"ok":true,"help":TEXT}` under --json). */
  help(text: string): void {
    if (this.mode.json) this.io.writeOut(JSON.stringify({ ok: true, help: text }) + "\n");
    else this.io.writeOut(text.endsWith("\n") ? text : text + "\n");
  }

  /** A warning on stderr (suppressed by --quiet). */
  warn(msg: string): void {
    if (!this.mode.quiet) {
      this.clearProgress();
      this.io.writeErr(`warning: ${msg}\n`);
    }
  }

  /** A diagnostic on stderr, only with --verbose. */
  debug(msg: string): void {
    if (this.mode.verbose) {
      this.clearProgress();
      this.io.writeErr(`${msg}\n`);
    }
  }

  /** A progress bar on stderr when it is a terminal (and not --quiet). */
  progress(done: number, total: number, label = ""): void {
    if (!this.io.isTty || this.mode.quiet || total <= 0) return;
    const width = 30;
    const filled = Math.min(width, Math.floor((done / total) * width));
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    this.io.writeErr(`\r[${bar}] ${done}/${total}${label === "" ? "" : " " + label}`);
    this.#progressShown = true;
    if (done >= total) this.clearProgress();
  }

  clearProgress(): void {
    if (this.#progressShown) {
      this.io.writeErr("\n");
      this.#progressShown = false;
    }
  }
}
