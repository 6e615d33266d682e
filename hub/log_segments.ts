/**
 * Framed append-only log files: the hub's source of truth (see the layout in disk_store.ts).
 *
 * **Frame.** Every record is one CBOR item `[body: bstr, check: bstr .size 8]` with
 * `check = SHA-256(body)[0..8]`, so each file stays a valid RFC 8742 CBOR sequence that any CBOR tool can read.
 * Bytes: `0x82`, the canonical bstr head of `body`, `body`, `0x48`, `check` (11 to 19 bytes of overhead)
 * (hub/frame.ts). A record whose head, length or check does not parse is judged by hub/log_tail.ts: a torn end of
 * the newest segment is cut into `quarantine/`, anything else refuses the start.
 *
 * **Segments.** Two aligned families, `receipts/NNNNNNNN.cborseq` and `payloads/NNNNNNNN.cborseq`, rotated together
 * by size so retention can drop either independently. Record i (0-based after the header) of a receipts segment and
 * record i of the payloads segment with the same number describe the same entry. The first frame of each segment
 * file is a header `{"first_rec": r, "kind": "receipts"|"payloads", "segment": n, "v": 1}` (canonical CBOR map),
 * where r is the global record number (0-based, over the whole log) of the segment's first record.
 *
 * - receipts record body: `[label, stream_seq, leaf_hash, client_id, client_seq, auth_ref / null, hub_ts, RECEIPT]`
 *   (canonical CBOR array of 8; RECEIPT is the exact wire bytes as a bstr).
 * - payloads record body: the exact MSG bytes.
 *
 * A batch never spans segments (a segment may exceed the size limit by one batch), and a segment is rotated only
 * once its last batch is durable, so only the newest segment can hold unsynced bytes (the recovery rule of
 * hub/log_tail.ts). When a segment is rotated, a sidecar `NNNNNNNN.idx` (same bytes in both family directories,
 * written tmp + fsync + rename; one frame around the map, so damage is detected, and a damaged copy is replaced by
 * the other when read; bare maps written before framing are still read) records
 * `{"v", "segment", "first_rec", "last_rec", "records", "receipts_bytes", "payloads_bytes", "last_hub_ts",
 *   "labels": [[label, first_seq, last_seq, receipts_offset, payloads_offset]...],
 *   "clients": [[label, [[client_id, client_seq, stream_seq]...]]...],
 *   "marks": [[rec, receipts_offset, payloads_offset]...]}` (a mark every 1024 records; offsets are frame starts;
 * `last_hub_ts` is the newest hub_ts in the segment; `clients` holds each client's last entry in the segment, by
 * label; both are absent in sidecars written before they existed), which is the COMP0.1 `{offset, stream_seq}`
 * sidecar: a label's entries in one segment are one contiguous seq range, so a segment can be dropped without
 * scanning it, and the tombstone of a dropped segment still says what the index needs to be rebuilt without it.
 *
 * **Retention** (hub/retention.ts) drops the oldest rotated segments of one family ({@link SegmentLog.dropSegment}):
 * the `.cborseq` file is removed and its `.idx` sidecar stays as the tombstone/manifest of what it held. Dropped
 * segments are always a prefix: every segment number below the first present one of a family is dropped.
 *
 * `checkpoints.cborseq` and `admissions.cborseq` are single framed files ({@link RecordFile}).
 */
import { cborHeadLen, decodeCbor, encodeCbor, Lru, toHex, VeenError, writeCborHead } from "../core/mod.ts";
import type { CborValue } from "../core/mod.ts";
import {
  encodeFrame,
  frameBody,
  frameLength,
  FrameReader,
  readCborHead,
  sealFrame,
  writeFramePrefix,
} from "./frame.ts";
import { pairVerdict, readRest, scanFileTail, StorageDamage, type TailFrame } from "./log_tail.ts";

export {
  CHECK_LEN,
  encodeFrame,
  frameBody,
  frameLength,
  FrameReader,
  type FrameResult,
  MAX_FRAME_BODY,
  type ParsedFrame,
  parseFrame,
  sealFrame,
  writeFramePrefix,
} from "./frame.ts";

// ---------------------------------------------------------------- small concurrency helpers

/** A FIFO mutex: `run` calls never overlap. */
export class Lock {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.#tail.then(() => fn(), () => fn());
    this.#tail = p.then(() => {}, () => {});
    return p;
  }

  /** Resolves once every queued `run` has settled. */
  idle(): Promise<void> {
    return this.#tail.then(() => {});
  }
}

interface CachedHandle {
  file: Deno.FsFile;
  lock: Lock;
  closed: boolean;
}

/**
 * A bounded LRU of open files, each used under its own lock (seek + read/write must not interleave). A handle is
 * closed on eviction only once its queued operations have finished; an operation that finds its handle closed
 * reopens it.
 */
export class HandleCache {
  readonly #open: (key: string) => Promise<Deno.FsFile>;
  readonly #map: Lru<Promise<CachedHandle>>;

  constructor(max: number, open: (key: string) => Promise<Deno.FsFile>) {
    this.#open = open;
    this.#map = new Lru(max, (_, p) => void this.#closeLater(p));
  }

  /** Runs `fn` with exclusive use of the file for `key`. */
  async use<T>(key: string, fn: (file: Deno.FsFile) => Promise<T>): Promise<T> {
    for (;;) {
      const h = await this.#get(key);
      let stale = false;
      const out = await h.lock.run(async () => {
        if (h.closed) {
          stale = true;
          return undefined;
        }
        return await fn(h.file);
      });
      if (!stale) return out as T;
    }
  }

  #get(key: string): Promise<CachedHandle> {
    let p = this.#map.get(key);
    if (p !== undefined) return p;
    p = this.#open(key).then((file) => ({ file, lock: new Lock(), closed: false }));
    p.catch(() => this.#map.delete(key));
    this.#map.set(key, p);
    return p;
  }

  async #closeLater(p: Promise<CachedHandle>): Promise<void> {
    let h: CachedHandle;
    try {
      h = await p;
    } catch {
      return;
    }
    await h.lock.run(() => {
      if (!h.closed) {
        h.closed = true;
        h.file.close();
      }
    });
  }

  /** Closes the handle for `key` if open (e.g. before the file is truncated or deleted). */
  async drop(key: string): Promise<void> {
    const p = this.#map.delete(key);
    if (p !== undefined) await this.#closeLater(p);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#map.values()];
    this.#map.clear();
    await Promise.all(all.map((p) => this.#closeLater(p)));
  }
}

/**
 * A bounded LRU of read-only handles used with synchronous seek + read: page-cache reads cost ~2 µs instead of
 * ~70 µs for the async pair, and synchronous calls cannot interleave, so no lock is needed.
 */
export class SyncReaders {
  readonly #map: Lru<Deno.FsFile>;

  constructor(max: number) {
    this.#map = new Lru(max, (_, f) => f.close());
  }

  /** Up to `len` bytes of `path` at `offset` (fewer at end of file). */
  read(path: string, offset: number, len: number): Uint8Array {
    let f = this.#map.get(path);
    if (f === undefined) {
      f = Deno.openSync(path, { read: true });
      this.#map.set(path, f);
    }
    f.seekSync(offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(len);
    let got = 0;
    while (got < len) {
      const n = f.readSync(buf.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    return got === len ? buf : buf.subarray(0, got);
  }

  /** Closes the handle of `path` (before it is truncated, replaced or removed). */
  drop(path: string): void {
    this.#map.delete(path)?.close();
  }

  closeAll(): void {
    for (const f of this.#map.values()) f.close();
    this.#map.clear();
  }
}

// ---------------------------------------------------------------- file helpers

/** Frames `bodies` into one buffer; each record's `[offset, length]` counts from `base`. */
function framed(bodies: readonly Uint8Array[], base: number): { buf: Uint8Array; locs: [number, number][] } {
  const frames = bodies.map(encodeFrame);
  let total = 0;
  for (const f of frames) total += f.length;
  const buf = new Uint8Array(total);
  const locs: [number, number][] = [];
  let o = 0;
  for (const f of frames) {
    buf.set(f, o);
    locs.push([base + o, f.length]);
    o += f.length;
  }
  return { buf, locs };
}

/** Writes all of `buf` to `file` (at its current position, or the end in append mode). */
export async function writeAll(file: Deno.FsFile, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) off += await file.write(buf.subarray(off));
}

/**
 * Synchronous `writeAll`: a write into the page cache costs microseconds, far less than an async op's hand-off to
 * the thread pool; the slow part, fdatasync, stays asynchronous.
 */
export function writeAllSync(file: Deno.FsFile, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += file.writeSync(buf.subarray(off));
}

/** fsyncs a directory so entries created or renamed in it survive power loss. */
export async function syncDir(path: string): Promise<void> {
  const d = await Deno.open(path, { read: true });
  try {
    await d.sync();
  } finally {
    d.close();
  }
}

/**
 * The durability barrier of the log and record files: fdatasync of a file, fsync of a directory. A RECEIPT or an
 * admission answer is released only after these resolve; tests substitute one to gate or count them.
 */
export interface Syncer {
  file(f: Deno.FsFile, path: string): Promise<void>;
  dir(path: string): Promise<void>;
}

/** The operating system's barrier. */
export const OS_SYNC: Syncer = { file: (f) => f.syncData(), dir: syncDir };

/** Creates `path` (and parents) with mode 0700. */
export async function mkdir700(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
}

/** Size of a file, or -1 when it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return -1;
    throw e;
  }
}

/**
 * Writes `bytes` to `dir/name` atomically: tmp file, fdatasync, rename, fsync of the directory. The tmp file is
 * removed when any step before the rename's completion fails.
 */
export async function writeFileAtomic(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${dir}/.${name}.${crypto.randomUUID()}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    try {
      await writeAll(f, bytes);
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, `${dir}/${name}`);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

// ---------------------------------------------------------------- receipts records

/** What the receipts log keeps per entry besides the MSG. */
export interface ReceiptRecord {
  label: Uint8Array;
  streamSeq: number;
  leafHash: Uint8Array;
  clientId: Uint8Array;
  clientSeq: number;
  authRef: Uint8Array | null;
  hubTs: number;
  receipt: Uint8Array;
}

const bstrLen = (b: Uint8Array) => cborHeadLen(b.length) + b.length;

function checkUint(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new VeenError("E.SIZE", `${what} must be an unsigned integer`);
}

/** Length of the canonical CBOR receipts record body. */
export function receiptBodyLength(r: ReceiptRecord): number {
  return 1 + bstrLen(r.label) + cborHeadLen(r.streamSeq) + bstrLen(r.leafHash) + bstrLen(r.clientId) +
    cborHeadLen(r.clientSeq) + (r.authRef === null ? 1 : bstrLen(r.authRef)) + cborHeadLen(r.hubTs) +
    bstrLen(r.receipt);
}

function putBstr(buf: Uint8Array, off: number, b: Uint8Array): number {
  off = writeCborHead(buf, off, 2, b.length);
  buf.set(b, off);
  return off + b.length;
}

/** Writes the receipts record body at `off`; returns the offset after it. */
export function writeReceiptBody(buf: Uint8Array, off: number, r: ReceiptRecord): number {
  checkUint(r.streamSeq, "stream_seq");
  checkUint(r.clientSeq, "client_seq");
  checkUint(r.hubTs, "hub_ts");
  buf[off++] = 0x88;
  off = putBstr(buf, off, r.label);
  off = writeCborHead(buf, off, 0, r.streamSeq);
  off = putBstr(buf, off, r.leafHash);
  off = putBstr(buf, off, r.clientId);
  off = writeCborHead(buf, off, 0, r.clientSeq);
  if (r.authRef === null) buf[off++] = 0xf6;
  else off = putBstr(buf, off, r.authRef);
  off = writeCborHead(buf, off, 0, r.hubTs);
  return putBstr(buf, off, r.receipt);
}

/** Decodes a receipts record body (copies the byte fields). Throws E.UNAVAILABLE when malformed. */
export function decodeReceiptBody(body: Uint8Array): ReceiptRecord {
  const bad = (what: string): never => {
    throw new VeenError("E.UNAVAILABLE", `Malformed receipts record: ${what}`);
  };
  if (body[0] !== 0x88) bad("not an array of 8");
  let off = 1;
  const uint = (what: string): number => {
    const h = readCborHead(body, off);
    if (h === undefined || h.major !== 0 || !h.canonical) return bad(what);
    off = h.next;
    return h.n;
  };
  const bytes = (what: string, nullable = false): Uint8Array | null => {
    if (nullable && body[off] === 0xf6) {
      off++;
      return null;
    }
    const h = readCborHead(body, off);
    if (h === undefined || h.major !== 2 || !h.canonical || h.next + h.n > body.length) return bad(what);
    off = h.next + h.n;
    return body.slice(h.next, off);
  };
  const label = bytes("label")!;
  const streamSeq = uint("stream_seq");
  const leafHash = bytes("leaf_hash")!;
  const clientId = bytes("client_id")!;
  const clientSeq = uint("client_seq");
  const authRef = bytes("auth_ref", true);
  const hubTs = uint("hub_ts");
  const receipt = bytes("receipt")!;
  if (off !== body.length) bad("trailing bytes");
  return { label, streamSeq, leafHash, clientId, clientSeq, authRef, hubTs, receipt };
}

// ---------------------------------------------------------------- segment names and headers

/** Decodes receipts records read as frames of `file`; one that does not decode is {@link StorageDamage}. */
export function decodeReceiptFrames(file: string, frames: readonly TailFrame[]): ReceiptRecord[] {
  return frames.map((d) => {
    try {
      return decodeReceiptBody(d.body);
    } catch (e) {
      throw new StorageDamage(file, d.offset, `record does not decode: ${String(e)}`);
    }
  });
}

/** Where an entry's two records are: segment number, frame offsets and lengths in each family. */
export interface RecordLocation {
  seg: number;
  rOff: number;
  rLen: number;
  pOff: number;
  pLen: number;
}

/** A point in the log: the next record to be written (or indexed) is global record `rec`, at these offsets. */
export interface LogPosition {
  seg: number;
  rOff: number;
  pOff: number;
  rec: number;
}

export type Family = "receipts" | "payloads";

/** `NNNNNNNN` (8 digits, more when needed). */
export function segmentName(seg: number): string {
  return String(seg).padStart(8, "0");
}

const SEGMENT_RE = /^(\d{8,})\.cborseq$/;

/** Entries of `dir` sorted by name (so scans and reports are the same on every run); [] when it is absent. */
export async function dirEntries(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Segment numbers present in a family directory, ascending. */
export async function listSegments(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await dirEntries(dir)) {
    const m = e.isFile ? SEGMENT_RE.exec(e.name) : null;
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

function headerBody(kind: Family, seg: number, firstRec: number): Uint8Array {
  return encodeCbor(
    new Map<string, CborValue>([["v", 1], ["kind", kind], ["segment", seg], ["first_rec", firstRec]]),
  );
}

function parseHeader(body: Uint8Array): { kind: string; seg: number; firstRec: number } | undefined {
  try {
    const m = decodeCbor(body, "segment header");
    if (!(m instanceof Map) || m.get("v") !== 1) return undefined;
    const kind = m.get("kind");
    const seg = m.get("segment");
    const firstRec = m.get("first_rec");
    if (typeof kind !== "string" || typeof seg !== "number" || typeof firstRec !== "number") return undefined;
    return { kind, seg, firstRec };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- segment summaries (.idx)

const MARK_EVERY = 1024;

interface LabelRange {
  label: Uint8Array;
  firstSeq: number;
  lastSeq: number;
  rOff: number;
  pOff: number;
  /** Per client_id hex: the client's last entry in the segment, `[client_id, client_seq, stream_seq]`. */
  clients: Map<string, [Uint8Array, number, number]>;
}

/** The contents of a `.idx` sidecar, built while appending or by scanning a closed segment. */
class SegmentSummary {
  readonly seg: number;
  readonly firstRec: number;
  records = 0;
  rBytes = 0;
  pBytes = 0;
  /** By label hex. */
  readonly labels = new Map<string, LabelRange>();
  readonly marks: [number, number, number][] = [];
  lastHubTs = 0;

  constructor(seg: number, firstRec: number) {
    this.seg = seg;
    this.firstRec = firstRec;
  }

  add(labelHex: string, r: ReceiptRecord, rOff: number, pOff: number): void {
    if (this.records % MARK_EVERY === 0) this.marks.push([this.firstRec + this.records, rOff, pOff]);
    this.records++;
    if (r.hubTs > this.lastHubTs) this.lastHubTs = r.hubTs;
    let l = this.labels.get(labelHex);
    if (l === undefined) {
      l = { label: r.label, firstSeq: r.streamSeq, lastSeq: r.streamSeq, rOff, pOff, clients: new Map() };
      this.labels.set(labelHex, l);
    } else l.lastSeq = r.streamSeq;
    const ck = r.clientId.toHex();
    const c = l.clients.get(ck);
    // A copy: the record's client_id may be a view into a whole request body.
    if (c === undefined) l.clients.set(ck, [r.clientId.slice(), r.clientSeq, r.streamSeq]);
    else {
      c[1] = r.clientSeq;
      c[2] = r.streamSeq;
    }
  }

  /** The sidecar bytes: the canonical CBOR map in one frame (its check detects damage). */
  encode(): Uint8Array {
    const byHex = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
    const labels = byHex(this.labels);
    return encodeFrame(encodeCbor(
      new Map<string, CborValue>([
        ["v", 1],
        ["segment", this.seg],
        ["first_rec", this.firstRec],
        ["last_rec", this.firstRec + this.records - 1],
        ["records", this.records],
        ["receipts_bytes", this.rBytes],
        ["payloads_bytes", this.pBytes],
        ["last_hub_ts", this.lastHubTs],
        ["labels", labels.map((l) => [l.label, l.firstSeq, l.lastSeq, l.rOff, l.pOff])],
        ["clients", labels.map((l) => [l.label, byHex(l.clients)])],
        ["marks", this.marks],
      ]),
    ));
  }
}

/** A client's last entry in one segment (sidecar `clients`). */
export interface SegmentClient {
  clientId: Uint8Array;
  clientSeq: number;
  streamSeq: number;
}

/** A decoded `.idx` sidecar. */
export interface SegmentIndex {
  segment: number;
  firstRec: number;
  lastRec: number;
  records: number;
  receiptsBytes: number;
  payloadsBytes: number;
  /** Newest hub_ts (seconds) of the segment's records; undefined in sidecars written before it was recorded. */
  lastHubTs: number | undefined;
  labels: { label: Uint8Array; firstSeq: number; lastSeq: number; rOff: number; pOff: number }[];
  /**
   * Per label, each client's last entry in the segment: what rebuilding the index after retention needs of a
   * dropped segment. Undefined in sidecars written before it was recorded.
   */
  clients: { label: Uint8Array; clients: SegmentClient[] }[] | undefined;
  marks: { rec: number; rOff: number; pOff: number }[];
}

/**
 * Parses a sidecar: one frame around the canonical CBOR map (so damage is detected), or the bare map written before
 * sidecars were framed. Raises {@link StorageDamage} naming `file` when it is damaged or malformed.
 */
export function parseSegmentIndex(bytes: Uint8Array, file: string): SegmentIndex {
  const damaged = (why: string): never => {
    throw new StorageDamage(file, 0, why);
  };
  let body = bytes;
  if (bytes[0] === 0x82) {
    try {
      body = frameBody(bytes, file);
    } catch {
      damaged("sidecar frame does not check");
    }
  }
  let m: CborValue;
  try {
    m = decodeCbor(body, "segment index");
  } catch (e) {
    return damaged(`sidecar does not decode: ${(e as Error).message}`);
  }
  if (!(m instanceof Map)) return damaged("sidecar is not a map");
  const uint = (v: unknown, what: string): number =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : damaged(`sidecar ${what} is not a uint`);
  const bstr = (v: unknown, what: string): Uint8Array =>
    v instanceof Uint8Array ? v : damaged(`sidecar ${what} is not a byte string`);
  const arr = (v: unknown, what: string): unknown[] =>
    Array.isArray(v) ? v : damaged(`sidecar ${what} is not an array`);
  const labels = arr(m.get("labels"), "labels").map((v) => {
    const [label, firstSeq, lastSeq, rOff, pOff] = arr(v, "labels entry");
    return {
      label: bstr(label, "label"),
      firstSeq: uint(firstSeq, "first_seq"),
      lastSeq: uint(lastSeq, "last_seq"),
      rOff: uint(rOff, "receipts offset"),
      pOff: uint(pOff, "payloads offset"),
    };
  });
  const clients = m.has("clients")
    ? arr(m.get("clients"), "clients").map((v) => {
      const [label, cs] = arr(v, "clients entry");
      return {
        label: bstr(label, "clients label"),
        clients: arr(cs, "clients list").map((c) => {
          const [clientId, clientSeq, streamSeq] = arr(c, "client");
          return {
            clientId: bstr(clientId, "client_id"),
            clientSeq: uint(clientSeq, "client_seq"),
            streamSeq: uint(streamSeq, "stream_seq"),
          };
        }),
      };
    })
    : undefined;
  const marks = arr(m.get("marks"), "marks").map((v) => {
    const [rec, rOff, pOff] = arr(v, "mark");
    return { rec: uint(rec, "mark rec"), rOff: uint(rOff, "mark offset"), pOff: uint(pOff, "mark offset") };
  });
  return {
    segment: uint(m.get("segment"), "segment"),
    firstRec: uint(m.get("first_rec"), "first_rec"),
    lastRec: uint(m.get("last_rec"), "last_rec"),
    records: uint(m.get("records"), "records"),
    receiptsBytes: uint(m.get("receipts_bytes"), "receipts_bytes"),
    payloadsBytes: uint(m.get("payloads_bytes"), "payloads_bytes"),
    lastHubTs: m.has("last_hub_ts") ? uint(m.get("last_hub_ts"), "last_hub_ts") : undefined,
    labels,
    clients,
    marks,
  };
}

/** Reads `NNNNNNNN.idx` of a family directory, or undefined when absent; damage raises {@link StorageDamage}. */
export async function readSegmentIndex(familyDir: string, seg: number): Promise<SegmentIndex | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${familyDir}/${segmentName(seg)}.idx`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const fam = familyDir.slice(familyDir.lastIndexOf("/") + 1);
  return parseSegmentIndex(bytes, `${fam}/${segmentName(seg)}.idx`);
}

/**
 * The sidecar of segment `seg` from either of its two identical copies (receipts/ and payloads/), with the names of
 * damaged copies; undefined when both are absent. Raises {@link StorageDamage} when no copy is readable.
 */
export async function readSidecar(
  dataDir: string,
  seg: number,
): Promise<{ index: SegmentIndex; damaged: StorageDamage[] } | undefined> {
  const damaged: StorageDamage[] = [];
  let index: SegmentIndex | undefined;
  for (const fam of ["receipts", "payloads"] as const) {
    try {
      index ??= await readSegmentIndex(`${dataDir}/${fam}`, seg);
      if (index !== undefined && fam === "receipts") {
        // Check the second copy too, only to report it.
        await readSegmentIndex(`${dataDir}/payloads`, seg);
        break;
      }
    } catch (e) {
      if (!(e instanceof StorageDamage)) throw e;
      damaged.push(e);
    }
  }
  if (index === undefined && damaged.length > 0) throw damaged[0]!;
  return index === undefined ? undefined : { index, damaged };
}

// ---------------------------------------------------------------- the segmented log

/** One entry to append: its receipts record plus the MSG bytes. */
export interface AppendEntry extends ReceiptRecord {
  msg: Uint8Array;
}

/** A record read back during replay or a scan. */
export interface LogRecord extends ReceiptRecord {
  msg: Uint8Array;
  rec: number;
  loc: RecordLocation;
}

export interface SegmentLogOptions {
  /** Rotate when either active file reaches this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Called with the number of log bytes read (replay, scans, reads). */
  onRead?: (bytes: number) => void;
  /** Called with a description of each repair made during recovery. */
  onRepair?: (what: string) => void;
  /** Most open read handles (default 64). */
  maxReadHandles?: number;
  /** The durability barrier (default {@link OS_SYNC}). */
  sync?: Syncer;
}

/** The result of {@link SegmentLog.append}: locations, the end position, and the write+fdatasync work to await. */
export interface PreparedAppend {
  locs: RecordLocation[];
  end: LogPosition;
  durable: Promise<void>[];
}

/**
 * The aligned receipts/payloads segment pair. Open with {@link SegmentLog.open}, then call {@link SegmentLog.replay}
 * once (it repairs the tail and positions the writer), then append.
 */
export class SegmentLog {
  readonly rDir: string;
  readonly pDir: string;
  /** Where cut torn tails are kept (never read by the hub; for an operator who wants to look). */
  readonly #quarantineDir: string;
  readonly #segmentBytes: number;
  readonly #onRead: (n: number) => void;
  readonly #onRepair: (what: string) => void;
  readonly #readers: SyncReaders;
  readonly #sync: Syncer;
  #segments: number[] = [];
  /** Per family, the first segment present; lower numbers were dropped by retention. */
  #first: Record<Family, number> = { receipts: 0, payloads: 0 };
  #ready = false;
  // writer state
  #seg = 0;
  #rec = 0;
  #rSize = 0;
  #pSize = 0;
  #rFile: Deno.FsFile | undefined;
  #pFile: Deno.FsFile | undefined;
  #headerPending = true;
  #dirSyncPending = false;
  #summary: SegmentSummary | null = null;
  #background = new Set<Promise<void>>();
  /** The write+fdatasync work of the latest append (awaited before rotation). */
  #lastDurable: Promise<void>[] = [];
  #totalBytes = 0;

  private constructor(dir: string, opts: SegmentLogOptions) {
    this.rDir = `${dir}/receipts`;
    this.pDir = `${dir}/payloads`;
    this.#quarantineDir = `${dir}/quarantine`;
    this.#segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    if (!(this.#segmentBytes >= 1)) throw new VeenError("E.SIZE", "segmentBytes must be positive");
    this.#onRead = opts.onRead ?? (() => {});
    this.#onRepair = opts.onRepair ?? (() => {});
    this.#readers = new SyncReaders(opts.maxReadHandles ?? 64);
    this.#sync = opts.sync ?? OS_SYNC;
  }

  /** Creates the directories and lists segments; reads no log bytes. */
  static async open(dir: string, opts: SegmentLogOptions = {}): Promise<SegmentLog> {
    const log = new SegmentLog(dir, opts);
    await mkdir700(log.rDir);
    await mkdir700(log.pDir);
    const r = await listSegments(log.rDir);
    const p = await listSegments(log.pDir);
    log.#segments = [...new Set([...r, ...p])].sort((a, b) => a - b);
    log.#first = { receipts: r[0] ?? Infinity, payloads: p[0] ?? Infinity };
    return log;
  }

  #path(f: Family, seg: number): string {
    return `${f === "receipts" ? this.rDir : this.pDir}/${segmentName(seg)}.cborseq`;
  }

  /** The position where the log starts (lowest segment, its first record), for a replay from scratch. */
  async start(): Promise<LogPosition> {
    const seg = this.#segments[0] ?? 0;
    const hdr = await this.#readHeader("receipts", seg);
    const gap = (f: Family) => this.#first[f] !== Infinity && this.#first[f] > seg;
    if (seg > 0 || (hdr !== undefined && hdr.firstRec !== 0) || gap("receipts") || gap("payloads")) {
      // A full replay needs every record from the first: with segments dropped by retention the node files,
      // position files and index cannot be rebuilt from the log (and replay would treat the gap as damage).
      throw new VeenError(
        "E.UNAVAILABLE",
        `The log starts at segment ${
          segmentName(seg)
        } (older segments were dropped by retention), so the index ` +
          `cannot be rebuilt from it; restore index.kv, mmr/ and pos/ from a backup`,
      );
    }
    return { seg, rOff: 0, pOff: 0, rec: hdr?.firstRec ?? 0 };
  }

  async #readHeader(f: Family, seg: number) {
    let reader: FrameReader;
    try {
      reader = await FrameReader.open(this.#path(f, seg), 0, this.#onRead, 4096);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    try {
      const fr = await reader.next();
      return fr.kind === "ok" ? parseHeader(fr.body) : undefined;
    } finally {
      reader.close();
    }
  }

  /**
   * Replays every record at or after `from` (an indexed position, or {@link start}) in chunks of at most
   * `chunkSize`, and leaves the writer positioned after the last good record. `from` must be a record boundary that
   * was durable; a log shorter than `from` raises E.UNAVAILABLE. Damage is classified by hub/log_tail.ts: a torn end
   * of the newest segment is moved to `quarantine/` and cut (both families, at the first incomplete record pair),
   * after `beforeCut` has seen the complete receipts records it drops (it may throw to refuse); any other damage
   * raises {@link StorageDamage} before anything is changed. Nothing else is ever removed.
   */
  async *replay(
    from: LogPosition,
    opts: { chunkSize?: number; beforeCut?: (dropped: ReceiptRecord[]) => void | Promise<void> } = {},
  ): AsyncGenerator<LogRecord[]> {
    if (this.#ready) throw new Error("SegmentLog.replay runs once");
    const chunkSize = opts.chunkSize ?? 4096;
    let rec = from.rec;
    /** End of the last good data: where the writer continues. */
    let pos: LogPosition = from;
    /** Summary of `pos.seg` when replay saw it from its header (complete), else null. */
    let summary: SegmentSummary | null = null;
    const newestSeg = this.#segments[this.#segments.length - 1] ?? from.seg;
    for (const seg of this.#segments.filter((s) => s >= from.seg)) {
      const newest = seg === newestSeg && (await fileSize(`${this.rDir}/${segmentName(seg)}.idx`)) < 0;
      const rStart = seg === from.seg ? from.rOff : 0;
      const pStart = seg === from.seg ? from.pOff : 0;
      const rLen = await fileSize(this.#path("receipts", seg));
      const pLen = await fileSize(this.#path("payloads", seg));
      if (rStart > 0 && (rLen < rStart || pLen < pStart)) {
        throw new VeenError(
          "E.UNAVAILABLE",
          `Log segment ${segmentName(seg)} is shorter than the index (${rLen}/${pLen} < ${rStart}/${pStart})`,
        );
      }
      const r = rLen > rStart
        ? await FrameReader.open(this.#path("receipts", seg), rStart, this.#onRead)
        : null;
      const p = pLen > pStart
        ? await FrameReader.open(this.#path("payloads", seg), pStart, this.#onRead)
        : null;
      const END = { kind: "end" as const };
      let cut = false;
      try {
        pos = { seg, rOff: rStart, pOff: pStart, rec };
        summary = null;
        if (rStart === 0) {
          // Read from the beginning: both headers must be good, else the segment holds no records.
          const rh = r ? await r.next() : END;
          const ph = p ? await p.next() : END;
          const rHdr = rh.kind === "ok" ? parseHeader(rh.body) : undefined;
          const pHdr = ph.kind === "ok" ? parseHeader(ph.body) : undefined;
          for (const [h, kind] of [[rHdr, "receipts"], [pHdr, "payloads"]] as const) {
            if (h && (h.seg !== seg || h.kind !== kind || h.firstRec !== rec)) {
              throw new VeenError(
                "E.UNAVAILABLE",
                `${kind}/${segmentName(seg)}.cborseq header (segment ${h.seg}, first record ${h.firstRec}) ` +
                  `does not continue the log at record ${rec}`,
              );
            }
          }
          summary = new SegmentSummary(seg, rec);
          if (!rHdr || !pHdr) {
            if (rh.kind === "ok" && !rHdr) throw this.#damage("receipts", seg, 0, "bad segment header");
            if (ph.kind === "ok" && !pHdr) throw this.#damage("payloads", seg, 0, "bad segment header");
            if (!newest) throw this.#damage("receipts", seg, 0, "rotated segment without headers");
            if (rLen > 0 || pLen > 0) {
              const how = await this.#tailVerdict(seg, pos, newest, opts.beforeCut);
              this.#onRepair(`segment ${segmentName(seg)} has a torn header (${how}); moved to quarantine/`);
              cut = true;
            }
          } else {
            pos = { seg, rOff: r!.offset, pOff: p!.offset, rec };
          }
        }
        let chunk: LogRecord[] = [];
        while (!cut) {
          const rf = r ? await r.next() : END;
          const pf = p ? await p.next() : END;
          if (rf.kind === "ok" && pf.kind === "ok") {
            let rr: ReceiptRecord;
            try {
              rr = decodeReceiptBody(rf.body);
            } catch (e) {
              throw this.#damage("receipts", seg, rf.offset, `record ${rec} does not decode: ${String(e)}`);
            }
            const loc = { seg, rOff: rf.offset, rLen: rf.length, pOff: pf.offset, pLen: pf.length };
            summary?.add(toHex(rr.label), rr, rf.offset, pf.offset);
            chunk.push({ ...rr, msg: pf.body.slice(), rec, loc });
            rec++;
            pos = { seg, rOff: rf.offset + rf.length, pOff: pf.offset + pf.length, rec };
            if (chunk.length >= chunkSize) {
              yield chunk;
              chunk = [];
            }
            continue;
          }
          if (rf.kind === "end" && pf.kind === "end") break;
          const how = await this.#tailVerdict(seg, pos, newest, opts.beforeCut);
          this.#onRepair(
            `torn log tail at segment ${
              segmentName(seg)
            } record ${rec} (${how}); moved to quarantine/ and cut ` +
              `at receipts ${pos.rOff}, payloads ${pos.pOff}`,
          );
          cut = true;
        }
        if (chunk.length > 0) yield chunk;
      } finally {
        r?.close();
        p?.close();
      }
      if (cut) {
        await this.#cut(seg, pos.rOff, pos.pOff);
        break; // only the newest segment is ever cut: nothing follows it
      }
    }
    // Position the writer after the last good record.
    const seg = pos.seg;
    this.#seg = seg;
    this.#rec = pos.rec;
    this.#rSize = pos.rOff;
    this.#pSize = pos.pOff;
    this.#headerPending = pos.rOff === 0;
    this.#summary = this.#headerPending ? new SegmentSummary(seg, pos.rec) : summary;
    if (this.#summary) {
      this.#summary.rBytes = this.#rSize;
      this.#summary.pBytes = this.#pSize;
    }
    if (!this.#segments.includes(seg)) this.#segments.push(seg);
    for (const f of ["receipts", "payloads"] as const) this.#first[f] = Math.min(this.#first[f], seg);
    this.#rFile = await Deno.open(this.#path("receipts", seg), { append: true, create: true, mode: 0o600 });
    this.#pFile = await Deno.open(this.#path("payloads", seg), { append: true, create: true, mode: 0o600 });
    this.#dirSyncPending = true;
    this.#ready = true;
    let total = 0;
    for (const s of this.#segments) {
      total += Math.max(0, await fileSize(this.#path("receipts", s))) +
        Math.max(0, await fileSize(this.#path("payloads", s)));
      // Rotated segments without a sidecar (a crash before it was written) get one in the background.
      if (s < seg && (await fileSize(`${this.rDir}/${segmentName(s)}.idx`)) < 0) {
        this.#buildIndexLater(s, null);
      }
    }
    this.#totalBytes = total;
  }

  #damage(fam: Family, seg: number, offset: number, why: string): StorageDamage {
    return new StorageDamage(`${fam}/${segmentName(seg)}.cborseq`, offset, why);
  }

  /**
   * Classifies the end of segment `seg` from the record pair at `at` (hub/log_tail.ts): returns how a torn newest
   * segment was torn once `beforeCut` accepted the records the cut drops; throws {@link StorageDamage} otherwise.
   */
  async #tailVerdict(
    seg: number,
    at: LogPosition,
    newest: boolean,
    beforeCut: ((dropped: ReceiptRecord[]) => void | Promise<void>) | undefined,
  ): Promise<string> {
    const fam = async (f: Family, off: number) => ({
      file: `${f}/${segmentName(seg)}.cborseq`,
      scan: await scanFileTail(this.#path(f, seg), off),
    });
    const r = await fam("receipts", at.rOff);
    const p = await fam("payloads", at.pOff);
    // From offset 0 the first complete receipts frame is the segment header, not a record.
    const dropped = pairVerdict(r, p, newest).dropped.filter((f) => f.offset > 0);
    const records = decodeReceiptFrames(r.file, dropped);
    await beforeCut?.(records);
    const how = (x: typeof r) => (x.scan.end.kind === "torn" ? x.scan.end.how : x.scan.end.kind);
    return `receipts ${how(r)}, payloads ${how(p)}, ${records.length} complete receipts record(s) dropped`;
  }

  /** Moves the bytes of `seg` past the cut into `quarantine/`, then truncates both families there (fdatasync'ed). */
  async #cut(seg: number, rCut: number, pCut: number): Promise<void> {
    for (const [f, cut] of [["receipts", rCut], ["payloads", pCut]] as const) {
      const path = this.#path(f, seg);
      const rest = await readRest(path, cut);
      if (rest.length === 0) continue;
      this.#readers.drop(path);
      await mkdir700(this.#quarantineDir);
      await writeFileAtomic(this.#quarantineDir, `${f}-${segmentName(seg)}-${cut}-${Date.now()}.bin`, rest);
      await Deno.truncate(path, cut);
      const fh = await Deno.open(path, { write: true });
      try {
        await fh.syncData();
      } finally {
        fh.close();
      }
    }
  }

  /** The position after the last appended record. */
  get end(): LogPosition {
    return { seg: this.#seg, rOff: this.#rSize, pOff: this.#pSize, rec: this.#rec };
  }

  /** Number of segment numbers present. */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /** The active (newest) segment, which is never dropped. */
  get activeSegment(): number {
    return this.#seg;
  }

  /** The first segment of `fam` still present; every lower number was dropped by retention (O(1)). */
  firstSegment(fam: Family): number {
    return this.#first[fam];
  }

  /** Whether segment `seg` of `fam` was dropped by retention. */
  isDropped(fam: Family, seg: number): boolean {
    return seg < this.#first[fam];
  }

  /** Directory of a family. */
  familyDir(fam: Family): string {
    return fam === "receipts" ? this.rDir : this.pDir;
  }

  /** The `.cborseq` path of a segment. */
  segmentPath(fam: Family, seg: number): string {
    return this.#path(fam, seg);
  }

  /**
   * Retention: removes the oldest present segment `seg` of `fam` (it must be rotated, i.e. below the active one, and
   * have its `.idx` sidecar, which stays as the tombstone). The caller makes sure its records are indexed.
   */
  async dropSegment(fam: Family, seg: number): Promise<void> {
    if (!this.#ready) throw new Error("SegmentLog.replay must run before dropSegment");
    if (seg !== this.#first[fam] || seg >= this.#seg) {
      throw new VeenError(
        "E.UNAVAILABLE",
        `Only the oldest rotated segment can be dropped (${fam} ${segmentName(this.#first[fam])}, active ${
          segmentName(this.#seg)
        }), not ${segmentName(seg)}`,
      );
    }
    const dir = this.familyDir(fam);
    if ((await fileSize(`${dir}/${segmentName(seg)}.idx`)) < 0) {
      throw new VeenError("E.UNAVAILABLE", `Segment ${fam}/${segmentName(seg)} has no sidecar yet`);
    }
    const path = this.#path(fam, seg);
    const size = Math.max(0, await fileSize(path));
    this.#readers.drop(path);
    try {
      await Deno.remove(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await syncDir(dir);
    this.#first[fam] = seg + 1;
    this.#totalBytes -= size;
    if (this.#first.receipts > seg && this.#first.payloads > seg) {
      this.#segments = this.#segments.filter((s) => s !== seg);
    }
  }

  /** Bytes in all segment files. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /**
   * Starts the next segment. It first waits until the last append to the current one is durable, so that only the
   * newest segment can ever hold unsynced (tearable) bytes: the rule recovery relies on (hub/log_tail.ts).
   */
  async #rotate(): Promise<void> {
    await Promise.all(this.#lastDurable);
    const old = this.#seg;
    const summary = this.#summary;
    this.#rFile?.close();
    this.#pFile?.close();
    this.#seg = old + 1;
    this.#rSize = 0;
    this.#pSize = 0;
    this.#headerPending = true;
    this.#summary = new SegmentSummary(this.#seg, this.#rec);
    this.#segments.push(this.#seg);
    this.#rFile = await Deno.open(this.#path("receipts", this.#seg), {
      append: true,
      create: true,
      mode: 0o600,
    });
    this.#pFile = await Deno.open(this.#path("payloads", this.#seg), {
      append: true,
      create: true,
      mode: 0o600,
    });
    this.#dirSyncPending = true;
    this.#buildIndexLater(old, summary);
  }

  #buildIndexLater(seg: number, summary: SegmentSummary | null): void {
    const p = (async () => {
      const s = summary ?? (await this.#scanSummary(seg));
      const bytes = s.encode();
      await writeFileAtomic(this.rDir, `${segmentName(seg)}.idx`, bytes);
      await writeFileAtomic(this.pDir, `${segmentName(seg)}.idx`, bytes);
    })().catch((e) => this.#onRepair(`could not write index of segment ${segmentName(seg)}: ${String(e)}`));
    this.#background.add(p);
    p.finally(() => this.#background.delete(p));
  }

  async #scanSummary(seg: number): Promise<SegmentSummary> {
    const r = await FrameReader.open(this.#path("receipts", seg), 0, this.#onRead);
    const p = await FrameReader.open(this.#path("payloads", seg), 0, this.#onRead);
    try {
      const rh = await r.next();
      await p.next();
      const hdr = rh.kind === "ok" ? parseHeader(rh.body) : undefined;
      if (!hdr) throw new VeenError("E.UNAVAILABLE", `Segment ${segmentName(seg)} has no header`);
      const s = new SegmentSummary(seg, hdr.firstRec);
      for (;;) {
        const rf = await r.next();
        const pf = await p.next();
        if (rf.kind !== "ok" || pf.kind !== "ok") break;
        const rr = decodeReceiptBody(rf.body);
        s.add(toHex(rr.label), rr, rf.offset, pf.offset);
      }
      s.rBytes = r.offset;
      s.pBytes = p.offset;
      return s;
    } finally {
      r.close();
      p.close();
    }
  }

  /**
   * Encodes `entries` into one buffer per family (rotating first when the active segment is full), advances the
   * writer, and returns the locations plus the write + fdatasync promises (one per file, run concurrently). The
   * caller must await `durable` before indexing; a failure leaves the log in an unknown state (reopen to repair).
   */
  async append(entries: readonly AppendEntry[]): Promise<PreparedAppend> {
    if (!this.#ready) throw new Error("SegmentLog.replay must run before append");
    if ((this.#rSize >= this.#segmentBytes || this.#pSize >= this.#segmentBytes) && !this.#headerPending) {
      await this.#rotate();
    }
    let rTotal = 0;
    let pTotal = 0;
    let rHdr: Uint8Array | undefined;
    let pHdr: Uint8Array | undefined;
    if (this.#headerPending) {
      rHdr = encodeFrame(headerBody("receipts", this.#seg, this.#rec));
      pHdr = encodeFrame(headerBody("payloads", this.#seg, this.#rec));
      rTotal += rHdr.length;
      pTotal += pHdr.length;
    }
    const rLens = new Array<number>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const bl = receiptBodyLength(e);
      rLens[i] = bl;
      rTotal += frameLength(bl);
      pTotal += frameLength(e.msg.length);
    }
    const rBuf = new Uint8Array(rTotal);
    const pBuf = new Uint8Array(pTotal);
    let ro = 0;
    let po = 0;
    if (rHdr && pHdr) {
      rBuf.set(rHdr, 0);
      pBuf.set(pHdr, 0);
      ro = rHdr.length;
      po = pHdr.length;
    }
    const locs = new Array<RecordLocation>(entries.length);
    const seg = this.#seg;
    const summary = this.#summary;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const rStart = ro;
      const bo = writeFramePrefix(rBuf, ro, rLens[i]!);
      writeReceiptBody(rBuf, bo, e);
      ro = sealFrame(rBuf, bo, rLens[i]!);
      const pStart = po;
      const mo = writeFramePrefix(pBuf, po, e.msg.length);
      pBuf.set(e.msg, mo);
      po = sealFrame(pBuf, mo, e.msg.length);
      const loc = {
        seg,
        rOff: this.#rSize + rStart,
        rLen: ro - rStart,
        pOff: this.#pSize + pStart,
        pLen: po - pStart,
      };
      locs[i] = loc;
      summary?.add(toHex(e.label), e, loc.rOff, loc.pOff);
    }
    this.#rSize += rTotal;
    this.#pSize += pTotal;
    this.#totalBytes += rTotal + pTotal;
    if (summary) {
      summary.rBytes = this.#rSize;
      summary.pBytes = this.#pSize;
    }
    this.#rec += entries.length;
    this.#headerPending = false;
    const rFile = this.#rFile!;
    const pFile = this.#pFile!;
    writeAllSync(rFile, rBuf);
    writeAllSync(pFile, pBuf);
    const sync = this.#sync;
    const durable = [
      sync.file(rFile, this.#path("receipts", seg)),
      sync.file(pFile, this.#path("payloads", seg)),
    ];
    if (this.#dirSyncPending) {
      this.#dirSyncPending = false;
      durable.push(sync.dir(this.rDir), sync.dir(this.pDir));
    }
    this.#lastDurable = durable;
    return { locs, end: this.end, durable };
  }

  /**
   * Reads the records at `locs` (in that order): exact RECEIPT and MSG bytes, checksums verified. Reads are
   * synchronous (page-cache hits cost microseconds; a cold read blocks the event loop for one disk access). The
   * caller checks first that no location is in a dropped segment ({@link isDropped}); a file found missing is
   * E.NOT_FOUND "not retained".
   */
  read(locs: readonly RecordLocation[]): { record: ReceiptRecord; msg: Uint8Array }[] {
    const rBodies = this.#readFamily("receipts", locs.map((l) => [l.seg, l.rOff, l.rLen]));
    const pBodies = this.#readFamily("payloads", locs.map((l) => [l.seg, l.pOff, l.pLen]));
    return locs.map((_, i) => ({ record: decodeReceiptBody(rBodies[i]!), msg: pBodies[i]!.slice() }));
  }

  /** The receipts records at `locs` only (no payload read), checksums verified; see {@link read}. */
  readReceipts(locs: readonly RecordLocation[]): ReceiptRecord[] {
    return this.#readFamily("receipts", locs.map((l) => [l.seg, l.rOff, l.rLen])).map(decodeReceiptBody);
  }

  /** Reads frames `[seg, off, len]`, coalescing nearby frames of one segment into one seek + read. */
  #readFamily(fam: Family, wants: [number, number, number][]): Uint8Array[] {
    const out = new Array<Uint8Array>(wants.length);
    const order = wants.map((_, i) => i).sort((a, b) => {
      const x = wants[a]!;
      const y = wants[b]!;
      return x[0] - y[0] || x[1] - y[1];
    });
    const GAP = 16 * 1024;
    const SPAN = 1024 * 1024;
    let i = 0;
    while (i < order.length) {
      const first = wants[order[i]!]!;
      const seg = first[0];
      const start = first[1];
      let end = start + first[2];
      let j = i + 1;
      while (j < order.length) {
        const w = wants[order[j]!]!;
        if (w[0] !== seg || w[1] > end + GAP || w[1] + w[2] - start > SPAN) break;
        end = Math.max(end, w[1] + w[2]);
        j++;
      }
      const path = this.#path(fam, seg);
      let buf: Uint8Array;
      try {
        buf = this.#readers.read(path, start, end - start);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new VeenError("E.NOT_FOUND", `Log segment ${fam}/${segmentName(seg)} is not retained`);
        }
        throw e;
      }
      this.#onRead(buf.length);
      for (let k = i; k < j; k++) {
        const [, off, len] = wants[order[k]!]!;
        const where = `${fam}/${segmentName(seg)}.cborseq at ${off}`;
        if (off - start + len > buf.length) throw new VeenError("E.UNAVAILABLE", `Short read in ${where}`);
        out[order[k]!] = frameBody(buf.subarray(off - start, off - start + len), where);
      }
      i = j;
    }
    return out;
  }

  /** Waits for background sidecar writes, then closes every file. */
  async close(): Promise<void> {
    await Promise.all([...this.#background]);
    this.#rFile?.close();
    this.#pFile?.close();
    this.#rFile = undefined;
    this.#pFile = undefined;
    this.#readers.closeAll();
  }
}

// ---------------------------------------------------------------- offline scan

/** A record as seen by {@link scanLog}; `msg` is null when the payloads segment is gone (retention). */
export interface ScannedRecord extends ReceiptRecord {
  rec: number;
  segment: number;
  receiptOffset: number;
  payloadOffset: number;
  msg: Uint8Array | null;
}

/** A torn end of the newest segment, as {@link scanLog} reports it: what the next start cuts (hub/log_tail.ts). */
export interface TornTail {
  /** The damaged file, relative to the data dir, and the offset of its first torn byte. */
  file: string;
  offset: number;
  how: string;
  /** Complete receipts records the cut drops (their payload is torn). */
  dropped: ReceiptRecord[];
}

/**
 * Every receipts record (with its MSG) of the log in `dir`, in log order, for offline tools such as `veen hub fsck`.
 * Checks segment headers and frame checksums with the start-up recovery's rule (hub/log_tail.ts): damage it would
 * refuse raises {@link StorageDamage}; a torn end of the newest segment, which the next start cuts, ends the scan
 * and is reported through `onTornTail`.
 */
export async function* scanLog(
  dir: string,
  opts: { onTornTail?: (t: TornTail) => void } = {},
): AsyncGenerator<ScannedRecord> {
  const rDir = `${dir}/receipts`;
  const pDir = `${dir}/payloads`;
  const segs = await listSegments(rDir);
  const pSegs = new Set(await listSegments(pDir));
  let expectRec: number | undefined;
  for (const [si, seg] of segs.entries()) {
    const newest = si === segs.length - 1 && (await fileSize(`${rDir}/${segmentName(seg)}.idx`)) < 0;
    const rFile = `receipts/${segmentName(seg)}.cborseq`;
    const pFile = `payloads/${segmentName(seg)}.cborseq`;
    const r = await FrameReader.open(`${dir}/${rFile}`, 0, () => {});
    const p = pSegs.has(seg) ? await FrameReader.open(`${dir}/${pFile}`, 0, () => {}) : null;
    /** Classifies the end from the record pair at these offsets: throws, or reports the torn tail. */
    const verdict = async (rOff: number, pOff: number) => {
      const rs = { file: rFile, scan: await scanFileTail(`${dir}/${rFile}`, rOff) };
      const ps = p ? { file: pFile, scan: await scanFileTail(`${dir}/${pFile}`, pOff) } : null;
      const dropped = decodeReceiptFrames(
        rFile,
        pairVerdict(rs, ps, newest).dropped.filter((f) => f.offset > 0),
      );
      const first = [rs, ps].find((x) => x !== null && x.scan.end.kind !== "clean") ?? rs;
      const end = first.scan.end;
      opts.onTornTail?.({
        file: first.file,
        offset: end.kind === "clean" ? (first.scan.frames[0]?.offset ?? rOff) : end.offset,
        how: end.kind === "torn" ? end.how : "record without its payload",
        dropped,
      });
    };
    try {
      const rh = await r.next();
      const ph = p ? await p.next() : null;
      if (rh.kind === "end" && (ph === null || ph.kind === "end")) {
        if (!newest) throw new StorageDamage(rFile, 0, "rotated segment without headers");
        continue;
      }
      const hdr = rh.kind === "ok" ? parseHeader(rh.body) : undefined;
      const phdr = ph?.kind === "ok" ? parseHeader(ph.body) : undefined;
      if (rh.kind === "ok" && (!hdr || hdr.seg !== seg || hdr.kind !== "receipts")) {
        throw new StorageDamage(rFile, 0, "bad segment header");
      }
      if (ph?.kind === "ok" && (!phdr || phdr.seg !== seg || phdr.kind !== "payloads")) {
        throw new StorageDamage(pFile, 0, "bad segment header");
      }
      if (!hdr || (ph !== null && !phdr)) {
        await verdict(0, 0);
        return;
      }
      if (expectRec !== undefined && hdr.firstRec !== expectRec) {
        throw new StorageDamage(rFile, 0, `segment starts at record ${hdr.firstRec}, expected ${expectRec}`);
      }
      if (phdr && phdr.firstRec !== hdr.firstRec) {
        throw new StorageDamage(
          pFile,
          0,
          `segment starts at record ${phdr.firstRec}, receipts at ${hdr.firstRec}`,
        );
      }
      let rec = hdr.firstRec;
      for (;;) {
        const rOff = r.offset;
        const pOff = p?.offset ?? 0;
        const rf = await r.next();
        const pf = p ? await p.next() : null;
        if (rf.kind === "end" && (pf === null || pf.kind === "end")) break;
        if (rf.kind !== "ok" || (pf !== null && pf.kind !== "ok")) {
          await verdict(rOff, pOff);
          return;
        }
        const [rr] = decodeReceiptFrames(rFile, [{ offset: rf.offset, length: rf.length, body: rf.body }]);
        yield {
          ...rr!,
          msg: pf?.kind === "ok" ? pf.body.slice() : null,
          rec,
          segment: seg,
          receiptOffset: rf.offset,
          payloadOffset: pf?.kind === "ok" ? pf.offset : -1,
        };
        rec++;
      }
      expectRec = rec;
    } finally {
      r.close();
      p?.close();
    }
  }
}

// ---------------------------------------------------------------- single framed files

/**
 * One append-only framed file (`checkpoints.cborseq`, `admissions.cborseq`): append + fdatasync, positional reads,
 * and recovery of the tail after an indexed offset.
 */
export class RecordFile {
  readonly path: string;
  /** The directory and the name of `path`. */
  readonly #dir: string;
  readonly #name: string;
  readonly #onRead: (n: number) => void;
  readonly #sync: Syncer;
  #size = 0;
  #w: Deno.FsFile | undefined;
  readonly #readers = new SyncReaders(1);
  readonly writeLock = new Lock();
  #created = false;

  private constructor(path: string, onRead: (n: number) => void, sync: Syncer) {
    this.#sync = sync;
    this.path = path;
    const cut = path.lastIndexOf("/");
    this.#dir = cut < 0 ? "." : path.slice(0, cut) || "/";
    this.#name = path.slice(cut + 1);
    this.#onRead = onRead;
  }

  /**
   * Opens `path`, returning the file and the bodies of the records after `indexedOffset` (with their offsets and
   * lengths). A torn tail (hub/log_tail.ts) is moved to quarantine, cut and reported through `onRepair`; any other
   * damage past the index raises {@link StorageDamage} and changes nothing.
   */
  static async open(
    path: string,
    indexedOffset: number,
    opts: {
      onRead?: (n: number) => void;
      onRepair?: (what: string) => void;
      /** The file's name in damage reports (default `path`). */
      relPath?: string;
      /** Where a cut torn tail is kept (default `quarantine/` beside the file). */
      quarantineDir?: string;
      /** The durability barrier of appends (default {@link OS_SYNC}). */
      sync?: Syncer;
    } = {},
  ): Promise<{ file: RecordFile; tail: { off: number; len: number; body: Uint8Array }[] }> {
    const rf = new RecordFile(path, opts.onRead ?? (() => {}), opts.sync ?? OS_SYNC);
    const size = await fileSize(path);
    rf.#created = size < 0;
    if (size >= 0 && size < indexedOffset) {
      throw new VeenError("E.UNAVAILABLE", `${path} is shorter than its index (${size} < ${indexedOffset})`);
    }
    const tail: { off: number; len: number; body: Uint8Array }[] = [];
    let good = Math.max(0, indexedOffset);
    if (size > indexedOffset) {
      // The records past the index, read whole: this tail is what a crash left unindexed (small).
      const scan = await scanFileTail(path, indexedOffset);
      rf.#onRead(size - indexedOffset);
      for (const f of scan.frames) tail.push({ off: f.offset, len: f.length, body: f.body.slice() });
      if (scan.end.kind === "corrupt") {
        throw new StorageDamage(opts.relPath ?? path, scan.end.offset, scan.end.why);
      }
      good = size;
      if (scan.end.kind === "torn") {
        good = scan.end.offset;
        const rest = await readRest(path, good);
        const q = opts.quarantineDir ?? `${rf.#dir}/quarantine`;
        await mkdir700(q);
        await writeFileAtomic(q, `${rf.#name}-${good}-${Date.now()}.bin`, rest);
        opts.onRepair?.(`${path}: torn record at ${good} (${scan.end.how}); moved to quarantine/ and cut`);
        await Deno.truncate(path, good);
      }
    }
    rf.#w = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    if (good < size) await rf.#w.syncData();
    rf.#size = Math.max(0, good);
    return { file: rf, tail };
  }

  get size(): number {
    return this.#size;
  }

  /** Appends framed `bodies` and fdatasyncs; returns each record's `[offset, length]`. Call under `writeLock`. */
  async append(bodies: readonly Uint8Array[]): Promise<[number, number][]> {
    const { buf, locs } = framed(bodies, this.#size);
    const total = buf.length;
    await writeAll(this.#w!, buf);
    await this.#sync.file(this.#w!, this.path);
    if (this.#created) {
      this.#created = false;
      await this.#sync.dir(this.#dir);
    }
    this.#size += total;
    return locs;
  }

  /** Every record up to the current size, in order (offline-style full read; used by checkpoint retention). */
  async readAll(): Promise<{ off: number; len: number; body: Uint8Array }[]> {
    const out: { off: number; len: number; body: Uint8Array }[] = [];
    if (this.#size === 0) return out;
    const reader = await FrameReader.open(this.path, 0, this.#onRead);
    try {
      while (reader.offset < this.#size) {
        const f = await reader.next();
        if (f.kind !== "ok") {
          throw new VeenError(
            "E.UNAVAILABLE",
            `${this.path}: ${f.kind === "bad" ? f.why : f.kind} record at ${reader.offset}`,
          );
        }
        out.push({ off: f.offset, len: f.length, body: f.body.slice() });
      }
    } finally {
      reader.close();
    }
    return out;
  }

  /** The body of the first record, if any. */
  async first(): Promise<Uint8Array | undefined> {
    if (this.#size === 0) return undefined;
    const reader = await FrameReader.open(this.path, 0, this.#onRead, 4096);
    try {
      const f = await reader.next();
      return f.kind === "ok" ? f.body.slice() : undefined;
    } finally {
      reader.close();
    }
  }

  /**
   * Replaces the whole file with `bodies` framed (tmp file, fdatasync, rename, directory fsync) and returns each
   * record's `[offset, length]`. Call under `writeLock`.
   */
  async replaceWith(bodies: readonly Uint8Array[]): Promise<[number, number][]> {
    const { buf, locs } = framed(bodies, 0);
    const total = buf.length;
    await writeFileAtomic(this.#dir, this.#name, buf);
    this.#w?.close();
    this.#readers.closeAll();
    this.#w = await Deno.open(this.path, { append: true, mode: 0o600 });
    this.#size = total;
    return locs;
  }

  /** The body of the record at `[off, len]`, checksum verified. */
  read(off: number, len: number): Uint8Array {
    const buf = this.#readers.read(this.path, off, len);
    this.#onRead(buf.length);
    return frameBody(buf, `${this.path} at ${off}`);
  }

  async close(): Promise<void> {
    await this.writeLock.idle();
    this.#w?.close();
    this.#w = undefined;
    this.#readers.closeAll();
  }
}
