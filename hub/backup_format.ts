/**
 * The backup file (docs/durability.md "Backup and restore"): an RFC 8742 CBOR sequence of frames (hub/frame.ts,
 * each with its own 8-byte check) whose bodies are CBOR arrays:
 *
 * - `["veen-backup", 1, META]` first: META is the metadata as JSON text ({@link BackupMeta});
 * - `["kv", DB, [LINE...]]`: rows of `index.kv` or `views.kv` (hub/kv_rows.ts lines), in key order, in chunks;
 * - `["file", PATH, SIZE, MODE]` then `["data", BYTES]` frames holding exactly SIZE bytes: one data dir file;
 * - `["end", SHA256, FRAMES, FILES]` last: SHA-256 over every byte before this frame, the number of frames before
 *   it and of files.
 *
 * A reader checks each frame, the order, each file's size and the closing checksum, and refuses anything else (a
 * flipped byte, a cut, bytes after the end) with E.SIZE naming the offset.
 */
import { createHash } from "node:crypto";
import { type CborValue, decodeCbor, encodeCbor, toHex, VeenError } from "../core/mod.ts";
import { encodeFrame, FrameReader } from "./frame.ts";

export const BACKUP_KIND = "veen-backup";
export const BACKUP_VERSION = 1;
/** Bytes per data frame and JSON bytes per kv frame. */
export const BACKUP_CHUNK = 1 << 20;

/** One label's head at the backup's commit boundary. */
export interface BackupLabel {
  label: string;
  last_stream_seq: number;
  mmr_root: string;
  last_hub_ts: number;
}

/** The metadata frame (JSON). */
export interface BackupMeta {
  format: typeof BACKUP_KIND;
  version: typeof BACKUP_VERSION;
  /** When the cut was taken (ms since the epoch, and ISO 8601). */
  created_at_ms: number;
  created_at: string;
  hub_pk: string;
  hub_id: string;
  profile_id: string;
  /** The commit boundary: the log position after the last durable batch. */
  log_position: { seg: number; receipts_offset: number; payloads_offset: number; rec: number };
  /** Where the index stood (index.kv `["meta","indexed"]`); a start replays the log from here to the boundary. */
  entries: number;
  labels: BackupLabel[];
  /** Secret key files in the backup (docs/durability.md): the hub's identity and the realm admin key. */
  secrets: string[];
  /** "online" (through the running hub) or "offline" (from a data dir no hub held). */
  taken: "online" | "offline";
}

/** What a backup holds, frame by frame. */
export type BackupItem =
  | { kind: "meta"; meta: BackupMeta }
  | { kind: "kv"; db: string; lines: string[] }
  | { kind: "file"; path: string; size: number; mode: number }
  | { kind: "data"; bytes: Uint8Array };

/** The KV databases a backup may hold as rows. */
export const BACKUP_DBS = ["index.kv", "views.kv"] as const;

/** Encodes a backup frame by frame and hashes what it encoded. */
export class BackupEncoder {
  readonly #hash = createHash("sha256");
  #frames = 0;
  #files = 0;

  #frame(body: CborValue): Uint8Array {
    const f = encodeFrame(encodeCbor(body));
    this.#hash.update(f);
    this.#frames++;
    return f;
  }

  meta(m: BackupMeta): Uint8Array {
    return this.#frame([BACKUP_KIND, BACKUP_VERSION, JSON.stringify(m)]);
  }

  kv(db: string, lines: string[]): Uint8Array {
    return this.#frame(["kv", db, lines]);
  }

  file(path: string, size: number, mode: number): Uint8Array {
    this.#files++;
    return this.#frame(["file", path, size, mode]);
  }

  data(bytes: Uint8Array): Uint8Array {
    return this.#frame(["data", bytes]);
  }

  end(): Uint8Array {
    const digest = new Uint8Array(this.#hash.digest());
    return encodeFrame(encodeCbor(["end", digest, this.#frames, this.#files]));
  }
}

/** `lines` in chunks of at most BACKUP_CHUNK JSON bytes (at least one line each). */
export function* lineChunks(lines: readonly string[]): Generator<string[]> {
  let chunk: string[] = [];
  let bytes = 0;
  for (const l of lines) {
    if (chunk.length > 0 && bytes + l.length > BACKUP_CHUNK) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(l);
    bytes += l.length;
  }
  if (chunk.length > 0) yield chunk;
}

/** A relative data dir path a backup may name: plain names joined by "/", no "." or "..". */
const SAFE_PATH = /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

const damaged = (file: string, off: number, why: string) =>
  new VeenError("E.SIZE", `Backup ${file} is damaged at offset ${off}: ${why}`);

/**
 * Reads and checks the backup at `path`, yielding its items in order; throws E.SIZE at the first thing that is not
 * a well-formed, complete backup (the checksum is checked after the last item, so a consumer must not make what
 * it wrote visible before this generator has finished).
 */
export async function* readBackup(path: string): AsyncGenerator<BackupItem> {
  let reader: FrameReader;
  try {
    reader = await FrameReader.open(path, 0, () => {}, BACKUP_CHUNK + 64);
  } catch (e) {
    throw new VeenError("E.NOT_FOUND", `Cannot read backup ${path}: ${(e as Error).message}`);
  }
  const hash = createHash("sha256");
  let frames = 0;
  let sawMeta = false;
  let files = 0;
  let left = 0;
  try {
    for (;;) {
      const f = await reader.next();
      if (f.kind === "bad") throw damaged(path, reader.offset, f.why);
      if (f.kind !== "ok") throw damaged(path, reader.offset, "it ends before its last frame");
      let body: CborValue;
      try {
        body = decodeCbor(f.body, "backup frame");
      } catch {
        throw damaged(path, f.offset, "a frame does not decode");
      }
      if (!Array.isArray(body) || body.length === 0) throw damaged(path, f.offset, "a frame is not an array");
      const tag = body[0];
      if (tag !== "end") {
        // A valid frame is canonical, so its bytes are the frame of its body.
        const bytes = encodeFrame(f.body);
        if (bytes.length !== f.length) throw damaged(path, f.offset, "a frame is not canonical");
        hash.update(bytes);
        frames++;
      }
      if (!sawMeta) {
        sawMeta = true;
        if (tag !== BACKUP_KIND || body[1] !== BACKUP_VERSION || typeof body[2] !== "string") {
          throw damaged(path, f.offset, `not a ${BACKUP_KIND} version ${BACKUP_VERSION} file`);
        }
        yield { kind: "meta", meta: parseMeta(body[2], path) };
      } else if (tag === "end") {
        if (left !== 0) throw damaged(path, f.offset, "the last file is short");
        const [, digest, n, nFiles] = body;
        const want = new Uint8Array(hash.digest());
        if (!(digest instanceof Uint8Array) || toHex(digest) !== toHex(want)) {
          throw damaged(path, f.offset, "the checksum does not match");
        }
        if (n !== frames || nFiles !== files) {
          throw damaged(path, f.offset, "the frame or file count does not match");
        }
        if ((await reader.next()).kind !== "end") {
          throw damaged(path, reader.offset, "bytes after the last frame");
        }
        return;
      } else if (tag === "data") {
        const bytes = body[1];
        if (!(bytes instanceof Uint8Array) || bytes.length > left) {
          throw damaged(path, f.offset, "data beyond its file's size");
        }
        left -= bytes.length;
        yield { kind: "data", bytes };
      } else if (left !== 0) {
        throw damaged(path, f.offset, "a file is short");
      } else if (tag === "file") {
        const [, p, size, mode] = body;
        if (typeof p !== "string" || !SAFE_PATH.test(p) || !isUint(size) || !isUint(mode)) {
          throw damaged(path, f.offset, "a file entry is malformed");
        }
        files++;
        left = size;
        yield { kind: "file", path: p, size, mode };
      } else if (tag === "kv") {
        const [, db, lines] = body;
        if (
          !(BACKUP_DBS as readonly unknown[]).includes(db) || !Array.isArray(lines) ||
          !lines.every((l) => typeof l === "string")
        ) {
          throw damaged(path, f.offset, "a kv entry is malformed");
        }
        yield { kind: "kv", db: db as string, lines: lines as string[] };
      } else {
        throw damaged(path, f.offset, `unknown frame ${JSON.stringify(String(tag))}`);
      }
    }
  } finally {
    reader.close();
  }
}

const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function parseMeta(text: string, path: string): BackupMeta {
  let m: BackupMeta;
  try {
    m = JSON.parse(text);
  } catch {
    throw damaged(path, 0, "the metadata is not JSON");
  }
  if (
    typeof m !== "object" || m === null || m.format !== BACKUP_KIND || !Array.isArray(m.labels) ||
    typeof m.profile_id !== "string" || typeof m.hub_pk !== "string"
  ) {
    throw damaged(path, 0, "the metadata is malformed");
  }
  return m;
}
