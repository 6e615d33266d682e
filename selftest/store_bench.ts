/**
 * Micro-benchmark of the durable store (not a test):
 *
 *   deno run -A --unstable-kv selftest/store_bench.ts [entries=20000] [batch=64] [dir]
 *
 * Commits `entries` pre-built entries (RECEIPT ~170 B, MSG ~600 B, a fresh client_id per entry: the worst case
 * for the KV index) in batches of `batch` on 1 and on 8 labels, first one commit at a time (as the sequencer does
 * today), then with two commits in flight (the store pipelines the log stage of one batch with the KV stage of the
 * previous). Prints entries/s, commit latency percentiles and the split between encoding, write + fdatasync and
 * the KV atomic; then times the read paths and a reopen.
 */
import { H, inclusionProof, MmrAccumulator, toHex } from "../core/mod.ts";
import { type CommitTiming, openDiskStore } from "../hub/disk_store.ts";
import type { CommitEntry } from "../hub/store.ts";
import { Rng } from "./rng.ts";

function build(labels: number, total: number, batch: number, seed: number, clients: number): CommitEntry[][] {
  const r = new Rng(seed);
  const pool = Array.from({ length: clients }, () => r.bytes(32));
  const clientSeqs = new Map<Uint8Array, number>();
  const ls = Array.from({ length: labels }, (_, i) => H(new Uint8Array([0x62, i])));
  const accs = new Map<string, MmrAccumulator>();
  const batches: CommitEntry[][] = [];
  let cur: CommitEntry[] = [];
  for (let i = 0; i < total; i++) {
    const label = ls[i % labels]!;
    const k = toHex(label);
    let acc = accs.get(k);
    if (acc === undefined) accs.set(k, acc = new MmrAccumulator());
    const leaf = r.bytes(32);
    const a = acc.append(leaf);
    cur.push({
      label,
      streamSeq: a.seq,
      leafHash: leaf,
      clientId: clients === 0 ? r.bytes(32) : pool[i % clients]!,
      clientSeq: 0,
      authRef: r.bytes(32),
      hubTs: 1_700_000_000 + Math.floor(i / 100),
      receipt: r.bytes(170),
      msg: r.bytes(600),
      newNodes: a.newNodes,
      peaks: acc.peaks(),
    });
    const e = cur.at(-1)!;
    e.clientSeq = (clientSeqs.get(e.clientId) ?? 0) + 1;
    clientSeqs.set(e.clientId, e.clientSeq);
    if (cur.length === batch) {
      batches.push(cur);
      cur = [];
    }
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

const pct = (xs: number[], p: number) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function run(
  labels: number,
  total: number,
  batch: number,
  parent: string,
  inflight: number,
  clients = 0,
): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: parent, prefix: "veen-bench-" });
  try {
    const batches = build(labels, total, batch, labels, clients);
    const timings: CommitTiming[] = [];
    const store = await openDiskStore(dir, { onCommitTiming: (t) => timings.push(t) });
    const lat: number[] = [];
    const t0 = performance.now();
    const window: Promise<void>[] = [];
    for (const b of batches) {
      const s = performance.now();
      window.push(store.commit(b).then(() => void lat.push(performance.now() - s)));
      if (window.length >= inflight) await window.shift();
    }
    await Promise.all(window);
    const secs = (performance.now() - t0) / 1000;
    const st = store.stats();
    console.log(
      `commit ${labels} label(s), ${clients === 0 ? "a new client per entry" : `${clients} clients`}, ` +
        `${total} entries, batch ${batch}, ${inflight} in flight: ` +
        `${(total / secs).toFixed(0)} entries/s; ` +
        `latency p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${
          Math.max(...lat).toFixed(2)
        } ms`,
    );
    console.log(
      `  phases (mean ms): encode ${mean(timings.map((t) => t.encodeMs)).toFixed(2)}, write+fdatasync ` +
        `${mean(timings.map((t) => t.durableMs)).toFixed(2)} (p99 ${
          pct(timings.map((t) => t.durableMs), 99).toFixed(2)
        }), ` +
        `KV atomic ${mean(timings.map((t) => t.indexMs)).toFixed(2)} (p99 ${
          pct(timings.map((t) => t.indexMs), 99).toFixed(2)
        }); ` +
        `log ${(st.logBytes / 1e6).toFixed(1)} MB in ${st.segments} segment(s), ${st.kvAtomics} atomics`,
    );

    if (inflight > 1) {
      await store.close();
      return;
    }
    // Read paths.
    const label = batches[0]![0]!.label;
    const head = store.head(label)!;
    const some = batches.flat().filter((e) => e.label === label).slice(-1000);
    let t = performance.now();
    for (const e of some) await store.lastClientSeq(label, e.clientId);
    const warm = (performance.now() - t) * 1000 / some.length;
    t = performance.now();
    for (let i = 0; i < 1000; i++) await store.lastClientSeq(label, H(new Uint8Array([i, i >> 8])));
    const cold = (performance.now() - t) * 1000 / 1000;
    t = performance.now();
    for (let i = 0; i < 1000; i++) await store.accepted(label, H(new Uint8Array([7, i, i >> 8])), i + 1);
    const leafMiss = (performance.now() - t) * 1000 / 1000;
    t = performance.now();
    let pages = 0;
    for (let from = 1; from + 255 <= head.seq && pages < 40; from += 256, pages++) {
      await store.readRange(label, from, from + 255, 256);
    }
    const pageMs = (performance.now() - t) / pages;
    const reader = store.nodeReader(label);
    t = performance.now();
    for (let i = 0; i < 1000; i++) await inclusionProof(reader, 1 + ((i * 7919) % head.seq), head.seq);
    const proofUs = (performance.now() - t) * 1000 / 1000;
    console.log(
      `  reads: lastClientSeq cached ${warm.toFixed(1)} µs, uncached ${cold.toFixed(1)} µs; accepted miss ` +
        `${leafMiss.toFixed(1)} µs; readRange 256 items ${pageMs.toFixed(2)} ms; inclusion proof ${
          proofUs.toFixed(1)
        } µs`,
    );
    await store.close();
    t = performance.now();
    const again = await openDiskStore(dir);
    console.log(
      `  reopen: ${(performance.now() - t).toFixed(1)} ms, ${again.stats().logBytesRead} log bytes read`,
    );
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const total = Number(Deno.args[0] ?? 20_000);
  const batch = Number(Deno.args[1] ?? 64);
  const parent = Deno.args[2] ?? Deno.env.get("TMPDIR") ?? "/tmp";
  console.log(`deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, data under ${parent}`);
  for (const inflight of [1, 2]) {
    await run(1, total, batch, parent, inflight);
    await run(8, total, batch, parent, inflight);
  }
  await run(8, total, batch, parent, 1, 256);
  await run(8, total, batch, parent, 2, 256);
}
