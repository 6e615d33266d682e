/**
 * `veen hub backup --hub URL|DIR --out FILE [--hub-key FILE] [--json]` and `veen hub restore --backup FILE
 * --data-dir DIR [--json]` (docs/operations.md "Back up and restore", docs/durability.md "Backup and restore").
 *
 * backup: through a running hub (`POST /admin/backup`, signed with the hub key: `--hub-key`, by default
 * `DIR/hub_key`) when `--hub` is a URL or a data dir a hub holds (its URL from `DIR/hub.state.json`), or directly
 * from a data dir no process holds (under its lock). The file is written next to FILE, read back and checked
 * (frames, sizes, checksum), fdatasync'ed and only then renamed to FILE; an existing FILE is refused (E.DUP).
 * restore: hub/restore.ts. Both print the backup's metadata; exit 4 on a refused or damaged backup.
 */
import { createHash } from "node:crypto";
import { toHex, VeenError } from "../core/mod.ts";
import { type CommandContext, readState, stateUrl, usageError } from "../cmd/mod.ts";
import { ADMIN_AUTH_HEADER, signAdminRequest } from "./admin_auth.ts";
import { writeBackup } from "./backup.ts";
import type { BackupMeta } from "./backup_format.ts";
import { BACKUP_PATH } from "./backup_route.ts";
import { type DataDirLock, lockDataDir } from "./data_dir_lock.ts";
import { fileSize, syncDir } from "./files.ts";
import { HUB_KEY_FILE, parseHubKey } from "./hub_key.ts";
import { restoreBackup, verifyBackup } from "./restore.ts";
import { openViewStore, VIEWS_FILE } from "./view_store.ts";

const isUrl = (s: string) => /^https?:\/\//.test(s);

async function readHubKey(path: string) {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new VeenError("E.NOT_FOUND", `Cannot read hub key ${path}: ${(e as Error).message}`);
  }
  const key = parseHubKey(bytes, `hub key ${path}`);
  if (key === undefined) throw new VeenError("E.SIG", `Hub key ${path} is corrupt`);
  return key;
}

/** Streams `POST URL/admin/backup` into `sink`. */
async function fetchBackup(
  url: string,
  keyPath: string,
  sink: (b: Uint8Array) => Promise<void>,
): Promise<void> {
  const key = await readHubKey(keyPath);
  const auth = signAdminRequest(key, "POST", BACKUP_PATH, Math.floor(Date.now() / 1000));
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, "")}${BACKUP_PATH}`, {
      method: "POST",
      headers: { [ADMIN_AUTH_HEADER]: auth },
    });
  } catch (e) {
    throw new VeenError("E.UNAVAILABLE", `Cannot reach hub ${url}: ${(e as Error).message}`);
  }
  if (res.status !== 200 || res.body === null) {
    const text = await res.text().catch(() => "");
    let detail = text.trim() || `HTTP ${res.status}`;
    let code = "E.UNAVAILABLE";
    try {
      const j = JSON.parse(text);
      if (typeof j?.code === "string") code = j.code;
      if (typeof j?.detail === "string") detail = j.detail;
    } catch { /* not the hub's error body */ }
    throw new VeenError(code as "E.UNAVAILABLE", `Backup refused by ${url}: ${detail}`);
  }
  try {
    for await (const chunk of res.body) await sink(chunk);
  } catch (e) {
    throw new VeenError("E.UNAVAILABLE", `The backup stream from ${url} broke off: ${(e as Error).message}`);
  }
}

/** A backup of the data dir `dir` no process holds, taken under its lock. */
async function offlineBackup(dir: string, lock: DataDirLock, sink: (b: Uint8Array) => Promise<void>) {
  try {
    const key = await readHubKey(`${dir}/${HUB_KEY_FILE}`);
    const { openDiskStore } = await import("./disk_store.ts");
    const store = await openDiskStore(dir);
    const views = (await fileSize(`${dir}/${VIEWS_FILE}`)) >= 0
      ? await openViewStore(`${dir}/${VIEWS_FILE}`)
      : undefined;
    try {
      return await writeBackup({
        dataDir: dir,
        store,
        ...(views?.dump === undefined ? {} : { views: views.dump }),
        hubPk: key.public,
        taken: "offline",
        now: Date.now,
      }, sink);
    } finally {
      views?.close();
      await store.close();
    }
  } finally {
    lock.release();
  }
}

export async function backupCommand(ctx: CommandContext): Promise<number> {
  const hub = ctx.flags.str("hub");
  const out = ctx.flags.str("out");
  if (hub === undefined || out === undefined) {
    throw usageError("hub backup needs --hub URL|DIR and --out FILE");
  }
  if ((await fileSize(out)) >= 0) throw new VeenError("E.DUP", `Backup file ${out} already exists`);
  const slash = out.lastIndexOf("/");
  const outDir = slash < 0 ? "." : out.slice(0, slash) || "/";
  const tmp = `${outDir}/.${out.slice(slash + 1)}.${crypto.randomUUID()}.partial`;
  const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  const hash = createHash("sha256");
  let bytes = 0;
  const sink = async (b: Uint8Array) => {
    hash.update(b);
    bytes += b.length;
    let off = 0;
    while (off < b.length) off += await f.write(b.subarray(off));
  };
  let via: string;
  try {
    try {
      if (isUrl(hub)) {
        const key = ctx.flags.str("hub-key");
        if (key === undefined) {
          throw usageError("hub backup --hub URL needs --hub-key FILE (the hub's DIR/hub_key)");
        }
        via = hub;
        await fetchBackup(hub, key, sink);
      } else {
        let lock: DataDirLock | undefined;
        try {
          lock = await lockDataDir(hub);
        } catch (e) {
          if (!(e instanceof VeenError) || !/in use/.test(e.detail)) throw e;
        }
        if (lock !== undefined) {
          via = hub;
          await offlineBackup(hub, lock, sink);
        } else {
          const url = stateUrl(await readState(hub));
          if (url === undefined) {
            throw new VeenError(
              "E.UNAVAILABLE",
              `A process holds data dir ${hub} but it names no URL (no hub.state.json); use --hub URL --hub-key ${hub}/hub_key`,
            );
          }
          via = url;
          await fetchBackup(url, ctx.flags.str("hub-key") ?? `${hub}/${HUB_KEY_FILE}`, sink);
        }
      }
      await f.syncData();
    } finally {
      f.close();
    }
    const { meta, files } = await verifyBackup(tmp);
    await Deno.rename(tmp, out);
    await syncDir(outDir);
    const json = {
      ok: true,
      out,
      via,
      bytes,
      sha256: toHex(new Uint8Array(hash.digest())),
      files,
      ...summary(meta),
    };
    ctx.out.result(json, lines(json, meta));
    return 0;
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

function summary(meta: BackupMeta) {
  return {
    taken: meta.taken,
    created_at: meta.created_at,
    hub_id: meta.hub_id,
    profile_id: meta.profile_id,
    entries: meta.entries,
    secrets: meta.secrets,
    labels: meta.labels,
  };
}

function lines(json: Record<string, unknown>, meta: BackupMeta): string[] {
  return [
    ...Object.entries(json).filter(([k]) => k !== "labels" && k !== "secrets").map(([k, v]) => `${k}: ${v}`),
    `secrets: ${meta.secrets.join(", ") || "none"}`,
    `labels: ${meta.labels.length}`,
    ...meta.labels.map((l) => `  ${l.label}  last_stream_seq=${l.last_stream_seq}  mmr_root=${l.mmr_root}`),
  ];
}

export async function restoreCommand(ctx: CommandContext): Promise<number> {
  const backup = ctx.flags.str("backup");
  const dir = ctx.flags.str("data-dir") ?? ctx.io.env("VEEN_DATA_DIR");
  if (backup === undefined) throw usageError("hub restore needs --backup FILE");
  if (ctx.flags.bool("check")) {
    const c = await verifyBackup(backup);
    const json = { ok: true, backup, verified: true, files: c.files, bytes: c.bytes, ...summary(c.meta) };
    ctx.out.result(json, lines(json, c.meta));
    return 0;
  }
  if (dir === undefined || dir === "") throw usageError("hub restore needs --data-dir DIR");
  const r = await restoreBackup(backup, dir);
  const json = {
    ok: true,
    data_dir: dir,
    backup,
    verified: true,
    files: r.files,
    bytes: r.bytes,
    rows: r.rows,
    replayed_at_open: r.replayed,
    ...summary(r.meta),
  };
  ctx.out.result(json, lines(json, r.meta));
  return 0;
}
