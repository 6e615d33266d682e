/**
 * `veen bridge` (also `veen-bridge`): mirrors labels from one hub to another (bridge/mirror.ts), once or following
 * new entries. Hub B must admit the mirrored MSGs: run it open, or authorize the writers' tokens on it.
 */
import { parseArgs } from "node:util";
import { bytesEqual, EXIT, fromHex, labelFor, MAX_TIMER_MS, streamIdFor, VeenError } from "../core/mod.ts";
import { describeFailure, exitCodeOf, HubHttp } from "../cli/mod.ts";
import { parseUint } from "../cli/args.ts";
import { mirrorLabel } from "./mirror.ts";

const HELP =
  `Usage: veen bridge [mirror] --from URL --to URL (--stream NAME | --label HEX)... [--from-hub-key HEX]
                   [--to-hub-key HEX] [--follow] [--poll-ms 500] [--max-items N] [--timeout-ms N] [--json]
Copies each label's verified history from hub A (--from) to hub B (--to) byte for byte and checks that B's receipts
carry the same leaves, sequence numbers and roots. Resumes from B's size; with --follow keeps polling A.`;

export async function bridgeMain(args: string[]): Promise<number> {
  const rest = args[0] === "mirror" ? args.slice(1) : args;
  let f;
  let pollMs: number, maxItems: number, timeoutMs: number;
  try {
    f = parseArgs({
      args: rest,
      strict: true,
      options: {
        from: { type: "string" },
        to: { type: "string" },
        stream: { type: "string", multiple: true },
        label: { type: "string", multiple: true },
        "from-hub-key": { type: "string" },
        "to-hub-key": { type: "string" },
        follow: { type: "boolean" },
        "poll-ms": { type: "string", default: "500" },
        "max-items": { type: "string", default: "100000" },
        "timeout-ms": { type: "string", default: "10000" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
    if (f.help) {
      console.log(HELP);
      return EXIT.OK;
    }
    if (!f.from || !f.to) throw new Error("--from and --to are required");
    if ((f.stream?.length ?? 0) + (f.label?.length ?? 0) === 0) {
      throw new Error("give at least one --stream or --label");
    }
    pollMs = parseUint(f["poll-ms"], "--poll-ms", { min: 1, max: MAX_TIMER_MS });
    maxItems = parseUint(f["max-items"], "--max-items", { min: 1 });
    timeoutMs = parseUint(f["timeout-ms"], "--timeout-ms", { min: 1, max: 3_600_000 });
  } catch (e) {
    console.error(`E.USAGE: ${(e as { detail?: string }).detail ?? (e as Error).message}\n${HELP}`);
    return EXIT.USAGE;
  }
  try {
    const labels = [
      ...(f.stream ?? []).map((s) => labelFor(streamIdFor(s))),
      ...(f.label ?? []).map((l) => fromHex(l, 32, "--label")),
    ];
    const a = new HubHttp(f.from, timeoutMs);
    const b = new HubHttp(f.to, timeoutMs);
    const [ia, ib] = [await a.info(), await b.info()];
    for (const [flag, info] of [["from-hub-key", ia], ["to-hub-key", ib]] as const) {
      const want = f[flag];
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
        if (f.json) console.log(JSON.stringify({ ok: true, ...r }));
        else if (r.copied + r.skipped > 0 || !f.follow) {
          console.log(
            `label ${r.label.slice(0, 16)}…: copied ${r.copied}, skipped ${r.skipped}, size ${r.size}`,
          );
        }
      }
      if (!f.follow) return EXIT.OK;
      if (copied === 0) await new Promise((res) => setTimeout(res, pollMs));
    }
  } catch (e) {
    const d = describeFailure(e);
    if (f.json) console.log(JSON.stringify({ ok: false, code: d.code, detail: d.detail, ...d.report?.json }));
    else console.error(`${d.code}: ${d.detail}`);
    return exitCodeOf(e);
  }
}
