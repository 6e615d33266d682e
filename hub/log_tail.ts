/**
 * How a framed file ends: the one rule that start-up recovery ({@link SegmentLog.replay}, `RecordFile.open`) and
 * `veen hub fsck` share, so that the hub repairs exactly what fsck calls a crash leftover and refuses exactly what
 * fsck calls corruption (docs/durability.md "Recovery: torn tails and corruption").
 *
 * A crash can only tear what was never fdatasync'ed, and nothing unsynced was ever acknowledged: the end of the
 * newest log segment (rotation waits for the previous segment to be durable) and the end of a single record file.
 * A killed process leaves a prefix of its last write, so the final frame ends early ("short"); a power loss may also
 * leave the unsynced end zero-filled ("zeros"). Everything else is corruption of bytes that may have been
 * acknowledged, and recovery must refuse rather than truncate it: a frame whose check fails over non-zero bytes, a
 * frame that is valid under a length head one byte away from its own (its length field was altered), a damaged frame
 * followed by a valid record of the file's kind, or any damage in a rotated segment.
 *
 * "A valid record of the file's kind" and not "any valid frame": a frame's body can hold client bytes (a MSG is all
 * client bytes, a receipts record holds 32-byte client fields), so a client could embed valid frames that a crash
 * tearing its write would expose; a whole record of the file's kind (a receipts record with its RECEIPT, a
 * checkpoint or admission record) cannot be embedded that way. The payloads family has no such test (a MSG frame
 * can be embedded in a MSG): there a torn frame is judged by its length head alone.
 */
import { cborHeadLen } from "../core/mod.ts";
import { mkdir700, writeFileAtomic } from "./files.ts";
import { CHECK_LEN, checkMatches, MAX_FRAME_BODY, parseFrame, readCborHead } from "./frame.ts";
import { StorageDamage } from "./storage_damage.ts";

/** A complete, valid frame found while scanning a tail. */
export interface TailFrame {
  offset: number;
  length: number;
  body: Uint8Array;
}

/** How the scanned bytes end: at a frame boundary, torn by a crash, or corrupt (offsets are file offsets). */
export type TailEnd =
  | { kind: "clean" }
  | { kind: "torn"; offset: number; how: "short" | "zeros" }
  | { kind: "corrupt"; offset: number; why: string };

/** The valid frames from the scan's start, then how the bytes end. */
export interface TailScan {
  frames: TailFrame[];
  end: TailEnd;
}

/**
 * What a scan knows of the file's kind. `isBody`: whether bytes decode as one of its frame bodies (a MSG, a receipts,
 * checkpoint or admission record); a frame repaired by another length counts only then, since a torn MSG's prefix
 * could otherwise be made to look like a complete frame (a client picks its label's bytes). `isRecord`: the same
 * test where a whole body cannot be client bytes (absent for payloads: a MSG could hold a MSG frame).
 */
export interface TailKind {
  isBody?: (body: Uint8Array) => boolean;
  isRecord?: (body: Uint8Array) => boolean;
}

/**
 * Scans `buf`, the bytes of a file from the frame boundary `base` to its end: every valid frame, then the first
 * damaged one classified as torn or corrupt by the rule above (pure; O(bytes) plus a bounded number of hashes).
 */
export function scanTail(buf: Uint8Array, base: number, kind: TailKind = {}): TailScan {
  const frames: TailFrame[] = [];
  let off = 0;
  for (;;) {
    if (off >= buf.length) return { frames, end: { kind: "clean" } };
    const f = parseFrame(buf, off);
    if (f.kind === "ok") {
      frames.push({
        offset: base + off,
        length: f.length,
        body: buf.subarray(f.bodyOffset, f.bodyOffset + f.bodyLength),
      });
      off += f.length;
      continue;
    }
    const at = base + off;
    if (f.kind === "bad") {
      return {
        frames,
        end: allZero(buf, off)
          ? { kind: "torn", offset: at, how: "zeros" }
          : { kind: "corrupt", offset: at, why: f.why },
      };
    }
    const isBody = kind.isBody ?? (() => true);
    if (completeUnderOtherLength(buf, off, isBody) || validUnderNearbyHead(buf, off, isBody)) {
      return { frames, end: { kind: "corrupt", offset: at, why: "length field altered" } };
    }
    const next = kind.isRecord === undefined ? -1 : nextRecord(buf, off + 1, kind.isRecord);
    if (next >= 0) {
      return {
        frames,
        end: {
          kind: "corrupt",
          offset: at,
          why: `unreadable record followed by a valid one at ${base + next}`,
        },
      };
    }
    return { frames, end: { kind: "torn", offset: at, how: "short" } };
  }
}

function allZero(buf: Uint8Array, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Offset of the first valid frame at or after `from` whose body is a record of the file's kind, or -1. */
function nextRecord(buf: Uint8Array, from: number, isRecord: (body: Uint8Array) => boolean): number {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] !== 0x82) continue;
    const f = parseFrame(buf, i);
    if (f.kind === "ok" && isRecord(buf.subarray(f.bodyOffset, f.bodyOffset + f.bodyLength))) return i;
  }
  return -1;
}

/**
 * Whether changing one byte of the frame's length head (the up to 9 bytes after `0x82`) makes the frame at `off`
 * valid: then the head was altered, not torn. A torn write cannot pass (its check would have to match by chance,
 * 2^-64), and neither can client bytes (the check covers bytes that depend on it: ct_hash, the signatures).
 */
function validUnderNearbyHead(buf: Uint8Array, off: number, isBody: (body: Uint8Array) => boolean): boolean {
  const head = buf.slice(off + 1, Math.min(buf.length, off + 10));
  for (let i = 0; i < head.length; i++) {
    const orig = head[i]!;
    for (let v = 0; v < 256; v++) {
      if (v === orig) continue;
      head[i] = v;
      const h = readCborHead(head, 0);
      if (h === undefined || h.major !== 2 || !h.canonical || h.n > MAX_FRAME_BODY || i >= h.next) continue;
      const bodyOff = off + 1 + h.next;
      const end = bodyOff + h.n;
      if (end + 1 + CHECK_LEN > buf.length || buf[end] !== 0x48) continue;
      if (checkMatches(buf, bodyOff, end) && isBody(buf.subarray(bodyOff, end))) {
        head[i] = orig;
        return true;
      }
    }
    head[i] = orig;
  }
  return false;
}

/** Whether the bytes from `off` to the end are one complete frame whose length head says otherwise. */
function completeUnderOtherLength(
  buf: Uint8Array,
  off: number,
  isBody: (body: Uint8Array) => boolean,
): boolean {
  const total = buf.length - off;
  const checkAt = buf.length - CHECK_LEN;
  if (buf[checkAt - 1] !== 0x48) return false;
  for (const headLen of [1, 2, 3, 5, 9]) {
    const bodyLen = total - 1 - headLen - 1 - CHECK_LEN;
    if (bodyLen < 0 || cborHeadLen(bodyLen) !== headLen) continue;
    const bodyOff = off + 1 + headLen;
    if (checkMatches(buf, bodyOff, checkAt - 1) && isBody(buf.subarray(bodyOff, checkAt - 1))) return true;
  }
  return false;
}

/** Reads a file from `offset` to its end ([] when it is absent or not longer). */
export async function readRest(path: string, offset: number): Promise<Uint8Array> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Uint8Array(0);
    throw e;
  }
  try {
    const size = (await f.stat()).size;
    if (size <= offset) return new Uint8Array(0);
    const buf = new Uint8Array(size - offset);
    await f.seek(offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < buf.length) {
      const n = await f.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    f.close();
  }
}

/**
 * The repair of a torn end: copies the bytes of `path` from `cut` to `quarantineDir/<name>-<cut>-<ms>.bin` (never
 * read by the hub, kept for an operator), then truncates `path` at `cut` and fdatasyncs it. Returns the bytes moved.
 */
export async function quarantineTail(
  path: string,
  cut: number,
  quarantineDir: string,
  name: string,
): Promise<number> {
  const rest = await readRest(path, cut);
  if (rest.length === 0) return 0;
  await mkdir700(quarantineDir);
  await writeFileAtomic(quarantineDir, `${name}-${cut}-${Date.now()}.bin`, rest);
  await Deno.truncate(path, cut);
  const f = await Deno.open(path, { write: true });
  try {
    await f.syncData();
  } finally {
    f.close();
  }
  return rest.length;
}

/** Scans the rest of `path` from the frame boundary `offset`. */
export async function scanFileTail(path: string, offset: number, kind: TailKind = {}): Promise<TailScan> {
  return scanTail(await readRest(path, offset), offset, kind);
}

/**
 * The verdict on a segment whose aligned receipts/payloads records stop pairing at one record: each family's
 * scan from that record (`payloads` null when that family's file was dropped by retention). In the newest
 * segment a torn end in either family is a crash leftover: both are cut at that record, and `dropped` holds the
 * complete receipts frames past it (records whose payload never became durable). A rotated segment must end
 * cleanly in both families at the same record. Throws {@link StorageDamage} otherwise.
 */
export function pairVerdict(
  receipts: { file: string; scan: TailScan },
  payloads: { file: string; scan: TailScan } | null,
  newest: boolean,
): { dropped: TailFrame[] } {
  for (const f of [receipts, payloads]) {
    if (f !== null && f.scan.end.kind === "corrupt") {
      throw new StorageDamage(f.file, f.scan.end.offset, f.scan.end.why);
    }
  }
  if (newest) return { dropped: receipts.scan.frames };
  const both = [receipts, payloads].filter((f) => f !== null);
  for (const { file, scan: { end } } of both) {
    if (end.kind === "torn") {
      throw new StorageDamage(
        file,
        end.offset,
        `${end.how === "zeros" ? "zero-filled" : "torn"} record in a rotated segment`,
      );
    }
  }
  for (const { file, scan: { frames } } of both) {
    if (frames.length > 0) {
      throw new StorageDamage(file, frames[0]!.offset, "record without its counterpart in the other family");
    }
  }
  return { dropped: [] };
}
