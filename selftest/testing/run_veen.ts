/** Helpers for the selftest's own tests: run `veen selftest ...` as a real subprocess with a private $TMPDIR. */
import assert from "node:assert/strict";
import { selfCommand } from "../../hub/mod.ts";
import { processAlive } from "../harness.ts";

export interface SelftestRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The $TMPDIR the run used (empty afterwards when cleanup worked). */
  tmp: string;
}

/** Runs `veen ARGS` with TMPDIR set to a fresh directory; SIGTERM after `timeoutMs` (the selftest cleans up). */
export async function runVeen(
  args: string[],
  o: { env?: Record<string, string>; timeoutMs?: number; tmp?: string } = {},
): Promise<SelftestRun> {
  const tmp = o.tmp ?? await Deno.makeTempDir({ prefix: "veen-selftest-test-" });
  const self = selfCommand();
  const out = await new Deno.Command(self.cmd, {
    args: [...self.args, ...args],
    env: { TMPDIR: tmp, VEEN_ARGV0: "veen", ...o.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(o.timeoutMs ?? 150_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), tmp };
}

/** Pids of the hubs a text report says it started (`hub NAME: URL (pid N, ...`). */
export function hubPids(report: string): number[] {
  return [...report.matchAll(/^ {2}hub [a-z]+: http:\/\/\S+ \(pid (\d+),/gm)].map((m) => Number(m[1]));
}

/** Asserts that a run left no hub process and no file in its $TMPDIR, then removes the (empty) $TMPDIR. */
export async function assertNothingLeft(run: SelftestRun): Promise<void> {
  const pids = hubPids(run.stdout);
  for (const pid of pids) assert.ok(!processAlive(pid), `hub pid ${pid} is still running`);
  const left: string[] = [];
  for await (const e of Deno.readDir(run.tmp)) left.push(e.name);
  assert.deepEqual(left, [], `left behind in ${run.tmp}: ${left.join(", ")}`);
  await Deno.remove(run.tmp);
}

/** Asserts that `report` contains every one of `needles`, naming the first missing one. */
export function assertIncludes(report: string, needles: (string | RegExp)[]): void {
  for (const n of needles) {
    const hit = typeof n === "string" ? report.includes(n) : n.test(report);
    assert.ok(hit, `report lacks ${n}\n--- report ---\n${report}`);
  }
}
