/**
 * `veen selftest SUITE|overlays|plus|all` (also `veen-selftest ...`; CLI-GOALS-1 §15, CORE-GOALS; the suites are
 * listed in commands.ts) and `veen bench`.
 *
 * Each suite starts its own hubs on random loopback ports with data directories under $TMPDIR (or, with
 * `--hub URL`, runs the subset that works against an already deployed hub), drives the real CLI as subprocesses,
 * prints a report (goal, environment, each step with its evidence) and exits 0 when every step passed or 5 naming
 * the failing step. Hubs, background commands and the temp directory are removed on every path: success, failure,
 * exceptions and SIGINT/SIGTERM (exit 130/143 after cleanup).
 */
import { type CommandContext, type Io, processIo, runRole, usageError } from "../cmd/mod.ts";
import { EXIT } from "../core/mod.ts";
import { versionLine } from "../version.ts";
import { AUTHORITY_GOAL, authoritySuite } from "./authority_suite.ts";
import { CORE_GOAL, coreSuite } from "./core_suite.ts";
import { FEDERATED_GOAL, federatedSuite } from "./federated_suite.ts";
import { FUZZ_GOAL, fuzzSuite } from "./fuzz_suite.ts";
import { KEX1_GOAL, kex1Suite } from "./kex1_suite.ts";
import { HARDENED_GOAL, hardenedSuite } from "./hardened_suite.ts";
import { Harness, Interrupted, SuiteAborted } from "./harness.ts";
import { META_GOAL, metaSuite } from "./meta_suite.ts";
import { ID_GOAL, idSuite } from "./id_suite.ts";
import { WALLET_GOAL, walletSuite } from "./wallet_suite.ts";
import { RECORDER_GOAL, recorderSuite } from "./recorder_suite.ts";
import { BRIDGE_GOAL, bridgeSuite } from "./bridge_suite.ts";
import { PLUS_PLUS_GOAL, plusPlusSuite } from "./plus_plus_suite.ts";
import { PROPS_GOAL, propsSuite } from "./props_suite.ts";
import { QUERY_GOAL, querySuite } from "./query_suite.ts";
import { DISCOVERY_GOAL, discoverySuite } from "./discovery_suite.ts";
import { Report } from "./report.ts";
import { parseSeed, Rng } from "./rng.ts";
import { SELFTEST_COMMANDS } from "./commands.ts";
import { GROUPS, OVERLAY_SUBSETS, OVERLAYS, type SuiteGroup, type SuiteName } from "./suites.ts";

export { BENCH_COMMAND, benchMain, SELFTEST_COMMANDS } from "./commands.ts";

export type { SuiteGroup, SuiteName } from "./suites.ts";

/** The suites of `which`, narrowed by `--subset` (overlays only). */
export function suitesOf(which: SuiteGroup, subset: string[]): SuiteName[] {
  if (subset.length > 0 && which !== "overlays") {
    throw usageError("--subset goes with veen selftest overlays");
  }
  if (which !== "overlays" && which !== "plus" && which !== "all") return [which];
  if (subset.length === 0) return GROUPS[which];
  const out = new Set<SuiteName>();
  for (const name of subset) {
    const s = OVERLAY_SUBSETS[name];
    if (s === undefined) {
      throw usageError(
        `--subset ${name}: not an overlay suite (${Object.keys(OVERLAY_SUBSETS).join(", ")})`,
      );
    }
    out.add(s);
  }
  return OVERLAYS.filter((s) => out.has(s));
}
const SUITES: Record<SuiteName, { goal: string; run: (h: Harness) => Promise<void> }> = {
  core: { goal: CORE_GOAL, run: coreSuite },
  props: { goal: PROPS_GOAL, run: propsSuite },
  fuzz: { goal: FUZZ_GOAL, run: fuzzSuite },
  kex1: { goal: KEX1_GOAL, run: kex1Suite },
  hardened: { goal: HARDENED_GOAL, run: hardenedSuite },
  meta: { goal: META_GOAL, run: metaSuite },
  federated: { goal: FEDERATED_GOAL, run: federatedSuite },
  id: { goal: ID_GOAL, run: idSuite },
  wallet: { goal: WALLET_GOAL, run: walletSuite },
  recorder: { goal: RECORDER_GOAL, run: recorderSuite },
  bridge: { goal: BRIDGE_GOAL, run: bridgeSuite },
  authority: { goal: AUTHORITY_GOAL, run: authoritySuite },
  "plus-plus": { goal: PLUS_PLUS_GOAL, run: plusPlusSuite },
  query: { goal: QUERY_GOAL, run: querySuite },
  discovery: { goal: DISCOVERY_GOAL, run: discoverySuite },
};

/** `veen selftest SUITE ...` in-process (`args` follow the word "selftest"); returns the exit code. */
export async function selftestMain(args: string[], io: Io = processIo()): Promise<number> {
  return await runRole("selftest", SELFTEST_COMMANDS, args, io);
}

/** `veen selftest core|props|fuzz|meta|all` (table in commands.ts). */
export async function selftest(ctx: CommandContext, which: SuiteGroup): Promise<number> {
  const seed = ctx.flags.int("seed", { max: 0xffff_ffff }) ?? parseSeed(undefined);
  const iterations = ctx.flags.int("iterations", { min: 1, max: 999_999 });
  const hubUrl = ctx.flags.str("hub");
  if (hubUrl !== undefined && !/^https?:\/\/[^/\s]+/.test(hubUrl)) {
    throw usageError(`--hub must be an http(s) URL, got "${hubUrl}"`);
  }
  const flags = { hub: hubUrl, keep: ctx.flags.bool("keep"), json: ctx.out.mode.json };
  if (iterations !== undefined) Deno.env.set("VEEN_SELFTEST_ITERATIONS", String(iterations));
  const subset = (ctx.flags.str("subset") ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");
  const suites = suitesOf(which, subset);

  // --quiet: no report, only the failure line on stderr (as for every command).
  const quiet = ctx.out.mode.quiet && !flags.json;
  const report = new Report((t) => quiet ? undefined : ctx.io.writeOut(t), flags.json);
  report.title(`veen selftest ${which}`);
  report.title(`goal: ${suites.map((s) => `${s}: ${SUITES[s].goal}`).join("; ")}`);
  if (which === "plus" || which === "all" || (which === "overlays" && subset.length === 0)) {
    report.title(`suites: ${suites.join(", ")}`);
  }
  report.title("environment:");
  report.setEnv("veen", versionLine());
  report.setEnv(
    "deno",
    `${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`,
  );
  report.setEnv("os", `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`);
  report.setEnv("seed", `${seed} (rerun with --seed ${seed})`);
  const rng = new Rng(seed);
  const h = await Harness.create(report, rng, {
    seed,
    ...(flags.hub === undefined ? {} : { hubUrl: flags.hub }),
    ...(flags.keep ? { keep: true } : {}),
  });
  report.setEnv(
    "cli",
    [h.self.cmd, ...h.self.args].map((a) => a.includes(" ") ? JSON.stringify(a) : a).join(" "),
  );
  report.setEnv(
    "mode",
    flags.hub === undefined ? "own hubs on 127.0.0.1 (random ports)" : `deployed hub ${flags.hub}`,
  );
  report.setEnv("run id", h.runId);
  report.setEnv("temp dir", `${h.root}${flags.keep ? " (kept)" : " (removed at the end)"}`);

  let interrupted: Deno.Signal | undefined;
  let finished = false;
  const finishInterrupted = (sig: Deno.Signal): number => {
    if (!finished) {
      finished = true;
      report.note(`${sig}: hubs stopped, background commands ended, ${h.root} removed`);
      report.finish({ seed, which }, sig);
    }
    return sig === "SIGINT" ? 130 : 143;
  };
  const onSignal = (sig: Deno.Signal) => () => {
    if (interrupted !== undefined) return;
    interrupted = sig;
    report.note(`${sig}: stopping hubs and removing ${h.root}`);
    void h.cleanup().then(() => Deno.exit(finishInterrupted(sig)));
  };
  const handlers: [Deno.Signal, () => void][] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const fn = onSignal(sig);
    try {
      Deno.addSignalListener(sig, fn);
      handlers.push([sig, fn]);
    } catch {
      // not supported on this OS (SIGTERM on Windows): the finally block still cleans up
    }
  }

  try {
    for (const s of suites) {
      try {
        await SUITES[s].run(h);
      } catch (e) {
        if (e instanceof Interrupted || interrupted !== undefined) break;
        const why = e instanceof SuiteAborted
          ? e.message
          : `unexpected error: ${e instanceof Error ? e.stack : e}`;
        const rec = report.suites.find((x) => x.name === s);
        if (rec !== undefined) rec.aborted = why;
        report.note(`suite ${s} stopped: ${why}`);
        if (!(e instanceof SuiteAborted)) {
          report.addStep({
            suite: s,
            name: "internal",
            goal: "suite ran to its end",
            status: "fail",
            evidence: [],
            detail: why,
            ms: 0,
          });
        }
      }
    }
  } finally {
    await h.cleanup();
    for (const [sig, fn] of handlers) Deno.removeSignalListener(sig, fn);
  }
  if (interrupted !== undefined) return finishInterrupted(interrupted);
  finished = true;
  report.note(
    `commands run: ${h.commandsRun}; hubs started: ${h.hubs.length}, all stopped; temp dir ${
      flags.keep ? "kept" : "removed"
    }`,
  );
  if (report.finish({ seed, which })) return EXIT.OK;
  if (!flags.json) ctx.io.writeErr(`E.SELFTEST: ${report.failureDetail()}\n`);
  return EXIT.SELFTEST;
}
