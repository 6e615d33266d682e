/**
 * A minimal HTTP/1.1 keep-alive client for the load generator: one connection per simulated client, requests
 * pre-serialized, responses parsed just enough (status, content-length, body). It costs a fraction of `fetch`, so a
 * benchmark on the same 2-core machine measures the hub rather than the client (as wrk would).
 */
const enc = new TextEncoder();
const dec = new TextDecoder();

export interface Http1Response {
  status: number;
  body: Uint8Array;
}

export class Http1Conn {
  private buf = new Uint8Array(0);

  private constructor(private readonly conn: Deno.TcpConn, private readonly host: string) {}

  static async open(url: string): Promise<Http1Conn> {
    const u = new URL(url);
    const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
    conn.setNoDelay(true);
    return new Http1Conn(conn, u.host);
  }

  /** Sends one POST and reads its response. */
  async post(path: string, body: Uint8Array, type = "application/cbor"): Promise<Http1Response> {
    const head = enc.encode(
      `POST ${path} HTTP/1.1\r\nhost: ${this.host}\r\ncontent-type: ${type}\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    const req = new Uint8Array(head.length + body.length);
    req.set(head);
    req.set(body, head.length);
    let off = 0;
    while (off < req.length) off += await this.conn.write(req.subarray(off));
    return await this.readResponse();
  }

  private async fill(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) throw new Error("connection closed by the server");
    const next = new Uint8Array(this.buf.length + n);
    next.set(this.buf);
    next.set(chunk.subarray(0, n), this.buf.length);
    this.buf = next;
  }

  private async readResponse(): Promise<Http1Response> {
    let end = -1;
    for (;;) {
      end = indexOfCrlfCrlf(this.buf);
      if (end >= 0) break;
      await this.fill();
    }
    const head = dec.decode(this.buf.subarray(0, end));
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (m === null) throw new Error("response without content-length");
    const len = Number(m[1]);
    const start = end + 4;
    while (this.buf.length < start + len) await this.fill();
    const body = this.buf.slice(start, start + len);
    this.buf = this.buf.slice(start + len);
    return { status, body };
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}
