/**
 * `veen hub restore` (docs/durability.md "Backup and restore"): a backup file (hub/backup_format.ts) into an empty
 * data dir. Nothing is written before the whole file has been read and its frames, sizes and checksum checked
 * (a damaged or cut backup is E.SIZE, exit 4). Then, holding `DIR/lock` (a hub running on DIR refuses the
 * restore), the files and KV rows are written into `DIR/.restore-<uuid>/`, read a second time (the checksum again,
 * so a file changed in between is refused too), the restored store is opened there — which replays only the log
 * past the restored index, never the whole log — and its heads must equal the metadata's last_stream_seq and
 * mmr_root, the RECEIPT at each head must carry that root and verify under the restored hub key. Only then are the
 * files moved into DIR, `hub_key` last, and the staging dir removed; a hub refuses to start on a dir that still
 * holds a `.restore-*` dir (an interrupted restore).
 */
import { bytesEqual, decodeReceipt, toHex, VeenError, verifyReceiptSig } from "../core/mod.ts";
import { BACKUP_DBS, type BackupMeta, readBackup } from "./backup_format.ts";
import { openDiskStore } from "./disk_store.ts";
import { dirEntries, mkdir700, syncDir } from "./files.ts";
import { lockDataDir, RESTORE_STAGING_PREFIX } from "./data_dir_lock.ts";
import { HUB_KEY_FILE, parseHubKey } from "./hub_key.ts";
import { loadKv } from "./kv_rows.ts";

/** Names a data dir may hold and still count as empty: our own lock file and a file system's lost+found. */
const EMPTY_OK = new Set(["lock", "lost+found"]);

export interface RestoreResult {
  meta: BackupMeta;
  files: number;
  bytes: number;
  /** index.kv and views.kv rows written. */
  rows: number;
  /** Log entries the restored store replayed at open (those past the backed-up index: never the whole log). */
  replayed: number;
}

/**
 * Throws unless `dir` is absent or empty: E.UNAVAILABLE when another process holds its lock (probed unless we hold
 * it), else E.DUP.
 */
async function checkEmpty(dir: string, probeLock: boolean): Promise<void> {
  const entries = await dirEntries(dir);
  // A running hub holds the lock: say so first, it is the likelier mistake.
  if (probeLock && entries.some((e) => e.name === "lock")) (await lockDataDir(dir)).release();
  const names = entries.map((e) => e.name).filter((n) => !EMPTY_OK.has(n));
  if (names.length > 0) {
    throw new VeenError(
      "E.DUP",
      `Data dir ${dir} is not empty (${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}); ` +
        `restore only into an empty or new dir`,
    );
  }
}

/** Reads the whole backup once, checking it; resolves with its metadata. */
export async function verifyBackup(
  path: string,
): Promise<{ meta: BackupMeta; files: number; bytes: number }> {
  let meta: BackupMeta | undefined;
  let files = 0;
  let bytes = 0;
  for await (const it of readBackup(path)) {
    if (it.kind === "meta") meta = it.meta;
    else if (it.kind === "file") files++;
    else if (it.kind === "data") bytes += it.bytes.length;
  }
  return { meta: meta!, files, bytes };
}

/** Restores the backup at `path` into `dataDir` (see the module doc). */
export async function restoreBackup(path: string, dataDir: string): Promise<RestoreResult> {
  await checkEmpty(dataDir, true);
  const checked = await verifyBackup(path);
  try {
    await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new VeenError("E.UNAVAILABLE", `Cannot create data dir ${dataDir}: ${(e as Error).message}`);
  }
  const lock = await lockDataDir(dataDir);
  const staging = `${dataDir}/${RESTORE_STAGING_PREFIX}${crypto.randomUUID()}`;
  try {
    await checkEmpty(dataDir, false);
    await mkdir700(staging);
    const written = await writeStaging(path, staging);
    if (written.meta.created_at_ms !== checked.meta.created_at_ms) {
      throw new VeenError("E.SIZE", `Backup ${path} changed while it was restored`);
    }
    const replayed = await checkRestored(staging, written.meta);
    await moveInto(staging, dataDir);
    return { ...written, replayed };
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  } finally {
    lock.release();
  }
}

/** Writes the backup's files and KV rows under `staging`; the KV rows only once the whole file checked out. */
async function writeStaging(
  path: string,
  staging: string,
): Promise<{ meta: BackupMeta; files: number; bytes: number; rows: number }> {
  let meta: BackupMeta | undefined;
  let files = 0;
  let bytes = 0;
  const rows = new Map<string, string[]>(BACKUP_DBS.map((d) => [d, []]));
  let file: Deno.FsFile | undefined;
  const closeFile = async () => {
    if (file === undefined) return;
    await file.syncData();
    file.close();
    file = undefined;
  };
  try {
    for await (const it of readBackup(path)) {
      if (it.kind === "meta") meta = it.meta;
      else if (it.kind === "kv") rows.get(it.db)!.push(...it.lines);
      else if (it.kind === "file") {
        await closeFile();
        const slash = it.path.lastIndexOf("/");
        if (slash > 0) {
          await Deno.mkdir(`${staging}/${it.path.slice(0, slash)}`, { recursive: true, mode: 0o700 });
        }
        file = await Deno.open(`${staging}/${it.path}`, {
          write: true,
          createNew: true,
          mode: (it.mode & 0o700) | 0o600,
        });
        files++;
      } else {
        let off = 0;
        while (off < it.bytes.length) off += await file!.write(it.bytes.subarray(off));
        bytes += it.bytes.length;
      }
    }
    await closeFile();
  } finally {
    file?.close();
  }
  let n = 0;
  for (const [db, lines] of rows) if (lines.length > 0) n += await loadKv(`${staging}/${db}`, lines);
  for (const sub of ["", "receipts", "payloads", "mmr", "pos"]) {
    await syncDir(`${staging}/${sub}`).catch(() => {});
  }
  return { meta: meta!, files, bytes, rows: n };
}

/**
 * Opens the restored store in `dir` and checks it against `meta`: the same labels, each head's seq and root, the
 * RECEIPT at each head carrying that root and verifying under the restored hub key. Returns the entries replayed.
 */
async function checkRestored(dir: string, meta: BackupMeta): Promise<number> {
  let hubPk: Uint8Array | undefined;
  try {
    const key = parseHubKey(await Deno.readFile(`${dir}/${HUB_KEY_FILE}`), "restored hub key");
    if (key === undefined) throw new VeenError("E.SIG", "The restored hub key is corrupt");
    hubPk = key.public;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (hubPk !== undefined && toHex(hubPk) !== meta.hub_pk) {
    throw new VeenError("E.SIG", `The restored hub key is not the metadata's hub_pk ${meta.hub_pk}`);
  }
  const store = await openDiskStore(dir);
  try {
    const heads = new Map([...store.heads()].map((h) => [toHex(h.label), h]));
    const mismatch = (what: string) =>
      new VeenError("E.SIG", `The restored store does not match the backup metadata: ${what}`);
    if (heads.size !== meta.labels.length) {
      throw mismatch(`${heads.size} labels, the metadata has ${meta.labels.length}`);
    }
    for (const l of meta.labels) {
      const h = heads.get(l.label);
      if (h === undefined) throw mismatch(`label ${l.label} is missing`);
      if (h.seq !== l.last_stream_seq || toHex(h.root) !== l.mmr_root) {
        throw mismatch(
          `label ${l.label} has seq ${h.seq} root ${
            toHex(h.root)
          }, the metadata ${l.last_stream_seq} ${l.mmr_root}`,
        );
      }
      const r = decodeReceipt(await store.readReceipt(h.label, h.seq));
      if (!bytesEqual(r.mmrRoot, h.root) || r.streamSeq !== h.seq) {
        throw mismatch(`the RECEIPT at label ${l.label} seq ${h.seq} does not carry the head's root`);
      }
      if (hubPk !== undefined && !verifyReceiptSig(r, hubPk)) {
        // A replica's entries carry their primary's signature; fsck checks those against primaries.json.
        const replica = await Deno.stat(`${dir}/primaries.json`).then(() => true, () => false);
        if (!replica) {
          throw mismatch(`the RECEIPT at label ${l.label} seq ${h.seq} does not verify under hub_key`);
        }
      }
    }
    return store.stats().replayedAtOpen;
  } finally {
    await store.close();
  }
}

/** Moves every entry of `staging` into `dir` (`hub_key` last), then removes `staging`. */
async function moveInto(staging: string, dir: string): Promise<void> {
  const names = (await dirEntries(staging)).map((e) => e.name);
  const order = [
    ...names.filter((n) => n !== HUB_KEY_FILE && n !== "lock"),
    ...names.filter((n) => n === HUB_KEY_FILE),
  ];
  for (const n of order) await Deno.rename(`${staging}/${n}`, `${dir}/${n}`);
  await syncDir(dir);
  await Deno.remove(staging, { recursive: true });
  await syncDir(dir);
}
