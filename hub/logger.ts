/** Structured JSON log lines on stderr: `{ts, level, component, role, msg, ...fields}` (OBS0.2). */
import type { LogLevel } from "./config.ts";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export class Logger {
  private readonly enc = new TextEncoder();
  constructor(
    private readonly level: LogLevel,
    private readonly component = "hub",
    private readonly role = "standalone",
    private readonly sink: (line: string) => void = (l) => Deno.stderr.writeSync(this.enc.encode(l)),
  ) {}

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  child(component: string): Logger {
    return new Logger(this.level, component, this.role, this.sink);
  }

  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (!this.enabled(level)) return;
    const line = JSON.stringify({
      ts: new Date().toISOString(),
      level,
      component: this.component,
      role: this.role,
      msg,
      ...fields,
    });
    try {
      this.sink(line + "\n");
    } catch {
      // a closed stderr must not take the hub down
    }
  }

  debug(msg: string, f?: Record<string, unknown>): void {
    this.log("debug", msg, f);
  }
  info(msg: string, f?: Record<string, unknown>): void {
    this.log("info", msg, f);
  }
  warn(msg: string, f?: Record<string, unknown>): void {
    this.log("warn", msg, f);
  }
  error(msg: string, f?: Record<string, unknown>): void {
    this.log("error", msg, f);
  }
}
