/**
 * CPU time per thread of a Linux process, from /proc/PID/task/TID/stat (utime + stime, USER_HZ = 100), so that
 * `veen bench` can say where a submit's CPU goes (hub main thread, crypto worker, GC, blocking threads, load
 * generator). Elsewhere the readings are `undefined` and the bench prints no breakdown.
 */

export interface ThreadCpu {
  tid: number;
  /** The thread's comm (at most 15 bytes, e.g. `tokio-runtime-w`). */
  name: string;
  ms: number;
}

/** Parses `tid (comm) state ppid … utime stime …`; comm may itself hold spaces and parentheses. */
export function parseTaskStat(text: string): ThreadCpu | undefined {
  const open = text.indexOf(" (");
  const close = text.lastIndexOf(") ");
  if (open < 1 || close < open) return undefined;
  const tid = Number(text.slice(0, open));
  // Fields after comm start at `state` (field 3); utime and stime are fields 14 and 15.
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isSafeInteger(tid) || !Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { tid, name: text.slice(open + 2, close), ms: (utime + stime) * 10 };
}

/** Every thread of process `pid`; `undefined` when /proc cannot be read (not Linux, or the process is gone). */
export function readThreadCpu(pid: number): ThreadCpu[] | undefined {
  try {
    const out: ThreadCpu[] = [];
    for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const t = parseTaskStat(Deno.readTextFileSync(`/proc/${pid}/task/${e.name}/stat`));
        if (t !== undefined) out.push(t);
      } catch {
        // the thread ended between the listing and the read
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * CPU µs per operation between two readings of process `pid`, summed by thread name (the process's first thread is
 * `main`), largest first. A thread that started in between counts from zero; one that ended in between is lost.
 */
export function cpuPerOp(
  pid: number,
  before: readonly ThreadCpu[],
  after: readonly ThreadCpu[],
  ops: number,
): [name: string, us: number][] {
  const byName = new Map<string, number>();
  for (const [t, ms] of deltas(before, after)) {
    const name = t.tid === pid ? "main" : t.name;
    byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  return [...byName]
    .map(([name, ms]): [string, number] => [name, usPerOp(ms, ops)])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Total CPU µs per operation of all threads between two readings (same thread rules as {@link cpuPerOp}). */
export function totalPerOp(before: readonly ThreadCpu[], after: readonly ThreadCpu[], ops: number): number {
  let ms = 0;
  for (const [, d] of deltas(before, after)) ms += d;
  return usPerOp(ms, ops);
}

/** Each thread of `after` with the CPU ms it spent since `before` (all of it when it is new). */
function* deltas(before: readonly ThreadCpu[], after: readonly ThreadCpu[]): Iterable<[ThreadCpu, number]> {
  const was = new Map(before.map((t) => [t.tid, t.ms]));
  for (const t of after) yield [t, t.ms - (was.get(t.tid) ?? 0)];
}

const usPerOp = (ms: number, ops: number) => Math.round((ms * 1000) / Math.max(1, ops));
