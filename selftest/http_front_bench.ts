/**
 * Hand-run micro-benchmark (not part of `veen bench` or the tests): requests/s of `Deno.serve` against a minimal
 * HTTP/1.1 server on `Deno.listen`, both echoing 64 bytes of a 1 KiB POST to 32 keep-alive clients
 * (selftest/http1.ts) on this machine. It measures what owning the HTTP/1.1 front end would cost or save, the way
 * to header-read timeouts (Deno.serve has none) and to less CPU per submit (docs/performance.md "Next steps").
 *
 * `deno run -A selftest/http_front_bench.ts serve|own [requests]`
 */
import { Http1Conn } from "./http1.ts";

const CLIENTS = 32;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Index of the first CRLF CRLF in buf[from, to), or -1. */
function headEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** The minimal server: content-length bodies, keep-alive, no header or body bounds (an experiment only). */
async function serveOwn(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(65536);
  let start = 0;
  let end = 0;
  const fill = async () => {
    if (end === buf.length) {
      buf.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
    const n = await conn.read(buf.subarray(end));
    if (n === null) throw new Error("eof");
    end += n;
  };
  try {
    for (;;) {
      let he = headEnd(buf, start, end);
      while (he < 0) {
        await fill();
        he = headEnd(buf, start, end);
      }
      const m = /content-length: *(\d+)/i.exec(dec.decode(buf.subarray(start, he)));
      const len = m ? Number(m[1]) : 0;
      start = he + 4;
      while (end - start < len) await fill();
      const body = buf.slice(start, start + Math.min(64, len));
      const head = enc.encode(
        `HTTP/1.1 200 OK\r\ncontent-type: application/cbor\r\ncontent-length: ${body.length}\r\n\r\n`,
      );
      const out = new Uint8Array(head.length + body.length);
      out.set(head);
      out.set(body, head.length);
      await conn.write(out);
      start += len;
      if (start === end) start = end = 0;
    }
  } catch {
    conn.close();
  }
}

async function main(): Promise<void> {
  const mode = Deno.args[0];
  const count = Number(Deno.args[1] ?? 40000);
  if ((mode !== "serve" && mode !== "own") || !Number.isSafeInteger(count) || count < 1) {
    console.error("usage: deno run -A selftest/http_front_bench.ts serve|own [requests]");
    Deno.exit(1);
  }
  let url: string;
  let stop: () => void;
  if (mode === "serve") {
    const ac = new AbortController();
    const s = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      async (req) => {
        const b = await req.bytes();
        return new Response(b.subarray(0, 64), { headers: { "content-type": "application/cbor" } });
      },
    );
    url = `http://127.0.0.1:${s.addr.port}`;
    stop = () => ac.abort();
  } else {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${l.addr.port}`;
    (async () => {
      for await (const c of l) void serveOwn(c);
    })();
    stop = () => l.close();
  }
  const conns = await Promise.all(Array.from({ length: CLIENTS }, () => Http1Conn.open(url, "/x")));
  const body = new Uint8Array(1024).fill(7);
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(conns.map(async (c) => {
    while (sent < count) {
      sent++;
      await c.post(body);
    }
  }));
  console.log(`${mode}: ${Math.round(count / ((performance.now() - t0) / 1000))} requests/s`);
  stop();
  Deno.exit(0);
}

if (import.meta.main) await main();
