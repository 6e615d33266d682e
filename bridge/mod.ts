/**
 * `veen bridge` (also `veen-bridge`): replicates the labels hub B is a replica of from their primary A with A's
 * RECEIPTs (bridge/replicate.ts, docs/replication.md), or, given --stream/--label without --replicate, mirrors
 * them by re-submitting A's MSGs to B (bridge/mirror.ts; B must admit them). Once or following new entries.
 */
import {
  bytesEqual,
  fromHex,
  hubIdFor,
  labelFor,
  MAX_TIMER_MS,
  streamIdFor,
  toHex,
  VeenError,
} from "../core/mod.ts";
import { HubHttp } from "../cli/mod.ts";
import { type Command, type CommandContext, CommandError, type Io, processIo, runRole } from "../cmd/mod.ts";
import { mirrorLabel } from "./mirror.ts";
import { replicatedLabels, replicateLabel, type ReplicateResult } from "./replicate.ts";
import { bridgeExport } from "./airgap_export.ts";
import { bridgeImport } from "./airgap_import.ts";
import { bridgeReconcile } from "./airgap_reconcile.ts";

/** The AGB0 air-gap bridge (docs/airgap-bridge.md): `veen bridge export|import|reconcile`. */
export const AIRGAP_COMMANDS: readonly Command[] = [bridgeExport, bridgeImport, bridgeReconcile];

/** `veen bridge` (aliases `bridge mirror`, `bridge run`). */
export const bridgeCommand: Command = {
  path: ["bridge"],
  aliases: [["bridge", "mirror"], ["bridge", "run"]],
  summary: "replicate (or mirror) labels from one hub to another, once or following",
  usage:
    "veen bridge --from URL --to URL [--replicate] [(--stream NAME | --label HEX)...] [--follow] [--poll-ms N]",
  details:
    "Without --stream/--label, or with --replicate, replicates: every label B (--to) is a replica of with A " +
    "(--from) as its\nprimary (or the labels given) is copied with A's RECEIPTs and checkpoints through B's " +
    "POST /replicate, so both\nhold the same leaves, seqs and roots; a label where B holds a different entry " +
    "stops with both RECEIPTs\nprinted (exit 4), nothing overwritten. With --stream/--label alone, mirrors by " +
    "re-submitting A's MSGs to B\nand checking that B's receipts carry the same leaves, seqs and roots. Resumes " +
    "from B's head; with --follow keeps\npolling A (backing off to 8x --poll-ms while idle, retrying while a " +
    "hub is unreachable).",
  flags: [
    { name: "from", metavar: "URL", required: true, help: "hub A, the source" },
    { name: "to", metavar: "URL", required: true, help: "hub B, the destination" },
    { name: "stream", metavar: "NAME", multiple: true, help: "a stream to mirror" },
    { name: "label", metavar: "HEX32", multiple: true, help: "a label to mirror" },
    { name: "from-hub-key", metavar: "HEX32", help: "expected key of hub A" },
    { name: "to-hub-key", metavar: "HEX32", help: "expected key of hub B" },
    {
      name: "replicate",
      arity: 0,
      help: "replicate the labels given (B's POST /replicate) instead of mirroring",
    },
    { name: "follow", arity: 0, help: "keep polling A for new entries" },
    { name: "poll-ms", metavar: "N", help: "poll interval with --follow (default 500)" },
    {
      name: "max-items",
      metavar: "N",
      help: "largest number of items copied per label and pass (default 100000)",
    },
  ],
  run: bridge,
};

/** `veen bridge ...` in-process (`args` follow the word "bridge"); returns the exit code. */
export async function bridgeMain(args: string[], io: Io = processIo()): Promise<number> {
  return await runRole("bridge", [bridgeCommand, ...AIRGAP_COMMANDS], args, io);
}

async function bridge(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  const streams = f.list("stream");
  const hexLabels = f.list("label");
  const pollMs = f.int("poll-ms", { min: 1, max: MAX_TIMER_MS }) ?? 500;
  const maxItems = f.int("max-items", { min: 1 }) ?? 100_000;
  const labels = [
    ...streams.map((s) => labelFor(streamIdFor(s))),
    ...hexLabels.map((l) => fromHex(l, 32, "--label")),
  ];
  const a = new HubHttp(f.req("from"), ctx.timeoutMs);
  const b = new HubHttp(f.req("to"), ctx.timeoutMs);
  const [ia, ib] = [await a.info(), await b.info()];
  for (const [flag, info] of [["from-hub-key", ia], ["to-hub-key", ib]] as const) {
    const want = f.str(flag);
    if (want !== undefined && !bytesEqual(fromHex(want, 32, `--${flag}`), info.hubPk)) {
      throw new VeenError("E.SIG", `Hub for --${flag} presents another key`);
    }
  }
  if (labels.length === 0 || f.bool("replicate")) {
    return await replicateLoop(ctx, a, b, ia.hubPk, labels, { pollMs, maxItems });
  }
  for (;;) {
    let copied = 0;
    for (const label of labels) {
      const r = await mirrorLabel({
        from: a,
        to: b,
        fromHubPk: ia.hubPk,
        toHubPk: ib.hubPk,
        label,
        maxItems,
      });
      copied += r.copied;
      const line = `label ${r.label.slice(0, 16)}…: copied ${r.copied}, skipped ${r.skipped}, size ${r.size}`;
      if (ctx.out.mode.json || r.copied + r.skipped > 0 || !f.bool("follow")) ctx.out.item({ ...r }, [line]);
    }
    if (!f.bool("follow")) return 0;
    if (copied === 0) await ctx.io.sleep(pollMs);
  }
}

/**
 * The replication mode: one pass over the labels (those given, else every label B replicates from A), a progress
 * line per label that moved or stopped; with --follow, passes repeat, waiting `pollMs` (doubling to 8x while
 * idle) between idle passes and retrying through a hub that is unreachable or restarting. A label that showed
 * equivocation is not tried again. Exit 4 when a label stopped, else 0 (after one pass without --follow).
 */
async function replicateLoop(
  ctx: CommandContext,
  a: HubHttp,
  b: HubHttp,
  primaryPk: Uint8Array,
  given: Uint8Array[],
  o: { pollMs: number; maxItems: number },
): Promise<number> {
  const follow = ctx.flags.bool("follow");
  const stopped = new Set<string>();
  const skipped = new Set<string>();
  let wait = o.pollMs;
  for (;;) {
    let moved = 0;
    try {
      let labels = given;
      if (given.length === 0) {
        const r = await replicatedLabels(b, hubIdFor(primaryPk));
        labels = r.labels;
        for (const x of r.others.filter((x) => !skipped.has(x.label))) {
          skipped.add(x.label);
          ctx.out.item({ event: "skipped", ...x }, [
            `label ${x.label.slice(0, 16)}…: primary is ${x.primary_hub}`,
          ]);
        }
      }
      for (const label of labels) {
        const hex = toHex(label);
        if (stopped.has(hex)) continue;
        const r = await replicateLabel({ from: a, to: b, primaryPk, label, maxItems: o.maxItems });
        moved += r.appended + (r.checkpoint === null ? 0 : 1);
        if (r.equivocation !== undefined) stopped.add(hex);
        if (ctx.out.mode.json || r.appended > 0 || r.equivocation !== undefined || !follow) {
          ctx.out.item({ event: r.equivocation === undefined ? "progress" : "equivocation", ...r }, lines(r));
        }
      }
    } catch (e) {
      if (!follow || !retryable(e)) throw e;
      const detail = e instanceof Error ? e.message : String(e);
      ctx.out.item({ event: "retry", detail, wait_ms: wait }, [`waiting ${wait} ms: ${detail}`]);
    }
    if (!follow) return stopped.size > 0 ? 4 : 0;
    if (moved > 0) {
      wait = o.pollMs;
      continue;
    }
    await ctx.io.sleep(wait);
    wait = Math.min(wait * 2, o.pollMs * 8);
  }
}

/** A failure a following bridge waits out: a hub unreachable or not answering, or E.UNAVAILABLE. */
function retryable(e: unknown): boolean {
  if (e instanceof VeenError) return e.code === "E.UNAVAILABLE";
  return e instanceof CommandError && e.kind === "transport";
}

function lines(r: ReplicateResult): string[] {
  const head = `label ${r.label.slice(0, 16)}…`;
  if (r.equivocation === undefined) {
    const cp = r.checkpoint === null ? "" : `, checkpoint ${r.checkpoint}`;
    return [`${head}: appended ${r.appended}, held ${r.held}, seq ${r.seq} of ${r.primary_seq}${cp}`];
  }
  const e = r.equivocation;
  return [
    `${head}: STOPPED at stream_seq ${e.stream_seq}: ${e.reason}; nothing overwritten`,
    `  primary RECEIPT: ${e.primary_receipt ?? "(none)"}`,
    `  replica RECEIPT: ${e.replica_receipt}`,
  ];
}
