/**
 * Hand-run micro-benchmark (not part of `veen bench` or the tests): does accepting connections and running the
 * bounds and structure stages on more than one thread help (issue 24)? Compares, for 32 keep-alive clients posting
 * pre-signed MSGs (selftest/http1.ts) on this machine:
 *
 * - `inline`: one `Deno.serve` on the main thread reads the body, decodes the MSG and checks I1, then answers after
 *   one hand-off to the "sequencer" (a resolved promise), as the hub's main thread does;
 * - `workers N`: N worker threads, each a `Deno.serve` with `reusePort` on the same port, do the same reading and
 *   structure checks and post each MSG to the main thread (the sequencer stays single-threaded), answering when
 *   the main thread replies.
 *
 * Signatures and the commit are left out: they cost the same in both designs (the crypto worker and the log).
 * Prints requests/s and the process CPU per request.
 *
 * `deno run -A --config deno.json selftest/listeners_bench.ts inline|workers [N] [requests]`
 */
import { ctHashMatches, decodeMsg } from "../core/mod.ts";
import { Http1Conn } from "./http1.ts";
import { presign } from "./load.ts";
import { readThreadCpu, totalPerOp } from "./thread_cpu.ts";

const CLIENTS = 32;

/** Stage 1-2 work of the hub's front: decode the MSG and check I1. */
function structure(body: Uint8Array): Uint8Array {
  const m = decodeMsg(body);
  if (!ctHashMatches(m)) throw new Error("I1");
  return m.label;
}

/** The worker side: a reusePort listener that hands each decoded MSG to the main thread. */
function workerMain(port: number): void {
  const waiting = new Map<number, (ok: boolean) => void>();
  let next = 0;
  self.onmessage = (e: MessageEvent<{ id: number; ok: boolean }>) => {
    waiting.get(e.data.id)?.(e.data.ok);
    waiting.delete(e.data.id);
  };
  Deno.serve({ port, hostname: "127.0.0.1", reusePort: true, onListen() {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    const label = structure(body);
    const id = next++;
    const ok = await new Promise<boolean>((r) => {
      waiting.set(id, r);
      self.postMessage({ id, label });
    });
    return new Response(ok ? "ok" : "no");
  });
  self.postMessage({ ready: true });
}

async function drive(url: string, count: number): Promise<{ perSec: number; usPerReq: number }> {
  const o = { url, clients: CLIENTS, labels: 4, count, maxSeconds: 120 };
  const msgs = presign(o);
  const conns = await Promise.all(msgs.map(() => Http1Conn.open(url)));
  const before = readThreadCpu(Deno.pid);
  const t0 = performance.now();
  await Promise.all(msgs.map(async (list, c) => {
    for (const m of list) {
      const r = await conns[c]!.post(m);
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    }
  }));
  const s = (performance.now() - t0) / 1000;
  const after = readThreadCpu(Deno.pid);
  for (const c of conns) c.close();
  return { perSec: count / s, usPerReq: before && after ? totalPerOp(before, after, count) : 0 };
}

const workerName = (self as { name?: string }).name;
if (import.meta.main && workerName?.startsWith("listener:")) {
  workerMain(Number(workerName.slice("listener:".length)));
} else if (import.meta.main && Deno.args[0] === "client") {
  // The load generator, in a child process so that its CPU is not the server's.
  console.log(JSON.stringify(await drive(`http://127.0.0.1:${Deno.args[1]}`, Number(Deno.args[2]))));
  Deno.exit(0);
} else if (import.meta.main) {
  const mode = Deno.args[0] ?? "inline";
  const n = mode === "workers" ? Number(Deno.args[1] ?? 2) : 1;
  const count = Number(Deno.args[mode === "workers" ? 2 : 1] ?? 20000);
  const port = 39_000 + Math.floor(Math.random() * 1000);
  if (mode === "inline") {
    Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (req) => {
      structure(new Uint8Array(await req.arrayBuffer()));
      await Promise.resolve();
      return new Response("ok");
    });
  } else {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL("./listeners_bench.ts", import.meta.url), {
        type: "module",
        name: `listener:${port}`,
      });
      ready.push(
        new Promise((r) => {
          w.onmessage = (e: MessageEvent<{ ready?: true; id: number }>) => {
            if (e.data.ready) return r();
            w.postMessage({ id: e.data.id, ok: true }); // the single-threaded sequencer's answer
          };
        }),
      );
    }
    await Promise.all(ready);
  }
  const before = readThreadCpu(Deno.pid);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      "deno.json",
      new URL(import.meta.url).pathname,
      "client",
      String(port),
      String(count),
    ],
    stdout: "piped",
  }).output();
  const after = readThreadCpu(Deno.pid);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim()) as { perSec: number; usPerReq: number };
  console.log(
    `${mode}${mode === "workers" ? ` ${n}` : ""}: ${Math.round(r.perSec)} requests/s, server CPU ${
      before && after ? totalPerOp(before, after, count) : "?"
    } µs per request, client CPU ${r.usPerReq} µs per request`,
  );
  Deno.exit(0);
}
