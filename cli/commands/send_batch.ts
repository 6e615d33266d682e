/**
 * `veen send --batch FILE` (issue 24): every line of FILE (`-`: stdin) is one JSON body; all go to `--stream`
 * through the batching sender (cli/batch_sender.ts: several /submit_batch requests in flight, every RECEIPT
 * verified, recovery by resync). A progress bar on stderr when it is a terminal; the answer is a summary (JSON with
 * --json). Bodies the hub refused for what they are are listed by line; any makes the exit code 4. State is saved
 * whenever the accepted client_seq advances.
 */
import { EXIT, toHex } from "../../core/mod.ts";
import { usageError } from "../../cmd/mod.ts";
import { encodeBody } from "../body.ts";
import { type BatchBody, BatchSender, type BatchSummary } from "../batch_sender.ts";
import { checkedViewOf, withStateLock, writeState } from "../client_state.ts";
import { clientDir, type CommandContext, loadKeys, openLabel, recipientOf } from "../context.ts";
import { readInputFile } from "../files.ts";
import { hdrFromFlags, readCapAuthRef } from "./send.ts";

/** The `p`th percentile of the ascending samples `sorted`; 0 when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Runs `sender` over `bodies`, clearing the progress bar and saving state (`save`) however it ends; returns its
 * summary, the elapsed ms and the per-request latencies in ascending order.
 */
export async function timedSend(
  ctx: CommandContext,
  sender: BatchSender,
  bodies: Iterable<BatchBody>,
  save: () => Promise<void>,
): Promise<{ sum: BatchSummary; ms: number; lat: number[] }> {
  const t0 = performance.now();
  let sum;
  try {
    sum = await sender.send(bodies);
  } finally {
    ctx.out.clearProgress();
    await save();
  }
  return { sum, ms: performance.now() - t0, lat: [...sum.requestMs].sort((a, b) => a - b) };
}

/** Most lines one `send --batch` reads. */
export const MAX_BATCH_LINES = 1_000_000;

/** The JSON bodies of `text`, one per non-blank line; a line that is not JSON is a usage error naming it. */
export function parseJsonLines(text: string): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === "") continue;
    if (out.length >= MAX_BATCH_LINES) throw usageError(`--batch holds more than ${MAX_BATCH_LINES} bodies`);
    try {
      out.push({ line: i + 1, value: JSON.parse(l) });
    } catch (e) {
      throw usageError(`--batch line ${i + 1} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}

async function readBatchInput(path: string): Promise<string> {
  const bytes = path === "-"
    ? await new Response(Deno.stdin.readable).bytes()
    : await readInputFile(path, "--batch file");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw usageError(`--batch input "${path}" is not UTF-8`);
  }
}

/** `send --batch`: see the module comment. */
export async function sendBatch(ctx: CommandContext, path: string): Promise<number> {
  for (const f of ["body", "attach", "dump-raw", "to"]) {
    if (ctx.flags.bool(f)) throw usageError(`--batch cannot be combined with --${f}`);
  }
  const lines = parseJsonLines(await readBatchInput(path));
  const dir = clientDir(ctx);
  const stream = ctx.flags.req("stream");
  const hdr = hdrFromFlags(ctx);
  const capPath = ctx.flags.str("cap");
  const ref = capPath === undefined ? undefined : await readCapAuthRef(capPath);
  const keys = await loadKeys(ctx, dir);
  const { hpkePk } = await recipientOf(ctx, keys);
  const bodies: BatchBody[] = lines.map((l) => ({
    hdr,
    body: encodeBody(l.value),
    ...(ref === undefined ? {} : { authRef: ref }),
  }));
  return await withStateLock(dir, async () => {
    const { state, session, target, ls } = await openLabel(ctx, dir, stream, keys.client.public);
    const sender = new BatchSender(session, target, keys, ls, checkedViewOf(ls), {
      recipientPk: hpkePk,
      onProgress: (n) => ctx.out.progress(n, bodies.length, "sent"),
      onStateAdvanced: () => writeState(dir, state),
    });
    const { sum, ms, lat } = await timedSend(ctx, sender, bodies, () => writeState(dir, state));
    const r = (x: number) => Math.round(x * 100) / 100;
    const refused = sum.refused.map((x) => ({
      line: lines[x.index]!.line,
      code: x.error.code,
      detail: x.error.detail,
    }));
    const json = {
      stream,
      label: toHex(target.label),
      count: bodies.length,
      accepted: sum.accepted,
      refused,
      first_stream_seq: sum.firstStreamSeq,
      last_stream_seq: sum.lastStreamSeq,
      client_seq: ls.client_seq,
      requests: sum.requests,
      resyncs: sum.resyncs,
      resent: sum.resent,
      resigned: sum.resigned,
      elapsed_ms: r(ms),
      msgs_per_sec: r(sum.accepted / Math.max(ms / 1000, 1e-9)),
      request_ms: {
        p50: r(percentile(lat, 50)),
        p99: r(percentile(lat, 99)),
        max: r(lat[lat.length - 1] ?? 0),
      },
    };
    ctx.out.result(json, [
      `accepted: ${sum.accepted} of ${bodies.length}`,
      `stream_seq: ${sum.firstStreamSeq ?? "-"}..${sum.lastStreamSeq ?? "-"}`,
      `requests: ${sum.requests} (resyncs ${sum.resyncs})`,
      `msgs_per_sec: ${json.msgs_per_sec}`,
      ...refused.map((x) => `refused line ${x.line}: ${x.code} ${x.detail}`),
    ]);
    return refused.length > 0 ? EXIT.CHECK : EXIT.OK;
  });
}
