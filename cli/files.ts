/**
 * File helpers for client directories: atomic writes (tmp file, fsync, rename, fsync of the directory), private
 * permissions (files 0600, directories 0700) and reads of user-named input files as usage errors when missing.
 */
import { dirname } from "node:path";
import { usageError } from "../cmd/mod.ts";

/** Writes `data` to `path` atomically with `mode`: a reader sees the old file or the new one, never a mix. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode });
  try {
    try {
      let rest = bytes;
      while (rest.length > 0) rest = rest.subarray(await f.write(rest));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirname(path));
}

/** fsyncs a directory so a rename in it is durable (best effort where the platform refuses). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Some platforms cannot fsync directories; the rename is still atomic.
  }
}

/** Creates `dir` (and parents) with mode 0700, and tightens it to 0700 if it exists. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700);
}

/** Reads a file the user named on the command line; a missing or unreadable file is a usage error. */
export async function readInputFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw usageError(`Cannot read ${what} "${path}": ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Writes an output file the user named; failures are usage errors. */
export async function writeOutputFile(path: string, data: Uint8Array, what: string): Promise<void> {
  try {
    await writeFileAtomic(path, data, 0o644);
  } catch (e) {
    throw usageError(`Cannot write ${what} "${path}": ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
