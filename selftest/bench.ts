/**
 * `veen bench`: measured figures for docs/performance.md, never pass/fail. Prints the machine, the in-process crypto
 * ceiling (Ed25519 verify+sign pairs/s on one core), durable submit throughput and time-to-receipt percentiles
 * against a hub in its own process with the CPU each hub thread and the load generator spent per accepted submit
 * (Linux), and proof latency, cold start and stream read throughput at several history sizes. All traffic is on
 * 127.0.0.1; every phase is bounded in count and time.
 */
import {
  ed25519Sign,
  ed25519Verify,
  EXIT,
  Ht,
  labelFor,
  signingKeyFromSeed,
  streamIdFor,
  toHex,
} from "../core/mod.ts";
import { type CommandContext, parseUint, readState, usageError } from "../cmd/mod.ts";
import { defaultConfig, Logger, selfCommand, startHub } from "../hub/mod.ts";
import { type LoadOptions, type LoadResult, pct, presign, runBatchLoad, runLoad } from "./load.ts";
import { cpuPerOp, readThreadCpu, totalPerOp } from "./thread_cpu.ts";
import { GLIBC_TUNABLES } from "../runtime.ts";

interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  os: string;
  deno: string;
}

function machine(): Machine {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1]?.trim() ?? cpu;
  } catch { /* not linux */ }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
  };
}

/** Whole-machine CPU time in ms, from the `cpu` line of /proc/stat (USER_HZ = 100). */
export interface CpuTimes {
  busy: number;
  idle: number;
  /** Time the hypervisor ran something else while this VM wanted the CPU: it makes figures incomparable. */
  steal: number;
}

/** Parses /proc/stat's `cpu  user nice system idle iowait irq softirq steal ...` line. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const f = /^cpu\s+(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  if (f === undefined || f.length < 8 || f.some((x) => !Number.isFinite(x))) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { busy: (user + nice + system + irq + softirq) * 10, idle: (idle + iowait) * 10, steal: steal * 10 };
}

function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseProcStat(Deno.readTextFileSync("/proc/stat"));
  } catch {
    return undefined; // not Linux
  }
}

/** Shares of busy, idle and stolen time between two readings, in percent of all cores. */
export function cpuShares(a: CpuTimes, b: CpuTimes): { busyPct: number; idlePct: number; stealPct: number } {
  const busy = b.busy - a.busy, idle = b.idle - a.idle, steal = b.steal - a.steal;
  const all = Math.max(1, busy + idle + steal);
  const pct = (x: number) => Math.round((1000 * x) / all) / 10;
  return { busyPct: pct(busy), idlePct: pct(idle), stealPct: pct(steal) };
}

/** Ed25519 verify + sign pairs per second on this thread (the per-submit crypto of a hub). */
function cryptoCeiling(ms = 2000): number {
  const k = signingKeyFromSeed(new Uint8Array(32).fill(7));
  const d = Ht("veen/sig", new Uint8Array(64));
  const sig = ed25519Sign(k.secret, d);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    ed25519Verify(k.public, d, sig);
    ed25519Sign(k.secret, d);
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** The hub runs with the caller's GLIBC_TUNABLES, or with the ones every deployment asset sets. */
const hubMallocTunables = () => Deno.env.get("GLIBC_TUNABLES") ?? GLIBC_TUNABLES;

async function spawnHub(dataDir: string): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const self = selfCommand();
  // VEEN_BENCH_HUB_FLAGS: extra runtime flags for the hub, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (profiling).
  const extra = (Deno.env.get("VEEN_BENCH_HUB_FLAGS") ?? "").split(/\s+/).filter((a) => a !== "");
  const args = self.args[0] === "run" ? ["run", ...extra, ...self.args.slice(1)] : self.args;
  const child = new Deno.Command(self.cmd, {
    args: [
      ...args,
      "hub",
      "start",
      "--foreground",
      "--data-dir",
      dataDir,
      "--listen",
      "127.0.0.1:0",
      "--log-level",
      // error, not warn: a batch overtaken by the next one is refused E.SEQ item by item, by design
      "error",
    ],
    env: { GLIBC_TUNABLES: hubMallocTunables() },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const st = await readState(dataDir);
    if (st !== undefined) {
      return {
        url: st.url,
        pid: child.pid,
        stop: async () => {
          child.kill("SIGTERM");
          await child.status;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error("hub did not start for the benchmark");
}

const quiet = () => new Logger("error", "bench", "standalone", () => {});
const r1 = (v: number) => Math.round(v * 10) / 10;
const r2 = (v: number) => Math.round(v * 100) / 100;

interface HistoryFigures {
  size: number;
  coldStartMs: number;
  proofP50Ms: number;
  proofP99Ms: number;
  streamItemsPerSec: number;
}

async function historyFigures(size: number, proofs: number): Promise<HistoryFigures> {
  const dir = await Deno.makeTempDir({ prefix: "veen-bench-" });
  try {
    const cfg = { ...defaultConfig(dir), listen: "127.0.0.1:0", logLevel: "error" as const };
    let hub = await startHub(cfg, { logger: quiet() });
    const fill = {
      url: hub.url,
      clients: 32,
      labels: 1,
      count: size,
      maxSeconds: 300,
      streamPrefix: `hist${size}`,
    };
    await runLoad(fill, presign(fill));
    await hub.close();
    const t0 = performance.now();
    hub = await startHub(cfg, { logger: quiet() });
    const coldStartMs = performance.now() - t0;
    const label = toHex(labelFor(streamIdFor(`hist${size}/0`)));
    const lat: number[] = [];
    for (let i = 0; i < proofs; i++) {
      const seq = 1 + Math.floor(Math.random() * size);
      const s = performance.now();
      const r = await fetch(`${hub.url}/proof?label=${label}&seq=${seq}`);
      await r.arrayBuffer();
      lat.push(performance.now() - s);
    }
    lat.sort((a, b) => a - b);
    const readN = Math.min(size, 20_000);
    const s = performance.now();
    let got = 0;
    for (let from = 1; got < readN;) {
      const r = await fetch(`${hub.url}/stream?label=${label}&from=${from}&with_proof=1`);
      const body = new Uint8Array(await r.arrayBuffer());
      if (body.length === 0) break;
      const n = Math.min(256, size - from + 1);
      got += n;
      from += n;
    }
    const streamItemsPerSec = got / ((performance.now() - s) / 1000);
    await hub.close();
    return { size, coldStartMs, proofP50Ms: pct(lat, 50), proofP99Ms: pct(lat, 99), streamItemsPerSec };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export interface PhaseFigures {
  name: string;
  what: string;
  clients: number;
  /** MSGs per request (1: /submit). */
  items: number;
  inFlight: number;
  ok: number;
  perSec: number;
  /** perSec over the mean of the crypto ceilings measured just before and just after the phase. */
  ratio: number;
  /** The one-core ceiling (pairs/s) measured just before and just after the phase, the hub idle. */
  ceiling: { before: number; after: number };
  seconds: number;
  /** Time to receipt per request (a whole batch's for /submit_batch), ms. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  errors: Record<string, number>;
  requests?: number;
  resends?: number;
  cpu: ReturnType<typeof cpuShares> | undefined;
  /** CPU µs per accepted submit: each hub thread, and the load generator. */
  cpuPerSubmitUs: { hub: Record<string, number>; loadGenerator: number } | undefined;
}

/**
 * One measured phase against the running hub: machine shares and CPU per thread around `run`, and its ratio to
 * the crypto ceiling measured just before and just after it (this VM's speed drifts by a fifth within minutes; a
 * ceiling measured once at the start made a phase run in a slow spell look worse than it was).
 */
async function phase(
  hubPid: number,
  p: { name: string; what: string; clients: number; items: number; inFlight: number },
  run: () => Promise<LoadResult & { requests?: number; resends?: number }>,
): Promise<PhaseFigures> {
  const ceilingBefore = cryptoCeiling(PHASE_CEILING_MS);
  const before = readCpuTimes();
  const hubBefore = readThreadCpu(hubPid);
  const selfBefore = readThreadCpu(Deno.pid);
  const res = await run();
  const hubAfter = readThreadCpu(hubPid);
  const selfAfter = readThreadCpu(Deno.pid);
  const after = readCpuTimes();
  const ceiling = { before: Math.round(ceilingBefore), after: Math.round(cryptoCeiling(PHASE_CEILING_MS)) };
  const cpu = before && after ? cpuShares(before, after) : undefined;
  const cpuPerSubmitUs = hubBefore && hubAfter && selfBefore && selfAfter && res.ok > 0
    ? {
      hub: Object.fromEntries(cpuPerOp(hubPid, hubBefore, hubAfter, res.ok)),
      loadGenerator: totalPerOp(selfBefore, selfAfter, res.ok),
    }
    : undefined;
  return {
    ...p,
    ...res,
    ratio: res.perSec / ((ceiling.before + ceiling.after) / 2),
    ceiling,
    cpu,
    cpuPerSubmitUs,
  };
}

/** How long each ceiling measurement around a phase runs. */
const PHASE_CEILING_MS = 1000;

/** The text lines of one phase. */
function phaseLines(f: PhaseFigures): string[] {
  const per = f.items === 1 ? "time-to-receipt" : "time-to-receipt per batch";
  const lines = [
    `${f.name}: ${f.what}: ${Math.round(f.perSec)} durable submits/s (${
      r2(f.ratio)
    } of ceiling ${f.ceiling.before}→${f.ceiling.after}), ${f.ok} ok in ${r1(f.seconds)} s; ${per} p50 ${
      r1(f.p50)
    } ms, p95 ${r1(f.p95)} ms, p99 ${r1(f.p99)} ms, max ${r1(f.max)} ms; errors ${JSON.stringify(f.errors)}${
      f.resends ? `; ${f.resends} MSGs resent` : ""
    }`,
  ];
  if (f.cpu) {
    lines.push(
      `  machine cpu: busy ${f.cpu.busyPct}%, idle ${f.cpu.idlePct}%, stolen by the hypervisor ${f.cpu.stealPct}%` +
        (f.cpu.stealPct >= 5 ? " (figures are not comparable with quieter runs)" : ""),
    );
  }
  if (f.cpuPerSubmitUs) {
    const busy = Object.entries(f.cpuPerSubmitUs.hub).filter(([, us]) => us > 0);
    lines.push(
      `  cpu per accepted submit (µs): hub ${
        busy.map(([name, us]) => `${name} ${us}`).join(", ")
      }; load generator ${f.cpuPerSubmitUs.loadGenerator}`,
    );
    // Batch phases only: with one MSG per request the worker also pays a wake-up per job, which reads as drift.
    const drift = f.items > 1 ? speedDrift(f) : undefined;
    if (drift !== undefined && Math.abs(drift.pct) >= 10) {
      lines.push(
        `  speed check: the crypto worker spent ${drift.workerUs} µs per submit (one verify and one sign) against ` +
          `${drift.pairUs} µs per pair at the ceiling: the machine ran ${Math.abs(drift.pct)} % ${
            drift.pct > 0 ? "slower" : "faster"
          } during the phase than around it`,
      );
    }
  }
  return lines;
}

/**
 * The crypto workers' CPU per submit (one Ed25519 verify and one sign each) against the ceiling's time per pair
 * around the phase: the machine's speed during the phase, which the ceilings measured before and after it miss
 * when the VM slows down in between. Undefined without per-thread figures or crypto workers.
 */
export function speedDrift(f: PhaseFigures): { workerUs: number; pairUs: number; pct: number } | undefined {
  if (f.cpuPerSubmitUs === undefined) return undefined;
  const workerUs = Object.entries(f.cpuPerSubmitUs.hub)
    .filter(([name]) => /^worker-\d+$/.test(name))
    .reduce((s, [, us]) => s + us, 0);
  if (workerUs === 0) return undefined;
  const pairUs = Math.round(2e6 / (f.ceiling.before + f.ceiling.after));
  return { workerUs, pairUs, pct: Math.round((workerUs / pairUs - 1) * 100) };
}

/** `veen bench` (table in commands.ts): figures as text lines, or `{"ok":true,...figures}` with --json. */
/** MSGs of the unmeasured warm-up run before each phase. */
const WARM_UP_MSGS = 2000;

type LoadRun = (
  o: LoadOptions,
  msgs: Uint8Array[][],
) => Promise<LoadResult & { requests?: number; resends?: number }>;

/** The load of phase `name`: its options, what it is, and how it runs. */
function phaseShape(
  name: string,
  load: LoadOptions,
  f: { batchItems: number; batchInFlight: number; manyBatchItems: number },
): {
  o: LoadOptions;
  figures: { what: string; clients: number; items: number; inFlight: number };
  run: LoadRun;
} {
  if (name === "single") {
    return {
      o: load,
      figures: {
        what: `${load.clients} clients on ${load.labels} labels, one MSG per /submit`,
        clients: load.clients,
        items: 1,
        inFlight: 1,
      },
      run: runLoad,
    };
  }
  const one = name === "batch1";
  const o = one ? { ...load, clients: 1, labels: 1 } : load;
  const b = one
    ? { items: f.batchItems, inFlight: f.batchInFlight }
    : { items: f.manyBatchItems, inFlight: 1 };
  return {
    o,
    figures: {
      what: one
        ? `one producer, /submit_batch of ${b.items} with ${b.inFlight} in flight`
        : `${o.clients} producers on ${o.labels} labels, /submit_batch of ${b.items}, one in flight each`,
      clients: o.clients,
      ...b,
    },
    run: (o, msgs) => runBatchLoad(o, msgs, b),
  };
}

export async function bench(ctx: CommandContext): Promise<number> {
  const int = (name: string, dflt: number, max: number) => ctx.flags.int(name, { min: 1, max }) ?? dflt;
  const f = {
    clients: int("clients", 32, 10_000),
    labels: int("labels", 4, 10_000),
    count: int("count", 20_000, 10_000_000),
    seconds: int("seconds", 60, 86_400),
    proofs: int("proofs", 300, 1_000_000),
    batchItems: int("batch-items", 256, 8192),
    batchInFlight: int("batch-in-flight", 3, 64),
    manyBatchItems: int("many-batch-items", 10, 8192),
    json: ctx.out.mode.json,
    write: ctx.flags.str("write"),
    "skip-history": ctx.flags.bool("skip-history"),
    phases: (ctx.flags.str("phases") ?? "single,batch1,batchN").split(","),
  };
  for (const p of f.phases) {
    if (!["single", "batch1", "batchN"].includes(p)) throw usageError(`--phases: unknown phase "${p}"`);
  }
  const sizes = (ctx.flags.str("sizes") ?? "1000,10000,100000").split(",")
    .map((s) => parseUint(s, "--sizes", { min: 1, max: 100_000_000 }));
  const log = (s: string) => f.json ? undefined : ctx.out.result({}, [s]);
  const m = machine();
  log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.os}, deno ${m.deno}`);
  log(`hub GLIBC_TUNABLES: ${hubMallocTunables()}`);
  const ceiling = cryptoCeiling();
  log(`crypto ceiling: ${Math.round(ceiling)} Ed25519 verify+sign pairs/s on one core`);

  const dir = await Deno.makeTempDir({ prefix: "veen-bench-" });
  const load = { url: "", clients: f.clients, labels: f.labels, count: f.count, maxSeconds: f.seconds };
  const phases: PhaseFigures[] = [];
  try {
    const hub = await spawnHub(dir);
    try {
      load.url = hub.url;
      for (const name of f.phases) {
        const shape = phaseShape(name, load, f);
        // Warm-up: the same shape on streams of its own, not measured, so that the figures are of a hub whose code
        // for this load is compiled, as in a hub that has been serving it (not of its first requests).
        const warm = { ...shape.o, count: Math.min(WARM_UP_MSGS, load.count), streamPrefix: `${name}-warm` };
        await shape.run(warm, presign(warm));
        const o = { ...shape.o, streamPrefix: name };
        const msgs = presign(o);
        const fig = await phase(hub.pid, { name, ...shape.figures }, () => shape.run(o, msgs));
        phases.push(fig);
        for (const l of phaseLines(fig)) log(l);
      }
    } finally {
      await hub.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const history: HistoryFigures[] = [];
  if (!f["skip-history"]) {
    for (const size of sizes) {
      const h = await historyFigures(size, f.proofs);
      history.push(h);
      log(
        `history ${size}: cold start ${r1(h.coldStartMs)} ms, proof p50 ${r2(h.proofP50Ms)} ms p99 ${
          r2(h.proofP99Ms)
        } ms, ` +
          `stream with proofs ${Math.round(h.streamItemsPerSec)} items/s`,
      );
    }
  }
  const result = {
    machine: m,
    hubMallocTunables: hubMallocTunables(),
    cryptoCeiling: Math.round(ceiling),
    phases,
    history,
  };
  if (f.json) ctx.out.result(result, []);
  if (f.write) await Deno.writeTextFile(f.write, JSON.stringify(result, null, 2) + "\n");
  return EXIT.OK;
}
