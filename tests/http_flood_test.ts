/**
 * Unauthenticated floods against a real hub subprocess on loopback (issue 17): bodies declared large but never
 * sent, bodies trickled or stalled, headers trickled, clients that hang up mid-body. The hub's resident memory must
 * stay bounded, /healthz must keep answering, and every stalled body must get its 503 E.UNAVAILABLE after the
 * (test-short) body timeouts. Counts are bounded; every wait is on an event, with a deadline only as a failure guard.
 */
import assert from "node:assert/strict";
import { decodeErrorBody } from "../core/mod.ts";
import { selfCommand, STATE_FILE } from "../hub/mod.ts";
import { submit, Writer } from "./fixture.ts";
import { fileAppears, within } from "./util.ts";

const enc = new TextEncoder();
const MiB = 1024 * 1024;

interface HubProc {
  child: Deno.ChildProcess;
  url: string;
  port: number;
  dir: string;
  /** Resolves when the hub's log has `n` lines matching `re`. */
  logged(re: RegExp, n: number): Promise<void>;
  /** The hub's log so far. */
  log(): string;
}

/**
 * Starts `veen hub start --foreground` (under `ulimit -n fdLimit` if given) and resolves with its URL when it
 * logs "hub listening".
 */
async function startHubProc(env: Record<string, string>, fdLimit?: number): Promise<HubProc> {
  const dir = await Deno.makeTempDir({ prefix: "veen-flood-" });
  const self = selfCommand();
  const hubArgs = [...self.args, ..."hub start --foreground --listen 127.0.0.1:0 --data-dir".split(" "), dir];
  const [cmd, args] = fdLimit === undefined
    ? [self.cmd, hubArgs]
    : ["bash", ["-c", `ulimit -n ${fdLimit} && exec "$@"`, "bash", self.cmd, ...hubArgs]];
  const child = new Deno.Command(cmd, {
    args,
    env: { VEEN_LOG_LEVEL: "info", VEEN_CRYPTO_WORKERS: "0", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  let ended = false;
  let wake = () => {};
  const drained = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      log += chunk;
      wake();
    }
  })().finally(() => (ended = true));
  /** Each new stderr chunk (or its end) wakes the waiter to count again. */
  const logged = async (re: RegExp, n: number) => {
    const count = () => log.split("\n").filter((l) => re.test(l)).length;
    while (count() < n && !ended) await Promise.race([new Promise<void>((r) => (wake = r)), drained]);
    if (count() < n) throw new Error(`hub log has fewer than ${n} lines matching ${re}:\n${log}`);
  };
  await logged(/"msg":"hub listening"/, 1);
  const m = /"msg":"hub listening".*?"url":"(http:\/\/127\.0\.0\.1:(\d+))"/.exec(log)!;
  return { child, url: m[1]!, port: Number(m[2]), dir, logged, log: () => log };
}

async function stopHubProc(h: HubProc): Promise<void> {
  try {
    h.child.kill("SIGTERM");
  } catch { /* exited */ }
  await h.child.status;
  await Deno.remove(h.dir, { recursive: true });
}

/** Resident memory of a process in MiB: now (VmRSS) or its peak so far (VmHWM). */
async function rssMiB(pid: number, which: "VmRSS" | "VmHWM" = "VmRSS"): Promise<number> {
  const m = new RegExp(`${which}:\\s+(\\d+) kB`).exec(await Deno.readTextFile(`/proc/${pid}/status`));
  return Number(m![1]) / 1024;
}

/** /healthz round trip in ms. */
async function healthzMs(url: string): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${url}/healthz`);
  assert.equal(r.status, 200);
  await r.body?.cancel();
  return performance.now() - t0;
}

/** Opens a raw connection and sends `head` (and `body` if given). */
async function raw(port: number, head: string, body?: Uint8Array): Promise<Deno.TcpConn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(enc.encode(head));
  if (body !== undefined) await c.write(body);
  return c;
}

const postHead = (path: string, declared: number) =>
  `POST ${path} HTTP/1.1\r\nhost: h\r\ncontent-type: application/cbor\r\ncontent-length: ${declared}\r\n\r\n`;

/** Reads one response (content-length framed); null when the hub closes the connection first. */
async function readResponse(c: Deno.TcpConn): Promise<{ status: number; body: Uint8Array } | null> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  for (;;) {
    const text = new TextDecoder().decode(buf);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1] ?? "0");
      if (buf.length >= end + 4 + len) {
        return { status: Number(text.slice(9, 12)), body: buf.slice(end + 4, end + 4 + len) };
      }
    }
    const n = await c.read(chunk).catch(() => null);
    if (n === null) return null;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
  }
}

function closeAll(conns: Deno.TcpConn[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed */ }
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

const FLOOD_ENV = {
  VEEN_BODY_IDLE_TIMEOUT_MS: "800",
  VEEN_BODY_TIMEOUT_MS: "1500",
  VEEN_MAX_BODY_READS: "64",
  VEEN_MAX_BODY_READS_PER_PEER: "32",
};

Deno.test("declared-length and slow-header floods: memory grows with bytes received, /healthz answers, every body gets 503", async () => {
  const hub = await startHubProc(FLOOD_ENV);
  const conns: Deno.TcpConn[] = [];
  try {
    await healthzMs(hub.url);
    const rss0 = await rssMiB(hub.child.pid);
    // 300 connections that trickle their headers and never finish them.
    const slowHeaders = await Promise.all(
      Array.from({ length: 300 }, () => raw(hub.port, "GET /healthz HTTP/1.1\r\nx-slow: a")),
    );
    conns.push(...slowHeaders);
    // 100 bodies declared 1 MiB on /submit and 100 declared 8 MiB on /attachments; 16 bytes of each are sent.
    const declared = await Promise.all([
      ...Array.from({ length: 100 }, () => raw(hub.port, postHead("/submit", MiB), new Uint8Array(16))),
      ...Array.from(
        { length: 100 },
        () => raw(hub.port, postHead("/attachments", 8 * MiB), new Uint8Array(16)),
      ),
    ]);
    conns.push(...declared);
    for (const c of slowHeaders) await c.write(enc.encode("b"));
    const latency = await healthzMs(hub.url);
    assert.ok(latency < 1000, `/healthz took ${latency} ms during the flood`);
    // Every declared body is answered: unread beyond the bounds at once, the others after the idle timeout.
    const answers = await within(Promise.all(declared.map(readResponse)), 10_000, "a 503 for every body")
      .catch((e: Error) => e);
    // Peak memory over the whole flood. Before the fix each declared body was allocated: 100 MiB + 800 MiB.
    const peak = await rssMiB(hub.child.pid, "VmHWM");
    assert.ok(
      peak - rss0 < 100,
      `resident memory peaked ${Math.round(peak - rss0)} MiB above ${Math.round(rss0)}`,
    );
    if (answers instanceof Error) throw answers;
    const details = answers.map((a) => {
      assert.ok(a !== null, "the hub answers before closing");
      assert.equal(a.status, 503);
      const e = decodeErrorBody(a.body)!;
      assert.equal(e.code, "E.UNAVAILABLE");
      assert.equal(e.retryAfter, 1);
      return e.detail;
    });
    const busy = details.filter((d) => /Hub is busy: 32 request bodies from 127\.0\.0\.1/.test(d)).length;
    const stalled = details.filter((d) =>
      /abandoned after 16 bytes: no body bytes for 800 ms/.test(d)
    ).length;
    assert.equal(busy + stalled, 200, details.join("\n"));
    assert.ok(busy > 0 && stalled > 0, `busy ${busy}, stalled ${stalled}`);
    assert.equal(await metric(hub.url, "veen_http_body_busy_total"), busy);
    assert.equal(await metric(hub.url, "veen_http_body_timeout_total"), stalled);
    assert.ok(await healthzMs(hub.url) < 1000);
    closeAll(conns);
    // The hub still serves a real submit.
    const r = await submit(hub.url, new Writer("t/flood").msg());
    assert.equal(r.status, 200);
  } finally {
    closeAll(conns);
    await stopHubProc(hub);
  }
});

Deno.test("slow bodies: one that stalls is abandoned after the idle timeout, one that trickles after the total timeout", async () => {
  const hub = await startHubProc(FLOOD_ENV);
  const conns: Deno.TcpConn[] = [];
  let trickling = true;
  try {
    const t0 = performance.now();
    const stalled = await raw(hub.port, postHead("/submit", 1000), new Uint8Array(10));
    const trickle = await raw(hub.port, postHead("/attachments", 100_000), new Uint8Array(1));
    conns.push(stalled, trickle);
    // One byte each time the previous write is done and 100 ms passed: never idle for 800 ms.
    const feeder = (async () => {
      while (trickling) {
        await new Promise((r) => setTimeout(r, 100));
        await trickle.write(new Uint8Array(1)).catch(() => (trickling = false));
      }
    })();
    const a = await within(readResponse(stalled), 5000, "the stalled body's 503");
    assert.equal(a?.status, 503);
    assert.match(decodeErrorBody(a!.body)!.detail, /abandoned after 10 bytes: no body bytes for 800 ms/);
    const b = await within(readResponse(trickle), 5000, "the trickled body's 503");
    const tb = performance.now() - t0;
    trickling = false;
    await feeder;
    assert.equal(b?.status, 503);
    assert.match(decodeErrorBody(b!.body)!.detail, /body not complete within 1500 ms/);
    assert.ok(tb >= 1500, `abandoned after ${tb} ms`);
    assert.ok(await healthzMs(hub.url) < 1000);
  } finally {
    trickling = false;
    closeAll(conns);
    await stopHubProc(hub);
  }
});

Deno.test("a client that hangs up mid-body is counted apart, never as E.UNAVAILABLE", async () => {
  const hub = await startHubProc({ ...FLOOD_ENV, VEEN_LOG_LEVEL: "debug" });
  try {
    for (let i = 0; i < 3; i++) {
      const c = await raw(hub.port, postHead("/submit", 5000), new Uint8Array(100));
      // The hub has the headers and is waiting for the rest of the body when /healthz has answered after them.
      await healthzMs(hub.url);
      c.close();
    }
    await within(hub.logged(/"msg":"client went away"/, 3), 5000, "three hang-ups logged");
    assert.equal(await metric(hub.url, "veen_http_client_gone_total"), 3);
    assert.equal(await metric(hub.url, 'veen_submit_err_total{code="E.UNAVAILABLE"}'), 0);
    assert.equal(await metric(hub.url, "veen_http_body_timeout_total"), 0);
  } finally {
    await stopHubProc(hub);
  }
});

Deno.test("connections that exhaust the hub's file descriptors stop it in order with a non-zero exit, not a crash", async () => {
  const hub = await startHubProc(FLOOD_ENV, 256);
  const conns: Deno.TcpConn[] = [];
  try {
    // The hub writes its state file (one more descriptor) after it logs "hub listening": flood only after that.
    await within(fileAppears(`${hub.dir}/${STATE_FILE}`), 10_000, "the hub's state file");
    // Deno.serve never closes a connection whose headers never finish; enough of them use up every descriptor,
    // and accept() failing ends Deno.serve's accept loop for good.
    for (let i = 0; i < 400; i++) {
      try {
        conns.push(await raw(hub.port, "GET /healthz HTTP/1.1\r\nx-slow: a"));
      } catch {
        break; // the listener is gone
      }
    }
    const st = await within(hub.child.status, 10_000, "the hub's exit");
    assert.equal(st.code, 4, `exit 4 so a supervisor restarts it; hub log:\n${hub.log()}`);
    await hub.logged(/"msg":"HTTP listener failed; stopping so a supervisor can restart".*os error 24/, 1);
    await hub.logged(/"msg":"hub stopped"/, 1);
  } finally {
    closeAll(conns);
    await stopHubProc(hub);
  }
});
