/** Helpers of the storage tests (hub/segment_*_test.ts, hub/record_file_test.ts, ...): temp dirs and log entries. */
import { prng } from "./util.ts";
import type { LogPosition } from "../hub/segment_index.ts";
import { type AppendEntry, type LogRecord, SegmentLog } from "../hub/segment_log.ts";

/** Runs `fn` in a fresh temporary directory, removed afterwards. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-log-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `n` log entries over `labels` labels, seq per label continuing `startSeq`. */
export function entries(
  seed: number,
  n: number,
  labels = 2,
  startSeq = new Map<number, number>(),
): AppendEntry[] {
  const r = prng(seed);
  const out: AppendEntry[] = [];
  for (let i = 0; i < n; i++) {
    const li = i % labels;
    const seq = (startSeq.get(li) ?? 0) + 1;
    startSeq.set(li, seq);
    out.push({
      label: new Uint8Array(32).fill(li + 1),
      streamSeq: seq,
      leafHash: r.bytes(32),
      clientId: r.bytes(32),
      clientSeq: seq,
      authRef: i % 3 === 0 ? null : r.bytes(32),
      hubTs: 1_700_000_000 + i,
      receipt: r.bytes(100 + r.int(50)),
      msg: r.bytes(200 + r.int(600)),
    });
  }
  return out;
}

/** Replays the whole log from `from` in chunks of 7. */
export async function replayAll(log: SegmentLog, from: LogPosition): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const c of log.replay(from, { chunkSize: 7 })) out.push(...c);
  return out;
}

/** Opens the log in `dir` and replays it from its start. */
export async function openFresh(dir: string, segmentBytes = 1 << 20, repairs: string[] = []) {
  const log = await SegmentLog.open(dir, { segmentBytes, onRepair: (w) => repairs.push(w) });
  const recs = await replayAll(log, await log.start());
  return { log, recs };
}
