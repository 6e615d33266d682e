/**
 * The selftest report: goal, environment, one record per step with its evidence (stream_seq, msg_id, auth_ref,
 * codes, ...), and the result. Text mode prints as it goes (an interrupted run still shows how far it got);
 * `--json` prints one document at the end, with `code` E.SELFTEST and `detail` when the run failed.
 */

export type StepStatus = "ok" | "fail" | "skip";

export interface StepRecord {
  suite: string;
  name: string;
  goal: string;
  status: StepStatus;
  evidence: string[];
  /** Why the step failed or was skipped. */
  detail?: string;
  ms: number;
}

export interface SuiteRecord {
  name: string;
  goal: string;
  /** Set when a setup step failed and the rest of the suite could not run. */
  aborted?: string;
}

export class Report {
  readonly env: [string, string][] = [];
  readonly steps: StepRecord[] = [];
  readonly suites: SuiteRecord[] = [];
  readonly notes: string[] = [];
  readonly #t0 = performance.now();

  constructor(private readonly write: (s: string) => void, readonly json: boolean) {}

  private line(s: string): void {
    if (!this.json) this.write(s + "\n");
  }

  title(s: string): void {
    this.line(s);
  }

  /** One environment entry (versions, OS, seed, hub URL, data dir, ...). */
  setEnv(key: string, value: string): void {
    const i = this.env.findIndex(([k]) => k === key);
    if (i >= 0) this.env[i] = [key, value];
    else this.env.push([key, value]);
    this.line(`  ${key}: ${value}`);
  }

  note(s: string): void {
    this.notes.push(s);
    this.line(s);
  }

  beginSuite(name: string, goal: string): SuiteRecord {
    const rec: SuiteRecord = { name, goal };
    this.suites.push(rec);
    this.line("");
    this.line(`suite ${name}: ${goal}`);
    return rec;
  }

  addStep(r: StepRecord): void {
    this.steps.push(r);
    const tag = r.status === "ok" ? "ok  " : r.status === "skip" ? "skip" : "FAIL";
    const secs = (r.ms / 1000).toFixed(1);
    this.line(`  [${tag}] ${r.suite}/${r.name} (${secs} s): ${r.goal}`);
    for (const e of r.evidence) this.line(`         ${e}`);
    if (r.status === "skip") this.line(`         skipped: ${r.detail ?? ""}`);
    if (r.status === "fail") this.line(`         FAILED: ${r.detail ?? ""}`);
  }

  get failures(): StepRecord[] {
    return this.steps.filter((s) => s.status === "fail");
  }

  /**
   * Prints the summary (and the JSON document under --json); returns whether every step passed. `interrupted`
   * names the signal that ended the run early (never a pass).
   */
  finish(extra: Record<string, unknown> = {}, interrupted?: string): boolean {
    const fails = this.failures;
    const ok = this.steps.filter((s) => s.status === "ok").length;
    const skipped = this.steps.filter((s) => s.status === "skip").length;
    const secs = ((performance.now() - this.#t0) / 1000).toFixed(1);
    const passed = fails.length === 0 && interrupted === undefined;
    if (this.json) {
      this.write(
        JSON.stringify({
          ok: passed,
          // A failed run is a failure document like every command's: code and detail first (CLI-GOALS-1).
          ...(passed ? {} : { code: "E.SELFTEST", detail: this.failureDetail(interrupted) }),
          ...(interrupted === undefined ? {} : { interrupted }),
          env: Object.fromEntries(this.env),
          suites: this.suites,
          steps: this.steps,
          notes: this.notes,
          failed_steps: fails.map((f) => `${f.suite}/${f.name}`),
          seconds: Number(secs),
          ...extra,
        }) + "\n",
      );
      return passed;
    }
    this.line("");
    if (interrupted !== undefined) {
      this.line(
        `result: INTERRUPTED by ${interrupted} after ${ok} ok, ${fails.length} failed, ${skipped} skipped`,
      );
    } else if (passed) {
      this.line(`result: PASS (${ok} ok, ${skipped} skipped) in ${secs} s`);
    } else {
      this.line(
        `result: FAIL at step ${this.failureDetail()} (${fails.length} failed: ${
          fails.map((f) => `${f.suite}/${f.name}`).join(", ")
        }; ${ok} ok, ${skipped} skipped) in ${secs} s`,
      );
    }
    return passed;
  }

  /** What failed, in one line: the first failing step and its detail, or the signal that ended the run. */
  failureDetail(interrupted?: string): string {
    const first = this.failures[0];
    if (first !== undefined) return `${first.suite}/${first.name}: ${first.detail ?? ""}`;
    return interrupted === undefined ? "no step failed" : `interrupted by ${interrupted}`;
  }
}
