/**
 * `veen bridge` (also `veen-bridge`): mirrors labels from one hub to another (bridge/mirror.ts), once or following
 * new entries. Hub B must admit the mirrored MSGs: run it open, or authorize the writers' tokens on it.
 */
import { bytesEqual, fromHex, labelFor, MAX_TIMER_MS, streamIdFor, VeenError } from "../core/mod.ts";
import { HubHttp } from "../cli/mod.ts";
import { type Command, type CommandContext, type Io, processIo, runRole, usageError } from "../cmd/mod.ts";
import { mirrorLabel } from "./mirror.ts";

/** `veen bridge` (aliases `bridge mirror`, `bridge run`). */
export const bridgeCommand: Command = {
  path: ["bridge"],
  aliases: [["bridge", "mirror"], ["bridge", "run"]],
  summary: "mirror labels from one hub to another, once or following",
  usage: "veen bridge --from URL --to URL (--stream NAME | --label HEX)... [--follow] [--poll-ms N]",
  details:
    "Copies each label's verified history from hub A (--from) to hub B (--to) byte for byte and checks " +
    "that B's receipts\ncarry the same leaves, sequence numbers and roots. Resumes from B's size; with --follow " +
    "keeps polling A.",
  flags: [
    { name: "from", metavar: "URL", required: true, help: "hub A, the source" },
    { name: "to", metavar: "URL", required: true, help: "hub B, the destination" },
    { name: "stream", metavar: "NAME", multiple: true, help: "a stream to mirror" },
    { name: "label", metavar: "HEX32", multiple: true, help: "a label to mirror" },
    { name: "from-hub-key", metavar: "HEX32", help: "expected key of hub A" },
    { name: "to-hub-key", metavar: "HEX32", help: "expected key of hub B" },
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
  return await runRole("bridge", [bridgeCommand], args, io);
}

async function bridge(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  const streams = f.list("stream");
  const hexLabels = f.list("label");
  if (streams.length + hexLabels.length === 0) throw usageError("Give at least one --stream or --label");
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
