/**
 * The log frame (format and where frames are used: docs/durability.md "Data directory"): one CBOR item
 * `[body: bstr, check: bstr .size 8]` with `check = SHA-256(body)[0..8]`. A length+CRC32 frame was measured at about
 * 3 µs less per record, under 5% of a 64-entry commit, so the CBOR frame wins.
 */
import { cborHeadLen, H, writeCborHead } from "../core/mod.ts";
import { StorageDamage } from "./storage_damage.ts";

// ---------------------------------------------------------------- minimal canonical CBOR heads

/** A parsed CBOR head; `next` is the offset after it. `undefined` when `buf` ends inside the head. */
interface Head {
  major: number;
  n: number;
  next: number;
  canonical: boolean;
}

export function readCborHead(buf: Uint8Array, off: number): Head | undefined {
  if (off >= buf.length) return undefined;
  const b = buf[off]!;
  const major = b >> 5;
  const ai = b & 31;
  if (ai < 24) return { major, n: ai, next: off + 1, canonical: true };
  const len = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : -1;
  if (len < 0) return { major, n: -1, next: off + 1, canonical: false };
  if (off + 1 + len > buf.length) return undefined;
  let n = 0;
  for (let i = 0; i < len; i++) n = n * 256 + buf[off + 1 + i]!;
  const canonical = Number.isSafeInteger(n) && cborHeadLen(n) === 1 + len;
  return { major, n, next: off + 1 + len, canonical };
}

// ---------------------------------------------------------------- frames

/** Length of the check field. */
export const CHECK_LEN = 8;
/** Largest body a frame may carry (a sanity bound for recovery; MSGs and receipts are far smaller). */
export const MAX_FRAME_BODY = 256 * 1024 * 1024;

/** Bytes a frame of a `bodyLen`-byte body occupies. */
export function frameLength(bodyLen: number): number {
  return 1 + cborHeadLen(bodyLen) + bodyLen + 1 + CHECK_LEN;
}

/** Writes the frame prefix for a `bodyLen`-byte body at `off`; returns the body's offset. */
export function writeFramePrefix(buf: Uint8Array, off: number, bodyLen: number): number {
  buf[off] = 0x82;
  return writeCborHead(buf, off + 1, 2, bodyLen);
}

/** Writes the check after a body already placed at `bodyOff`; returns the offset after the frame. */
export function sealFrame(buf: Uint8Array, bodyOff: number, bodyLen: number): number {
  const end = bodyOff + bodyLen;
  buf[end] = 0x48;
  const d = H(buf.subarray(bodyOff, end));
  for (let i = 0; i < CHECK_LEN; i++) buf[end + 1 + i] = d[i]!;
  return end + 1 + CHECK_LEN;
}

/** A whole frame for `body`. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(frameLength(body.length));
  const bo = writeFramePrefix(out, 0, body.length);
  out.set(body, bo);
  sealFrame(out, bo, body.length);
  return out;
}

/** A frame parsed at some offset: `length` bytes in all, body at `bodyOffset`. */
export interface ParsedFrame {
  kind: "ok";
  length: number;
  bodyOffset: number;
  bodyLength: number;
}

/** `torn`: the bytes end inside the frame; `bad`: the bytes cannot be a valid frame (bad head or check). */
export type FrameResult = ParsedFrame | { kind: "torn" } | { kind: "bad"; why: string };

/** Parses one frame at `off`. */
export function parseFrame(buf: Uint8Array, off: number): FrameResult {
  if (off >= buf.length) return { kind: "torn" };
  if (buf[off] !== 0x82) return { kind: "bad", why: "not a frame" };
  const h = readCborHead(buf, off + 1);
  if (h === undefined) return { kind: "torn" };
  if (h.major !== 2 || !h.canonical || h.n > MAX_FRAME_BODY) return { kind: "bad", why: "bad body head" };
  const bodyOffset = h.next;
  const end = bodyOffset + h.n;
  if (end + 1 + CHECK_LEN > buf.length) return { kind: "torn" };
  if (buf[end] !== 0x48) return { kind: "bad", why: "bad check head" };
  if (!checkMatches(buf, bodyOffset, end)) return { kind: "bad", why: "checksum mismatch" };
  return { kind: "ok", length: end + 1 + CHECK_LEN - off, bodyOffset, bodyLength: h.n };
}

/** Whether the check after the `0x48` at `end` is SHA-256(buf[bodyOffset, end))[0..8]. */
export function checkMatches(buf: Uint8Array, bodyOffset: number, end: number): boolean {
  const d = H(buf.subarray(bodyOffset, end));
  for (let i = 0; i < CHECK_LEN; i++) if (buf[end + 1 + i] !== d[i]) return false;
  return true;
}

/**
 * Parses the single frame that must fill `buf` exactly, read from `file` (relative to the data dir) at `offset`, and
 * returns its body; a corrupt or short frame is {@link StorageDamage} naming that place.
 */
export function frameBody(buf: Uint8Array, file: string, offset = 0): Uint8Array {
  const f = parseFrame(buf, 0);
  if (f.kind !== "ok" || f.length !== buf.length) {
    throw new StorageDamage(file, offset, f.kind === "bad" ? f.why : "short read", "read");
  }
  return buf.subarray(f.bodyOffset, f.bodyOffset + f.bodyLength);
}

/**
 * Streams frames from a file starting at an offset, in bounded chunks. `next()` returns the next frame's offset and
 * body (a view valid until the following call), `end` at a clean end of file, `torn`/`bad` at a damaged tail.
 */
export class FrameReader {
  readonly #file: Deno.FsFile;
  readonly #chunk: number;
  readonly #onRead: (n: number) => void;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  /** File offset of `#buf[0]`. */
  #base: number;
  #eof = false;

  constructor(file: Deno.FsFile, start: number, chunk: number, onRead: (n: number) => void) {
    this.#file = file;
    this.#base = start;
    this.#chunk = chunk;
    this.#onRead = onRead;
  }

  static async open(path: string, start: number, onRead: (n: number) => void, chunk = 1 << 20) {
    const file = await Deno.open(path, { read: true });
    await file.seek(start, Deno.SeekMode.Start);
    return new FrameReader(file, start, chunk, onRead);
  }

  /** File offset of the next unread frame. */
  get offset(): number {
    return this.#base + this.#pos;
  }

  async #fill(need: number): Promise<void> {
    const have = this.#buf.length - this.#pos;
    const size = Math.max(need, this.#chunk);
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(this.#pos));
    this.#base += this.#pos;
    this.#pos = 0;
    let got = have;
    while (got < size) {
      const n = await this.#file.read(next.subarray(got));
      if (n === null) {
        this.#eof = true;
        break;
      }
      this.#onRead(n);
      got += n;
    }
    this.#buf = next.subarray(0, got);
  }

  async next(): Promise<
    { kind: "ok"; offset: number; length: number; body: Uint8Array } | { kind: "end" | "torn" } | {
      kind: "bad";
      why: string;
    }
  > {
    for (;;) {
      const r = parseFrame(this.#buf, this.#pos);
      if (r.kind === "ok") {
        const offset = this.offset;
        const body = this.#buf.subarray(r.bodyOffset, r.bodyOffset + r.bodyLength);
        this.#pos += r.length;
        return { kind: "ok", offset, length: r.length, body };
      }
      if (r.kind === "bad") return r;
      if (this.#eof) return this.#pos >= this.#buf.length ? { kind: "end" } : { kind: "torn" };
      // Torn within the buffer: read more, enough for the whole frame when its length is known.
      const h = readCborHead(this.#buf, this.#pos + 1);
      const need = h === undefined ? 16 : h.next - this.#pos + h.n + 1 + CHECK_LEN;
      await this.#fill(need);
    }
  }

  close(): void {
    this.#file.close();
  }
}
