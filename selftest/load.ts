/**
 * A bounded loopback load generator for the hub: pre-signed MSGs (signing is not timed), N concurrent clients on
 * M labels, fixed count and a hard time cap, one MSG per `/submit` or batches through `/submit_batch`. Used by
 * `veen bench` and by tests with small counts.
 */
import { Http1Conn } from "./http1.ts";
import {
  concat,
  decodeErrorBody,
  DEFAULT_PROFILE_ID,
  encodeMsg,
  H,
  labelFor,
  signingKeyFromSeed,
  signMsg,
  splitCborSeq,
  streamIdFor,
  u32be,
} from "../core/mod.ts";

export interface LoadOptions {
  url: string;
  clients: number;
  labels: number;
  count: number;
  maxSeconds: number;
  /** Ciphertext size before framing (the default profile pads to 256). */
  ciphertextBytes?: number;
  streamPrefix?: string;
}

export interface LoadResult {
  ok: number;
  errors: Record<string, number>;
  seconds: number;
  perSec: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Builds `count` signed MSGs spread over `clients` writers, each writer on one of `labels` labels. */
export function presign(o: LoadOptions): Uint8Array[][] {
  const perClient = Math.ceil(o.count / o.clients);
  const ctLen = o.ciphertextBytes ?? 256;
  const out: Uint8Array[][] = [];
  const runTag = crypto.getRandomValues(new Uint8Array(8));
  for (let c = 0; c < o.clients; c++) {
    const seed = H(runTag, u32be(c));
    const key = signingKeyFromSeed(seed);
    const label = labelFor(streamIdFor(`${o.streamPrefix ?? "bench"}/${c % o.labels}`));
    const msgs: Uint8Array[] = [];
    for (let i = 1; i <= perClient; i++) {
      const body = new Uint8Array(Math.max(0, ctLen - 40 - 17));
      crypto.getRandomValues(body.subarray(0, Math.min(body.length, 16)));
      const ciphertext = concat(
        new Uint8Array(32).fill(c % 256),
        u32be(17),
        u32be(body.length),
        new Uint8Array(17),
        body,
      );
      msgs.push(encodeMsg(signMsg({
        ver: 1,
        profileId: DEFAULT_PROFILE_ID,
        label,
        clientId: key.public,
        clientSeq: i,
        prevAck: 0,
        authRef: null,
        ctHash: H(ciphertext),
        ciphertext,
      }, key.secret)));
    }
    out.push(msgs);
  }
  let total = 0;
  for (const m of out) {
    const take = Math.max(0, Math.min(m.length, o.count - total));
    m.length = take;
    total += take;
  }
  return out;
}

/** The `p`th percentile of the ascending samples `sorted`; 0 when there are none. */
export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Runs the pre-signed load; each client has its own keep-alive connection and submits its messages in order, one
 * in flight per client.
 */
export async function runLoad(o: LoadOptions, msgs: Uint8Array[][]): Promise<LoadResult> {
  const lat: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  const deadline = performance.now() + o.maxSeconds * 1000;
  const conns = await Promise.all(msgs.map(() => Http1Conn.open(o.url)));
  const t0 = performance.now();
  await Promise.all(msgs.map(async (list, c) => {
    const conn = conns[c]!;
    for (const body of list) {
      if (performance.now() > deadline) return;
      const s = performance.now();
      try {
        const r = await conn.post(body);
        if (r.status === 200) {
          ok++;
          lat.push(performance.now() - s);
        } else {
          errors[String(r.status)] = (errors[String(r.status)] ?? 0) + 1;
        }
      } catch (e) {
        const k = e instanceof Error ? e.name : "error";
        errors[k] = (errors[k] ?? 0) + 1;
        return;
      }
    }
  }));
  for (const c of conns) c.close();
  return loadResult(ok, errors, t0, lat);
}

/** The figures of a run that started at `t0` with `lat` the latency samples. */
function loadResult(ok: number, errors: Record<string, number>, t0: number, lat: number[]): LoadResult {
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    ok,
    errors,
    seconds,
    perSec: ok / seconds,
    p50: pct(lat, 50),
    p95: pct(lat, 95),
    p99: pct(lat, 99),
    max: lat[lat.length - 1] ?? 0,
  };
}

export interface BatchLoadOptions {
  /** MSGs per /submit_batch request. */
  items: number;
  /** Requests in flight per client (each on its own connection). */
  inFlight: number;
}

/** One client's progress: which of its MSGs have a RECEIPT (or E.DUP), and where sending resumes. */
interface BatchClient {
  list: Uint8Array[];
  done: boolean[];
  next: number;
  trouble: boolean;
}

/**
 * Runs the pre-signed load through `/submit_batch`: each client sends its MSGs in order in requests of `items`,
 * `inFlight` requests at once on as many keep-alive connections. A request overtaken by the next one, or any other
 * refusal, stops the client's new requests until its requests in flight are answered; it then sends again from its
 * first MSG without a RECEIPT (an already accepted one answers E.DUP, counted as done). `ok` counts RECEIPTs;
 * latencies are per request (time to the last RECEIPT of the batch).
 */
export async function runBatchLoad(
  o: LoadOptions,
  msgs: Uint8Array[][],
  b: BatchLoadOptions,
): Promise<LoadResult & { requests: number; resends: number }> {
  const lat: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  let requests = 0;
  let resends = 0;
  const deadline = performance.now() + o.maxSeconds * 1000;
  const conns = await Promise.all(
    msgs.map(() =>
      Promise.all(
        Array.from(
          { length: b.inFlight },
          () => Http1Conn.open(o.url, "/submit_batch", "application/cbor-seq"),
        ),
      )
    ),
  );
  const count = (k: string) => (errors[k] = (errors[k] ?? 0) + 1);
  const t0 = performance.now();
  await Promise.all(msgs.map(async (list, c) => {
    const st: BatchClient = { list, done: list.map(() => false), next: 0, trouble: false };
    const lane = async (conn: Http1Conn) => {
      for (;;) {
        if (performance.now() > deadline || st.trouble || st.next >= list.length) return;
        const from = st.next;
        const to = Math.min(list.length, from + b.items);
        st.next = to;
        const s = performance.now();
        requests++;
        const r = await conn.post(concat(...list.slice(from, to)));
        if (r.status !== 200) {
          count(String(r.status));
          st.trouble = true;
          continue;
        }
        const answers = splitCborSeq(r.body, to - from);
        answers.forEach((a, k) => {
          if (a[0] === 0x87) {
            ok++;
            st.done[from + k] = true;
            return;
          }
          const code = decodeErrorBody(a)?.code ?? "?";
          if (code === "E.DUP") st.done[from + k] = true;
          else {
            count(code);
            st.trouble = true;
          }
        });
        lat.push(performance.now() - s);
      }
    };
    const lanes = conns[c]!;
    for (;;) {
      try {
        await Promise.all(lanes.map(lane));
      } catch (e) {
        count(e instanceof Error ? e.name : "error");
        return;
      }
      if (!st.trouble || performance.now() > deadline) return;
      st.trouble = false;
      const first = st.done.indexOf(false);
      if (first < 0) return;
      resends += st.next - first;
      st.next = first;
    }
  }));
  for (const cs of conns) for (const c of cs) c.close();
  return { ...loadResult(ok, errors, t0, lat), requests, resends };
}
