/**
 * Segment names, positions in the log, segment headers and the `.idx` sidecar of a rotated segment (its summary
 * while written, its tombstone after retention). The formats: docs/durability.md "Data directory".
 */
import { decodeCbor, encodeCbor } from "../core/mod.ts";
import type { CborValue } from "../core/mod.ts";
import { encodeFrame, frameBody } from "./frame.ts";
import { dirEntries } from "./files.ts";
import type { ReceiptRecord } from "./receipt_record.ts";
import { StorageDamage } from "./storage_damage.ts";

// ---------------------------------------------------------------- names, positions and headers

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

/** Segment numbers present in a family directory, ascending. */
export async function listSegments(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await dirEntries(dir)) {
    const m = e.isFile ? SEGMENT_RE.exec(e.name) : null;
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** The body of a segment header. */
export function headerBody(kind: Family, seg: number, firstRec: number): Uint8Array {
  return encodeCbor(
    new Map<string, CborValue>([["v", 1], ["kind", kind], ["segment", seg], ["first_rec", firstRec]]),
  );
}

/** Parses a segment header body; undefined when it is not one. */
export function parseHeader(body: Uint8Array): { kind: string; seg: number; firstRec: number } | undefined {
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
export class SegmentSummary {
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
      body = frameBody(bytes, file, 0);
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
