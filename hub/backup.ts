/**
 * Online, consistent backups of a hub's data dir (docs/durability.md "Backup and restore"): the store's cut
 * (DiskStore.snapshot: the log position after the last durable batch, its heads, every index.kv row), the admin
 * views' rows, then every file of the data dir that a restore needs, each up to what the cut names, in the backup
 * file format of hub/backup_format.ts. Submits keep running; what they append after the cut is not copied.
 *
 * Copied: the log segments (the cut's segment up to the cut's offsets, later ones not at all, its sidecar not:
 * the restored hub writes it when it rotates), sidecars and tombstones of earlier segments, `mmr/` and `pos/`
 * (bytes past the index are cut at the restored hub's start), checkpoints.cborseq and admissions.cborseq up to the
 * offsets the index rows name, the other `.cborseq` files up to their last whole frame, attachments, the secret
 * keys (`hub_key`, `hub_key.previous`, `realm_admin_key`) and the other `*.json` state files. Not copied: the KV
 * files (their rows are), `lock`, `hub.pid`, `hub.state.json`, `hub.log`, `quarantine/`, temporary files.
 */
import { DEFAULT_PROFILE_ID, hubIdFor, toHex } from "../core/mod.ts";
import { BACKUP_CHUNK, BackupEncoder, type BackupMeta, lineChunks } from "./backup_format.ts";
import type { HubStore, StoreCut } from "./store.ts";
import { dirEntries } from "./files.ts";
import { FrameReader } from "./frame.ts";

/** What a backup is taken from. */
export interface BackupSource {
  dataDir: string;
  store: Required<Pick<HubStore, "snapshot">>;
  /** The admin views' rows between two writes (ViewStore.dump); absent: views.kv is rebuilt at the restored start. */
  views?: () => Promise<string[]>;
  hubPk: Uint8Array;
  taken: BackupMeta["taken"];
  now: () => number;
}

/** Secret key files (docs/durability.md): the hub's identity and the realm admin key. */
export const SECRET_FILES = ["hub_key", "hub_key.previous", "realm_admin_key"];
/** Files at the top of a data dir that are run-time state, not data. */
const NOT_COPIED = new Set(["lock", "hub.pid", "hub.state.json", "hub.log", ".write-probe"]);
const SEGMENT = /^([0-9]{8,})\.(cborseq|idx)$/;

/** One file to copy: its path in the data dir and how many of its bytes. */
interface Planned {
  path: string;
  size: number;
}

/**
 * Writes a backup of `src` to `sink` (each chunk awaited, so a slow reader slows the copy, never the hub) and
 * resolves with its metadata. Retention and attachment collection wait until it is done.
 */
export async function writeBackup(
  src: BackupSource,
  sink: (chunk: Uint8Array) => Promise<void>,
): Promise<BackupMeta> {
  const views = src.views === undefined ? undefined : await src.views();
  return await src.store.snapshot(async (cut) => {
    const enc = new BackupEncoder();
    const meta = metaOf(src, cut, await secretsIn(src.dataDir));
    await sink(enc.meta(meta));
    for (const lines of lineChunks(cut.index)) await sink(enc.kv("index.kv", lines));
    for (const lines of lineChunks(views ?? [])) await sink(enc.kv("views.kv", lines));
    for (const f of await plan(src.dataDir, cut)) {
      await copyFile(src.dataDir, f, enc, sink);
    }
    await sink(enc.end());
    return meta;
  });
}

function metaOf(src: BackupSource, cut: StoreCut, secrets: string[]): BackupMeta {
  const at = src.now();
  const labels = cut.heads.map((h) => ({
    label: toHex(h.label),
    last_stream_seq: h.seq,
    mmr_root: toHex(h.root),
    last_hub_ts: h.lastHubTs,
  })).sort((a, b) => a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
  return {
    format: "veen-backup",
    version: 1,
    created_at_ms: at,
    created_at: new Date(at).toISOString(),
    hub_pk: toHex(src.hubPk),
    hub_id: toHex(hubIdFor(src.hubPk)),
    profile_id: toHex(DEFAULT_PROFILE_ID),
    log_position: {
      seg: cut.log.seg,
      receipts_offset: cut.log.rOff,
      payloads_offset: cut.log.pOff,
      rec: cut.log.rec,
    },
    entries: labels.reduce((n, l) => n + l.last_stream_seq, 0),
    labels,
    secrets,
    taken: src.taken,
  };
}

async function secretsIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of SECRET_FILES) if (await sizeOf(`${dir}/${f}`) >= 0) out.push(f);
  return out;
}

async function sizeOf(path: string): Promise<number> {
  try {
    const st = await Deno.stat(path);
    return st.isFile ? st.size : -1;
  } catch {
    return -1;
  }
}

/** The files to copy and their sizes, in a fixed order (top-level files, then folders by name). */
async function plan(dir: string, cut: StoreCut): Promise<Planned[]> {
  const out: Planned[] = [];
  const add = async (path: string, size?: number) => {
    const s = size ?? await sizeOf(`${dir}/${path}`);
    if (s >= 0) out.push({ path, size: s });
  };
  for (const e of sorted(await dirEntries(dir))) {
    const n = e.name;
    if (!e.isFile || NOT_COPIED.has(n) || n.startsWith(".") || n.includes(".kv")) continue;
    if (n === "checkpoints.cborseq") await add(n, cut.checkpointsSize);
    else if (n === "admissions.cborseq") await add(n, cut.admissionsSize);
    else if (n.endsWith(".cborseq")) await add(n, await wholeFrames(`${dir}/${n}`));
    else if (SECRET_FILES.includes(n) || n.endsWith(".json")) await add(n);
  }
  for (const fam of ["receipts", "payloads"] as const) {
    const end = fam === "receipts" ? cut.log.rOff : cut.log.pOff;
    for (const e of sorted(await dirEntries(`${dir}/${fam}`))) {
      const m = SEGMENT.exec(e.name);
      if (!e.isFile || m === null) continue;
      const seg = Number(m[1]);
      if (seg < cut.log.seg) await add(`${fam}/${e.name}`);
      else if (seg === cut.log.seg && m[2] === "cborseq") await add(`${fam}/${e.name}`, end);
    }
  }
  for (const sub of ["mmr", "pos"]) {
    for (const e of sorted(await dirEntries(`${dir}/${sub}`))) {
      if (e.isFile && !e.name.startsWith(".")) await add(`${sub}/${e.name}`);
    }
  }
  for (const p of sorted(await dirEntries(`${dir}/attachments`))) {
    if (!p.isDirectory || p.name === "tmp") continue;
    for (const e of sorted(await dirEntries(`${dir}/attachments/${p.name}`))) {
      if (e.isFile && !e.name.startsWith(".")) await add(`attachments/${p.name}/${e.name}`);
    }
  }
  return out;
}

const sorted = (es: Deno.DirEntry[]) =>
  [...es].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The length of the longest prefix of whole, valid frames of a record file another writer may be appending to. */
async function wholeFrames(path: string): Promise<number> {
  const r = await FrameReader.open(path, 0, () => {});
  try {
    let end = 0;
    for (;;) {
      const f = await r.next();
      if (f.kind !== "ok") return end;
      end = f.offset + f.length;
    }
  } finally {
    r.close();
  }
}

async function copyFile(
  dir: string,
  f: Planned,
  enc: BackupEncoder,
  sink: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  const st = await Deno.stat(`${dir}/${f.path}`);
  await sink(enc.file(f.path, f.size, (st.mode ?? 0o600) & 0o777));
  const file = await Deno.open(`${dir}/${f.path}`, { read: true });
  try {
    let left = f.size;
    while (left > 0) {
      const buf = new Uint8Array(Math.min(BACKUP_CHUNK, left));
      let got = 0;
      while (got < buf.length) {
        const n = await file.read(buf.subarray(got));
        if (n === null) throw new Error(`${f.path} is shorter than ${f.size} bytes`);
        got += n;
      }
      await sink(enc.data(buf));
      left -= buf.length;
    }
  } finally {
    file.close();
  }
}
