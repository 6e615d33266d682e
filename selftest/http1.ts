/**
 * A minimal HTTP/1.1 keep-alive client for the load generator: one connection per simulated client, requests
 * pre-serialized, responses parsed just enough (status, content-length, body). It costs a fraction of `fetch`, so a
 * benchmark on the same 2-core machine measures the hub rather than the client (as wrk would).
 */
const enc = new TextEncoder();

export interface Http1Response {
  status: number;
  body: Uint8Array;
}

export class Http1Conn {
  /** Unparsed bytes are buf[start, end). */
  private buf = new Uint8Array(64 * 1024);
  private start = 0;
  private end = 0;
  private readonly head: Uint8Array;

  private constructor(private readonly conn: Deno.TcpConn, host: string, path: string, type: string) {
    this.head = enc.encode(
      `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: ${type}\r\ncontent-length: `,
    );
  }

  /** One keep-alive connection that POSTs to `path`. */
  static async open(url: string, path = "/submit", type = "application/cbor"): Promise<Http1Conn> {
    const u = new URL(url);
    const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
    conn.setNoDelay(true);
    return new Http1Conn(conn, u.host, path, type);
  }

  /** Sends one POST of `body` and reads its response. */
  async post(body: Uint8Array): Promise<Http1Response> {
    const len = enc.encode(`${body.length}\r\n\r\n`);
    const req = new Uint8Array(this.head.length + len.length + body.length);
    req.set(this.head);
    req.set(len, this.head.length);
    req.set(body, this.head.length + len.length);
    let off = 0;
    while (off < req.length) off += await this.conn.write(req.subarray(off));
    return await this.readResponse();
  }

  private async fill(): Promise<void> {
    if (this.start > 0 && this.start === this.end) this.start = this.end = 0;
    if (this.end === this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length, (this.end - this.start) * 2));
      bigger.set(this.buf.subarray(this.start, this.end));
      this.end -= this.start;
      this.start = 0;
      this.buf = bigger;
    }
    const n = await this.conn.read(this.buf.subarray(this.end));
    if (n === null) throw new Error("connection closed by the server");
    this.end += n;
  }

  private async readResponse(): Promise<Http1Response> {
    let hdrEnd: number;
    while ((hdrEnd = indexOfCrlfCrlf(this.buf, this.start, this.end)) < 0) await this.fill();
    const b = this.buf;
    const status = (b[this.start + 9]! - 48) * 100 + (b[this.start + 10]! - 48) * 10 +
      (b[this.start + 11]! - 48);
    const len = contentLength(b, this.start, hdrEnd);
    if (len < 0) throw new Error("response without content-length");
    const bodyStart = hdrEnd + 4;
    while (this.end < bodyStart + len) await this.fill();
    const body = this.buf.slice(bodyStart, bodyStart + len);
    this.start = bodyStart + len;
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

function indexOfCrlfCrlf(b: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

const CL = enc.encode("\r\ncontent-length:");

/** The value of a content-length header in b[from, to) (case-insensitive name), or -1. */
function contentLength(b: Uint8Array, from: number, to: number): number {
  outer: for (let i = from; i + CL.length < to; i++) {
    for (let k = 0; k < CL.length; k++) {
      const c = b[i + k]!;
      if ((c >= 65 && c <= 90 ? c + 32 : c) !== CL[k]) continue outer;
    }
    let j = i + CL.length;
    while (b[j] === 32) j++;
    let n = 0;
    while (j < to && b[j]! >= 48 && b[j]! <= 57) n = n * 10 + (b[j++]! - 48);
    return n;
  }
  return -1;
}
