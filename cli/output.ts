/**
 * Output of the CLI: injectable writers (tests capture them), text versus `--json`, `--quiet` and `--verbose`.
 *
 * Rules (USAGE "Output precedence"): under `--json` stdout carries only JSON (one document per command, or one
 * line per item for `stream --follow`); `--json` overrides `--quiet`; `--quiet` suppresses successful text output;
 * diagnostics, warnings and progress go to stderr.
 */

/** The process environment as the CLI sees it; tests pass their own. */
export interface Io {
  writeOut(s: string): void;
  writeErr(s: string): void;
  env(name: string): string | undefined;
  /** True when stderr is a terminal (progress bars). */
  isTty: boolean;
  /** Unix time in milliseconds. */
  now(): number;
  /** Waits `ms` milliseconds (polling in `stream --follow`). */
  sleep(ms: number): Promise<void>;
}

function writeAll(f: { writeSync(p: Uint8Array): number }, s: string): void {
  let b = new TextEncoder().encode(s);
  while (b.length > 0) b = b.subarray(f.writeSync(b));
}

/** The real process: Deno stdout/stderr, Deno.env and the wall clock. */
export function processIo(): Io {
  return {
    writeOut: (s) => writeAll(Deno.stdout, s),
    writeErr: (s) => writeAll(Deno.stderr, s),
    env: (name) => Deno.env.get(name),
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

export function captureIo(
  env: Record<string, string> = {},
  opts: { isTty?: boolean; now?: () => number } = {},
): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    writeOut: (s) => void out.push(s),
    writeErr: (s) => void err.push(s),
    env: (name) => env[name],
    isTty: opts.isTty ?? false,
    now: opts.now ?? (() => Date.now()),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
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

  /** {@link result} with one `key: value` text line per field. */
  fields(json: Record<string, unknown>): void {
    this.result(json, Object.entries(json).map(([k, v]) => `${k}: ${v}`));
  }

  /** One item of a streamed answer (`stream --follow`): a JSON line, or text lines. */
  item(json: Record<string, unknown>, lines: readonly string[]): void {
    this.result(json, lines);
  }

  /** A failure: `{"ok":false,code,detail,...}` on stdout under --json, else report lines on stdout and `CODE: detail` on stderr. */
  failure(code: string, detail: string, report?: { lines?: string[]; json?: Record<string, unknown> }): void {
    this.clearProgress();
    if (this.mode.json) {
      this.io.writeOut(JSON.stringify({ ok: false, code, detail, ...(report?.json ?? {}) }) + "\n");
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
