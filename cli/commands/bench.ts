/**
 * `veen bench send --count N` (CORE-GOALS 1.4): a bounded client-side load generator. Sends N messages through the
 * batching sender (cli/batch_sender.ts, as `send --batch`: several /submit_batch requests in flight, every RECEIPT
 * verified), or with `--single` one after another through /submit, with a progress bar on a terminal. State is
 * saved whenever the accepted client_seq advances (batches) or every 64 messages (single), and at the end.
 */
import { EXIT, type PayloadHdr, toHex } from "../../core/mod.ts";
import { type BatchBody, BatchSender, offersBatch } from "../batch_sender.ts";
import { encodeBody } from "../body.ts";
import type { ClientKeys } from "../keystore.ts";
import { parseJsonFlag } from "../body.ts";
import { checkedViewOf, withStateLock, writeState } from "../client_state.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  type OpenLabel,
  openLabel,
  PASSPHRASE_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { sendMessage } from "../sender.ts";
import { hdrFromFlags } from "./send.ts";
import { percentile, timedSend } from "./send_batch.ts";

const SAVE_EVERY = 64;

export const benchSend: Command = {
  path: ["bench", "send"],
  summary: "send N messages and report throughput and latency",
  usage:
    "veen bench send --hub H --client DIR --stream NAME --count N [--body JSON] [--single | --batch-items N --in-flight N]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    STREAM_FLAG,
    { name: "count", metavar: "N", required: true, help: "number of messages (1..1000000)" },
    { name: "body", metavar: "JSON", help: 'JSON body (default {"bench":i})' },
    { name: "schema", metavar: "HEX32|NAME", help: "payload_hdr.schema" },
    { name: "single", arity: 0, help: "one POST /submit per message, each waiting for its RECEIPT" },
    { name: "batch-items", metavar: "N", help: "MSGs per /submit_batch request (default: the hub's max)" },
    { name: "in-flight", metavar: "N", help: "/submit_batch requests in flight (default 3)" },
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const count = ctx.flags.int("count", { min: 1, max: 1_000_000 })!;
    const bodyFlag = ctx.flags.str("body");
    const fixedBody = bodyFlag === undefined ? undefined : parseJsonFlag(bodyFlag, "--body");
    const hdr = hdrFromFlags(ctx);
    const keys = await loadKeys(ctx, dir);
    return await withStateLock(dir, async () => {
      const stream = ctx.flags.req("stream");
      const { state, session, target, ls } = await openLabel(ctx, dir, stream, keys.client.public);
      // A hub without /submit_batch (an older one) is measured one MSG at a time.
      if (!ctx.flags.bool("single") && offersBatch(session)) {
        return await benchBatched(ctx, { dir, state, session, target, ls, keys }, count, hdr, fixedBody);
      }
      let view = checkedViewOf(ls);
      const lat: number[] = [];
      const t0 = performance.now();
      let firstSeq = 0;
      try {
        for (let i = 0; i < count; i++) {
          const t = performance.now();
          const res = await sendMessage(session, target, keys, ls, view, {
            recipientPk: keys.prekey.public,
            hdr,
            body: fixedBody ?? { bench: i },
          });
          lat.push(performance.now() - t);
          view = res.view;
          if (i === 0) firstSeq = res.receipt.streamSeq;
          if ((i + 1) % SAVE_EVERY === 0) await writeState(dir, state);
          ctx.out.progress(i + 1, count, "sent");
        }
      } finally {
        ctx.out.clearProgress();
        await writeState(dir, state);
      }
      const ms = performance.now() - t0;
      lat.sort((a, b) => a - b);
      const r = (x: number) => Math.round(x * 100) / 100;
      const json = {
        stream: target.stream,
        label: toHex(target.label),
        count,
        first_stream_seq: firstSeq,
        last_stream_seq: view.size,
        elapsed_ms: r(ms),
        msgs_per_sec: r(count / (ms / 1000)),
        latency_ms: {
          p50: r(percentile(lat, 50)),
          p90: r(percentile(lat, 90)),
          p99: r(percentile(lat, 99)),
          max: r(lat[lat.length - 1] ?? 0),
        },
      };
      ctx.out.result(json, [
        `sent: ${count}`,
        `last_stream_seq: ${view.size}`,
        `elapsed_ms: ${json.elapsed_ms}`,
        `msgs_per_sec: ${json.msgs_per_sec}`,
        `latency_ms: p50 ${json.latency_ms.p50} p90 ${json.latency_ms.p90} p99 ${json.latency_ms.p99} max ${json.latency_ms.max}`,
      ]);
      return 0;
    });
  },
};

/** `bench send` through the batching sender: throughput and time per /submit_batch request. */
async function benchBatched(
  ctx: CommandContext,
  { dir, state, session, target, ls, keys }: OpenLabel & { dir: string; keys: ClientKeys },
  count: number,
  hdr: PayloadHdr,
  fixedBody: unknown,
): Promise<number> {
  const batchItems = ctx.flags.int("batch-items", { min: 1, max: 8192 });
  const inFlight = ctx.flags.int("in-flight", { min: 1, max: 64 });
  const fixed = fixedBody === undefined ? undefined : encodeBody(fixedBody);
  function* bodies(): Iterable<BatchBody> {
    for (let i = 0; i < count; i++) yield { hdr, body: fixed ?? encodeBody({ bench: i }) };
  }
  const sender = new BatchSender(session, target, keys, ls, checkedViewOf(ls), {
    recipientPk: keys.prekey.public,
    ...(batchItems === undefined ? {} : { batchItems }),
    ...(inFlight === undefined ? {} : { inFlight }),
    onProgress: (n) => ctx.out.progress(n, count, "sent"),
    onStateAdvanced: () => writeState(dir, state),
  });
  const { sum, ms, lat } = await timedSend(ctx, sender, bodies(), () => writeState(dir, state));
  const r = (x: number) => Math.round(x * 100) / 100;
  const json = {
    stream: target.stream,
    label: toHex(target.label),
    count,
    accepted: sum.accepted,
    refused: sum.refused.length,
    first_stream_seq: sum.firstStreamSeq,
    last_stream_seq: sum.lastStreamSeq,
    requests: sum.requests,
    resyncs: sum.resyncs,
    elapsed_ms: r(ms),
    msgs_per_sec: r(sum.accepted / (ms / 1000)),
    request_latency_ms: {
      p50: r(percentile(lat, 50)),
      p90: r(percentile(lat, 90)),
      p99: r(percentile(lat, 99)),
      max: r(lat[lat.length - 1] ?? 0),
    },
  };
  const l = json.request_latency_ms;
  ctx.out.result(json, [
    `sent: ${sum.accepted}`,
    `last_stream_seq: ${sum.lastStreamSeq ?? "-"}`,
    `requests: ${sum.requests} (resyncs ${sum.resyncs})`,
    `elapsed_ms: ${json.elapsed_ms}`,
    `msgs_per_sec: ${json.msgs_per_sec}`,
    `request_latency_ms: p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} max ${l.max}`,
  ]);
  return sum.refused.length > 0 ? EXIT.CHECK : EXIT.OK;
}
