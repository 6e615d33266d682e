/**
 * The command table of `veen selftest SUITE|overlays|plus|all` (also `veen-selftest ...`) and `veen bench`. Handlers
 * live in mod.ts and bench.ts and load only when they run.
 */
import { type Command, type FlagSpec, type Io, lazy, processIo, runRole } from "../cmd/mod.ts";
import { GROUPS, OVERLAY_SUBSETS, type SuiteGroup } from "./suites.ts";

const SELFTEST_FLAGS: FlagSpec[] = [
  {
    name: "seed",
    metavar: "N",
    help: "seed for every random choice (printed in the report; default: random)",
  },
  {
    name: "hub",
    metavar: "URL",
    help: "run the subset that works against an already deployed hub (no restarts, no config changes)",
  },
  { name: "iterations", metavar: "N", help: "fuzz cases per target (default 200)" },
  { name: "keep", arity: 0, help: "keep the temp directory (hubs are still stopped)" },
  {
    name: "subset",
    metavar: "NAME,...",
    help: `overlays only: ${Object.keys(OVERLAY_SUBSETS).join(", ")}`,
  },
];

const DETAILS =
  `Each suite starts its own hubs (veen hub start --listen 127.0.0.1:0, data under $TMPDIR) and removes them and
their data afterwards, also when interrupted. --json prints one JSON document instead of the text report.
Exit: 0 every step passed, 5 a step failed (the report names it), 1 usage, 130/143 interrupted.`;

const SUITES: [SuiteGroup, string][] = [
  [
    "core",
    "send/stream, attachments, caps, E.* errors, bounds, resync, rpc, crdt, anchor, health/metrics, retention",
  ],
  ["props", "MMR proofs and consistency, duplicate rejection, CBOR and fold determinism"],
  ["fuzz", "malformed MSG, RECEIPT, CHECKPOINT, proofs and HTTP input get documented E.* errors"],
  ["kex1", "KEX1+: client key bounds, cap ttl bound and expiry, revocations (also after a restart)"],
  [
    "hardened",
    "SH1+: oversized and malformed input is E.SIZE before signature work, proof of work (own hub)",
  ],
  ["meta", "label classes (LCLASS0) and the schema registry (META0+) on a hub with admin_keys"],
  [
    "federated",
    "FED1/AUTH1: two hubs in one realm, authority records, sends to the primary only, flip (own hubs)",
  ],
  ["wallet", "the wallet layer (WAL Core, Limits, Control, Bridge) through veen wallet on own hubs"],
  [
    "id",
    "ID layer: derivations, devices, profiles, orgs, handles, JWT gateway, revocation, bridge (own hubs)",
  ],
  ["recorder", "SDR0 recorder: record streams, on-demand checkpoints, verified replay (own hub)"],
  ["bridge", "AGB0 air-gap bridge: export, import, re-import, tampered bundle, reconcile (two own hubs)"],
  [
    "authority",
    "spec 000 §8.2: the authority hub (--profile authority) serves, is ready, signs its realm and admin records",
  ],
  ["query", "Query API: query serve, submit with full and spot evidence, pages, verify-digest, refusals"],
  ["discovery", "discovery: advertise, query, expiry, retire and revive, connect over RPC0"],
  [
    "plus-plus",
    "operation profiles: op, access grants, wallet ledger, agreement, snapshot, recovery, audit, federate (own hubs)",
  ],
  [
    "overlays",
    `the v0.0.1+ overlay suites: ${GROUPS.overlays.join(" + ")} (CORE-GOALS 0; --subset picks some)`,
  ],
  ["plus", `${GROUPS.plus.join(" + ")} (CLI-GOALS-2 §8.5)`],
  ["all", `${GROUPS.all.join(" + ")} (CORE-GOALS 0)`],
];

/** `veen selftest SUITE|overlays|plus|all`. */
export const SELFTEST_COMMANDS: readonly Command[] = SUITES.map(([which, summary]) => ({
  path: ["selftest", which],
  summary,
  usage: `veen selftest ${which} [--seed N] [--hub URL] [--iterations N] [--json] [--keep]${
    which === "overlays" ? " [--subset NAME,...]" : ""
  }`,
  details: DETAILS,
  flags: SELFTEST_FLAGS,
  run: lazy(() => import("./mod.ts"), (m) => (ctx) => m.selftest(ctx, which)),
}));

/** `veen bench`. */
export const BENCH_COMMAND: Command = {
  path: ["bench"],
  summary: "measure crypto ceiling, durable submits/s, proof latency and stream throughput (figures only)",
  usage:
    "veen bench [--clients 32] [--labels 4] [--count 20000] [--seconds 60] [--phases single,batch1,batchN] " +
    "[--batch-items 256] [--batch-in-flight 3] [--many-batch-items 10] [--sizes 1000,10000,100000] " +
    "[--proofs 300] [--skip-history] [--json] [--write FILE]",
  details:
    `Measures the crypto ceiling, then against one hub, phase by phase: durable submits/s (and its ratio to the
ceiling, measured again just before and just after the phase) with p50/p95/p99 time-to-receipt and the CPU per submit of each hub thread and of the load generator, for
single: --clients clients, one MSG per /submit; batch1: one producer, /submit_batch requests of --batch-items with
--batch-in-flight in flight (time-to-receipt per batch); batchN: --clients producers, requests of --many-batch-items,
one in flight each. Each phase first runs an unmeasured warm-up of 2000 MSGs of its own shape on streams of its
own. Then proof latency, cold start and stream read throughput per history size. Figures only; nothing here passes
or fails on timing. VEEN_BENCH_HUB_FLAGS adds runtime flags to the hub (e.g. "--cpu-prof --cpu-prof-dir=DIR").`,
  flags: [
    { name: "clients", metavar: "N", help: "concurrent submitting clients (1..10000, default 32)" },
    { name: "labels", metavar: "N", help: "labels written (1..10000, default 4)" },
    { name: "count", metavar: "N", help: "submits measured (default 20000)" },
    { name: "seconds", metavar: "N", help: "longest submit phase (default 60)" },
    { name: "phases", metavar: "P,P,...", help: "submit phases: single, batch1, batchN (default all three)" },
    { name: "batch-items", metavar: "N", help: "MSGs per request of the one producer (default 256)" },
    { name: "batch-in-flight", metavar: "N", help: "requests in flight of the one producer (default 3)" },
    {
      name: "many-batch-items",
      metavar: "N",
      help: "MSGs per request of each of the producers (default 10)",
    },
    { name: "sizes", metavar: "N,N,...", help: "history sizes (default 1000,10000,100000)" },
    { name: "proofs", metavar: "N", help: "proofs per history size (default 300)" },
    { name: "skip-history", arity: 0, help: "skip the history figures" },
    { name: "write", metavar: "FILE", help: "also write the JSON figures to FILE" },
  ],
  run: lazy(() => import("./bench.ts"), (m) => m.bench),
};

/** `veen bench ...` in-process (`args` follow the word "bench"). */
export async function benchMain(args: string[], io: Io = processIo()): Promise<number> {
  return await runRole("bench", [BENCH_COMMAND], args, io);
}
