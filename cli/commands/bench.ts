/**
 * `veen bench send --count N` (CORE-GOALS 1.4): a bounded client-side load generator. Sends N messages one after
 * another (client_seq must arrive in order), verifying every RECEIPT as `send` does, with a progress bar on a
 * terminal. State is saved every 64 messages and at the end (a crash in between is repaired by `veen resync`).
 */
import { toHex } from "../../core/mod.ts";
import { parseJsonFlag } from "../body.ts";
import { checkedViewOf, withStateLock, writeState } from "../client_state.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  openLabel,
  PASSPHRASE_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { sendMessage } from "../sender.ts";
import { hdrFromFlags } from "./send.ts";

const SAVE_EVERY = 64;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const benchSend: Command = {
  path: ["bench", "send"],
  summary: "send N messages and report throughput and latency",
  usage: "veen bench send --hub H --client DIR --stream NAME --count N [--body JSON]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    STREAM_FLAG,
    { name: "count", metavar: "N", required: true, help: "number of messages (1..1000000)" },
    { name: "body", metavar: "JSON", help: 'JSON body (default {"bench":i})' },
    { name: "schema", metavar: "HEX32|NAME", help: "payload_hdr.schema" },
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
