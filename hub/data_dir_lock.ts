/**
 * One process per data dir (etcd and Kafka's rule: exactly one writer): `DIR/lock` (0600) held with an exclusive
 * advisory lock (`Deno.FsFile.tryLock`, flock(2) semantics: per open file, released by the kernel when the process
 * ends, `kill -9` included) for as long as the hub, or `veen hub fsck`, uses the dir. The holder writes its pid into
 * the file so the refusal can name it. The file itself is never removed: its presence means nothing, only the lock.
 */
import { VeenError } from "../core/mod.ts";

export const LOCK_FILE = "lock";
/** The staging dir of a `veen hub restore` in progress (hub/restore.ts); its presence means the restore did not finish. */
export const RESTORE_STAGING_PREFIX = ".restore-";

/** E.UNAVAILABLE when `dataDir` holds the staging dir of an unfinished restore (O(top-level entries)). */
export async function checkNoUnfinishedRestore(dataDir: string): Promise<void> {
  for await (const e of Deno.readDir(dataDir)) {
    if (e.isDirectory && e.name.startsWith(RESTORE_STAGING_PREFIX)) {
      throw new VeenError(
        "E.UNAVAILABLE",
        `Data dir ${dataDir} holds an unfinished restore (${e.name}); empty the dir and run "veen hub restore" again`,
      );
    }
  }
}

/** A held data dir lock; `release()` is idempotent (process exit releases it too). */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the exclusive lock on `DIR/lock` without waiting. A dir another process holds is E.UNAVAILABLE
 * `Data dir DIR is in use by another process (pid N)`; a dir where the lock file cannot be created, opened or written is
 * E.UNAVAILABLE naming the path. The dir must exist.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = `${dataDir}/${LOCK_FILE}`;
  let f: Deno.FsFile;
  let writable = true;
  try {
    f = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (e) {
    // A read-only copy of a data dir (fsck of a backup) can still be locked through an existing file.
    writable = false;
    try {
      f = await Deno.open(path, { read: true });
    } catch {
      throw new VeenError(
        "E.UNAVAILABLE",
        e instanceof Deno.errors.PermissionDenied
          ? `Data dir ${dataDir} is not writable: ${e.message}`
          : `Cannot open lock file ${path}: ${(e as Error).message}`,
      );
    }
  }
  let locked: boolean;
  try {
    locked = await f.tryLock(true);
  } catch (e) {
    f.close();
    throw new VeenError("E.UNAVAILABLE", `Cannot lock ${path}: ${(e as Error).message}`);
  }
  if (!locked) {
    f.close();
    const pid = await lockHolder(dataDir);
    throw new VeenError(
      "E.UNAVAILABLE",
      `Data dir ${dataDir} is in use by another process${pid === undefined ? "" : ` (pid ${pid})`}`,
    );
  }
  if (writable) {
    try {
      await f.truncate(0);
      await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
    } catch (e) {
      f.close(); // gives the lock back
      throw new VeenError("E.UNAVAILABLE", `Cannot write lock file ${path}: ${(e as Error).message}`);
    }
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      f.close(); // closing the only descriptor of this open file releases the flock
    },
  };
}

/** The pid the current (or last) holder wrote into `DIR/lock`, if readable. */
export async function lockHolder(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(`${dataDir}/${LOCK_FILE}`)).trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
