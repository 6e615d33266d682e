import assert from "node:assert/strict";
import { cpuPerOp, parseTaskStat, readThreadCpu, totalPerOp } from "./thread_cpu.ts";

const stat = (tid: number, comm: string, utime: number, stime: number) =>
  `${tid} (${comm}) S 1 1 1 0 -1 4194304 175 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 2292506 3133440 381\n`;

Deno.test("parseTaskStat reads tid, comm (with spaces and parentheses) and utime + stime in ms", () => {
  assert.deepEqual(parseTaskStat(stat(41, "V8 DefaultWorke", 30, 12)), {
    tid: 41,
    name: "V8 DefaultWorke",
    ms: 420,
  });
  assert.deepEqual(parseTaskStat(stat(7, "a) (b", 1, 2)), { tid: 7, name: "a) (b", ms: 30 });
  assert.equal(parseTaskStat("garbage"), undefined);
  assert.equal(parseTaskStat("12 (x) S 1 2"), undefined);
});

Deno.test("cpuPerOp sums by thread name, names the first thread main, and counts new threads from zero", () => {
  const before = [
    { tid: 100, name: "deno", ms: 1000 },
    { tid: 101, name: "worker-1", ms: 500 },
    { tid: 102, name: "tokio-runtime-w", ms: 10 },
  ];
  const after = [
    { tid: 100, name: "deno", ms: 3200 },
    { tid: 101, name: "worker-1", ms: 2000 },
    { tid: 102, name: "tokio-runtime-w", ms: 110 },
    { tid: 103, name: "tokio-runtime-w", ms: 50 },
  ];
  assert.deepEqual(cpuPerOp(100, before, after, 20_000), [
    ["main", 110],
    ["worker-1", 75],
    ["tokio-runtime-w", 8],
  ]);
  assert.equal(totalPerOp(before, after, 20_000), 193);
  // A thread that ended between the readings is lost, not subtracted.
  assert.equal(totalPerOp([...before, { tid: 104, name: "gone", ms: 900 }], after, 20_000), 193);
});

Deno.test("readThreadCpu sees this process's main thread, and nothing for a pid that does not exist", () => {
  if (Deno.build.os !== "linux") return;
  const mine = readThreadCpu(Deno.pid)!;
  assert.ok(mine.some((t) => t.tid === Deno.pid));
  assert.equal(readThreadCpu(2 ** 30), undefined);
});
