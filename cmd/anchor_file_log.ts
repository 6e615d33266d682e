/**
 * The log of the file anchor backend (ANCHOR0.1 on a local, append-only ledger): records of
 * overlays/anchor_log.ts in `<dir>/anchors.log`, appended under an exclusive lock on the file and fdatasynced
 * before anchor_ref is returned. Shared by the client (`veen anchor`, cli/anchor_file_backend.ts) and the hub's
 * anchoring cadence (hub/anchorer.ts, `anchor_backend = "file:DIR"`), so both write one ledger format.
 *
 * A torn tail (a crash inside an append, before anchor_ref was returned) is cut off by the next publish; a damaged
 * last record stops publishing (E.SIG) instead of chaining onto it. Verification reads two records: O(1).
 */
import { VeenError } from "../core/mod.ts";
import {
  ANCHOR_RECORD_LEN,
  type AnchorBackend,
  anchorRecordVerifies,
  anchorRefOf,
  buildAnchorRecord,
  decodeAnchorRecord,
  nextAnchorRecord,
  parseAnchorRef,
} from "../overlays/mod.ts";

export const ANCHOR_LOG_FILE = "anchors.log";

/** Reads exactly `n` bytes at `offset`, or undefined when the file is shorter. */
async function readAt(f: Deno.FsFile, offset: number, n: number): Promise<Uint8Array | undefined> {
  await f.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await f.read(out.subarray(got));
    if (r === null) return undefined;
    got += r;
  }
  return out;
}

export class FileAnchorLog implements AnchorBackend {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  get logPath(): string {
    return `${this.dir}/${ANCHOR_LOG_FILE}`;
  }

  async publish(root: Uint8Array, epoch: number, ts: number, nonce: Uint8Array): Promise<Uint8Array> {
    await Deno.mkdir(this.dir, { recursive: true });
    const f = await Deno.open(this.logPath, { read: true, write: true, create: true, mode: 0o644 });
    try {
      await f.lock(true);
      const size = (await f.stat()).size;
      const n = Math.floor(size / ANCHOR_RECORD_LEN);
      if (size % ANCHOR_RECORD_LEN !== 0) await f.truncate(n * ANCHOR_RECORD_LEN);
      let prev: Uint8Array | undefined;
      if (n > 0) {
        const last = await readAt(f, (n - 1) * ANCHOR_RECORD_LEN, ANCHOR_RECORD_LEN);
        let rec;
        try {
          rec = decodeAnchorRecord(last!);
        } catch (e) {
          throw new VeenError(
            "E.SIG",
            `Anchor log ${this.logPath} is damaged at record ${n - 1}: ${e instanceof Error ? e.message : e}`,
          );
        }
        if (rec.record.pos !== n - 1) {
          throw new VeenError("E.SIG", `Anchor log record ${n - 1} claims position ${rec.record.pos}`);
        }
        prev = rec.digest;
      }
      const { bytes, digest } = buildAnchorRecord(nextAnchorRecord(n, prev, { root, epoch, ts, nonce }));
      await f.seek(n * ANCHOR_RECORD_LEN, Deno.SeekMode.Start);
      for (let rest = bytes; rest.length > 0;) rest = rest.subarray(await f.write(rest));
      await f.syncData();
      return anchorRefOf(n, digest);
    } finally {
      try {
        await f.unlock();
      } catch {
        // closing releases the lock anyway
      }
      f.close();
    }
  }

  async verify(root: Uint8Array, anchorRef: Uint8Array): Promise<boolean> {
    let pos: number;
    try {
      ({ pos } = parseAnchorRef(anchorRef));
    } catch {
      return false;
    }
    let f: Deno.FsFile;
    try {
      f = await Deno.open(this.logPath, { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
    try {
      const rec = await readAt(f, pos * ANCHOR_RECORD_LEN, ANCHOR_RECORD_LEN);
      const prev = pos === 0 ? undefined : await readAt(f, (pos - 1) * ANCHOR_RECORD_LEN, ANCHOR_RECORD_LEN);
      return anchorRecordVerifies(root, anchorRef, rec, prev);
    } finally {
      f.close();
    }
  }
}
