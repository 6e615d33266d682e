import assert from "node:assert/strict";
import { VeenError } from "../core/mod.ts";
import { BodyLimits, type BodyLimitsConfig } from "./body_limits.ts";
import { ClientGoneError } from "./http.ts";
import { Metrics } from "./metrics.ts";

const CFG: BodyLimitsConfig = {
  idleTimeoutMs: 1000,
  totalTimeoutMs: 5000,
  maxReads: 4,
  maxReadsPerPeer: 2,
  maxBufferBytes: 1 << 20,
};

/** A POST whose body the test feeds by hand. */
function pending(declared?: number) {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
  const headers: Record<string, string> = declared === undefined
    ? {}
    : { "content-length": String(declared) };
  return { req: new Request("http://h/submit", { method: "POST", body, headers }), ctl };
}

function limits(cfg: Partial<BodyLimitsConfig> = {}) {
  const clock = { t: 0 };
  const metrics = new Metrics();
  return { b: new BodyLimits({ ...CFG, ...cfg }, metrics, () => clock.t), clock, metrics };
}

const busy = (re: RegExp) => (e: unknown) =>
  e instanceof VeenError && e.code === "E.UNAVAILABLE" && e.retryAfter === 1 && re.test(e.detail);

Deno.test("BodyLimits: reads beyond the per-peer and total bounds are refused unread with 503 E.UNAVAILABLE", async () => {
  const { b, metrics } = limits();
  const open = [pending(10), pending(10), pending(10), pending(10)];
  const reads = [
    b.read(open[0]!.req, 100, "10.0.0.1"),
    b.read(open[1]!.req, 100, "10.0.0.1"),
  ];
  const third = pending(10);
  await assert.rejects(b.read(third.req, 100, "10.0.0.1"), busy(/2 request bodies from 10\.0\.0\.1/));
  assert.equal(third.req.bodyUsed, false, "the refused body is not read");
  reads.push(b.read(open[2]!.req, 100, "10.0.0.2"), b.read(open[3]!.req, 100, "10.0.0.3"));
  await assert.rejects(b.read(pending(10).req, 100, "10.0.0.4"), busy(/4 request bodies are being read/));
  assert.equal(b.active, 4);
  assert.equal(metrics.bodyBusy, 2);
  open.forEach((p, i) => {
    p.ctl.enqueue(new Uint8Array(10).fill(i));
    p.ctl.close();
  });
  assert.deepEqual((await Promise.all(reads)).map((x) => x[0]), [0, 1, 2, 3]);
  assert.equal(b.active, 0);
  // Slots are free again.
  const again = pending(1);
  const r = b.read(again.req, 100, "10.0.0.1");
  again.ctl.enqueue(new Uint8Array([7]));
  again.ctl.close();
  assert.deepEqual(await r, new Uint8Array([7]));
  b.close();
});

Deno.test("BodyLimits: reads reserve min(declared, cap); beyond max_body_buffer_bytes the next is refused", async () => {
  const { b } = limits({ maxBufferBytes: 1000, maxReadsPerPeer: 10 });
  const big = pending(900);
  const r = b.read(big.req, 5000, "a");
  await assert.rejects(b.read(pending(200).req, 5000, "b"), busy(/reserve 900 of 1000 bytes/));
  // No content-length: reserves the whole cap.
  await assert.rejects(b.read(pending().req, 5000, "c"), busy(/reserve 900 of 1000 bytes/));
  const small = pending(100);
  const rs = b.read(small.req, 5000, "d");
  small.ctl.enqueue(new Uint8Array(100));
  small.ctl.close();
  big.ctl.enqueue(new Uint8Array(900));
  big.ctl.close();
  assert.equal((await r).length, 900);
  assert.equal((await rs).length, 100);
  // A single read may reserve more than the budget (max_msg_bytes above it must still work).
  const alone = pending(3000);
  const ra = b.read(alone.req, 5000, "e");
  alone.ctl.enqueue(new Uint8Array(3000));
  alone.ctl.close();
  assert.equal((await ra).length, 3000);
  b.close();
});

Deno.test("BodyLimits: a read idle for idleTimeoutMs, or running beyond totalTimeoutMs, is abandoned with E.UNAVAILABLE", async () => {
  const { b, clock, metrics } = limits();
  const idle = pending(100);
  const slow = pending(100);
  // Rejections are caught as they happen, checked after the clock has run.
  const ri = b.read(idle.req, 100, "a").then(() => undefined, (e) => e);
  const rs = b.read(slow.req, 100, "b").then(() => undefined, (e) => e);
  idle.ctl.enqueue(new Uint8Array(3));
  for (let t = 250; t <= 5000; t += 250) {
    clock.t = t;
    slow.ctl.enqueue(new Uint8Array(1)); // a byte per sweep: never idle
    await Promise.resolve();
    b.sweep();
  }
  // Idle is measured from the first sweep that saw the last bytes (t = 250).
  const ei = await ri;
  assert.ok(
    ei instanceof VeenError && /after 3 bytes: no body bytes for 1000 ms/.test(ei.detail),
    String(ei),
  );
  const es = await rs;
  assert.ok(es instanceof VeenError && es.code === "E.UNAVAILABLE", String(es));
  assert.match(es.detail, /not complete within 5000 ms/);
  assert.equal(metrics.bodyTimeouts, 2);
  assert.equal(b.active, 0);
  b.close();
});

Deno.test("BodyLimits: a body stream that fails (the client hung up) is ClientGoneError, not a VeenError", async () => {
  const { b } = limits();
  const p = pending(100);
  const r = b.read(p.req, 100, "a");
  p.ctl.enqueue(new Uint8Array(5));
  p.ctl.error(new Error("connection closed before message completed"));
  await assert.rejects(r, (e) => e instanceof ClientGoneError && /after 5 body bytes/.test(e.message));
  // A body that ends short of its declared length is the same.
  const q = pending(100);
  const rq = b.read(q.req, 100, "a");
  q.ctl.enqueue(new Uint8Array(5));
  q.ctl.close();
  await assert.rejects(rq, (e) => e instanceof ClientGoneError && /5 of 100 body bytes/.test(e.message));
  assert.equal(b.active, 0);
  b.close();
});
