/**
 * COMP0.1 retention: per-family policy in `DIR/retention.json`, enforced by the running hub ({@link
 * RetentionEnforcer}: at start-up and then periodically), and `veen retention show|set` (`retentionShow`, `retentionSet`; table in commands.ts).
 *
 * The policy file, what expires and what a drop keeps are described in docs/durability.md "Retention". This module
 * holds the rules (the policy codec, which segments and checkpoints have expired); the store executes a pass under
 * its locks (`DiskStore.enforceRetention`: flush the index, drop segments through `SegmentLog.dropSegment`, rewrite
 * checkpoints.cborseq). A pass reads one sidecar per examined segment: O(segments), never a scan of entries.
 */
import { DEFAULT_PROFILE, epochOf, EXIT, toHex, VeenError } from "../core/mod.ts";
import { type CommandContext, usageError } from "../cmd/mod.ts";
import { dataDirOf } from "./commands.ts";
import { dirEntries, writeFileAtomic } from "./files.ts";
import { type Family, listSegments, readSidecar, segmentName } from "./segment_index.ts";
import { firstSeqAtOrAfter, POS_BYTES } from "./node_store.ts";
import type { Logger } from "./logger.ts";
import type { HubStore, RetentionHold, RetentionPolicy, RetentionStatus } from "./store.ts";

export type { RetentionPolicy, RetentionStatus } from "./store.ts";

export const RETENTION_FILE = "retention.json";

/** How often the running hub re-reads retention.json and drops what expired (default). */
export const RETENTION_INTERVAL_MS = 60_000;

/** Keep everything (the default without retention.json). */
export const KEEP_FOREVER: Readonly<RetentionPolicy> = Object.freeze({
  receiptsDays: null,
  payloadsDays: null,
  checkpointsDays: null,
});

const MAX_DAYS = 1_000_000;

function checkDays(v: unknown, what: string): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > MAX_DAYS) {
    throw new VeenError("E.SIZE", `${what} must be a whole number of days in [0, ${MAX_DAYS}] or null`);
  }
  return v;
}

/** Parses retention.json text. */
export function parseRetentionPolicy(text: string, source = RETENTION_FILE): RetentionPolicy {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new VeenError("E.SIZE", `${source} is not JSON: ${(e as Error).message}`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new VeenError("E.SIZE", `${source} must be a JSON object`);
  }
  const m = o as Record<string, unknown>;
  if (m.v !== 1) throw new VeenError("E.SIZE", `${source}: "v" must be 1`);
  for (const k of Object.keys(m)) {
    if (!["v", "receipts_days", "payloads_days", "checkpoints_days"].includes(k)) {
      throw new VeenError("E.SIZE", `${source}: unknown key "${k}"`);
    }
  }
  return {
    receiptsDays: checkDays(m.receipts_days, `${source} receipts_days`),
    payloadsDays: checkDays(m.payloads_days, `${source} payloads_days`),
    checkpointsDays: checkDays(m.checkpoints_days, `${source} checkpoints_days`),
  };
}

/** The canonical file text of a policy. */
export function encodeRetentionPolicy(p: RetentionPolicy): string {
  return JSON.stringify({
    v: 1,
    receipts_days: p.receiptsDays,
    payloads_days: p.payloadsDays,
    checkpoints_days: p.checkpointsDays,
  }) + "\n";
}

/** Reads DIR/retention.json; keep-forever when it does not exist. */
export async function readRetentionPolicy(dataDir: string): Promise<RetentionPolicy> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dataDir}/${RETENTION_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { ...KEEP_FOREVER };
    throw new VeenError("E.UNAVAILABLE", `Cannot read ${dataDir}/${RETENTION_FILE}: ${(e as Error).message}`);
  }
  return parseRetentionPolicy(text, `${dataDir}/${RETENTION_FILE}`);
}

/** Writes DIR/retention.json atomically (tmp, fdatasync, rename, directory fsync), mode 0600. */
export async function writeRetentionPolicy(dataDir: string, p: RetentionPolicy): Promise<void> {
  await writeFileAtomic(dataDir, RETENTION_FILE, new TextEncoder().encode(encodeRetentionPolicy(p)));
}

// ---------------------------------------------------------------- what expired (the store drops it)

/**
 * Newest hub_ts (seconds) of rotated segment `seg` from its sidecar, either copy (the file mtime of `fam`'s segment
 * for sidecars written before `last_hub_ts`); undefined without a sidecar (not written yet: rebuilt in the
 * background after a crash). Both copies damaged raise StorageDamage: the pass fails and retention stops there.
 */
export async function segmentAge(dataDir: string, fam: Family, seg: number): Promise<number | undefined> {
  return (await segmentAgeAndLabels(dataDir, fam, seg))?.age;
}

/** {@link segmentAge} and the labels the segment holds entries of (the sidecar's `labels`). */
async function segmentAgeAndLabels(
  dataDir: string,
  fam: Family,
  seg: number,
): Promise<{ age: number; labels: Uint8Array[] } | undefined> {
  const idx = (await readSidecar(dataDir, seg))?.index;
  if (idx === undefined) return undefined;
  const labels = idx.labels.map((l) => l.label);
  if (idx.lastHubTs !== undefined) return { age: idx.lastHubTs, labels };
  const mtime = (await Deno.stat(`${dataDir}/${fam}/${segmentName(seg)}.cborseq`)).mtime;
  return mtime === null ? undefined : { age: Math.floor(mtime.getTime() / 1000), labels };
}

/**
 * The segments `policy` says have expired at `nowSec`: per family, the oldest rotated segments (never the active
 * one) while their newest hub_ts is strictly older than the retention, a prefix so boundaries stay simple. A segment
 * `hold` keeps (a label class's retention minimum) ends the prefix. Reads one sidecar per examined segment; never
 * reads entries.
 */
export async function expiredSegments(
  dataDir: string,
  policy: RetentionPolicy,
  nowSec: number,
  log: { firstSegment(fam: Family): number; readonly activeSegment: number },
  hold?: RetentionHold,
): Promise<[Family, number][]> {
  const expired: [Family, number][] = [];
  for (const fam of ["receipts", "payloads"] as const) {
    const days = fam === "receipts" ? policy.receiptsDays : policy.payloadsDays;
    if (days === null) continue;
    const cutoff = nowSec - days * 86400;
    for (let seg = log.firstSegment(fam); seg < log.activeSegment; seg++) {
      const s = await segmentAgeAndLabels(dataDir, fam, seg);
      if (s === undefined || s.age >= cutoff) break;
      if (hold !== undefined && hold(s.labels, s.age, nowSec)) break;
      expired.push([fam, seg]);
    }
  }
  return expired;
}

/** The first epoch whose checkpoints `policy` keeps at `nowSec`; undefined when checkpoints are kept forever. */
export function checkpointCutoffEpoch(policy: RetentionPolicy, nowSec: number): number | undefined {
  if (policy.checkpointsDays === null) return undefined;
  return epochOf(nowSec - policy.checkpointsDays * 86400, DEFAULT_PROFILE.epochSec);
}

/** The checkpoint records to keep (in order): those of epoch `beforeEpoch` or later, and each label's latest. */
export function checkpointsToKeep<T extends { label: Uint8Array; upto: number; epoch: number }>(
  all: readonly T[],
  beforeEpoch: number,
): T[] {
  const latest = new Map<string, number>();
  for (const r of all) {
    const k = toHex(r.label);
    if ((latest.get(k) ?? -1) < r.upto) latest.set(k, r.upto);
  }
  return all.filter((r) => r.epoch >= beforeEpoch || latest.get(toHex(r.label)) === r.upto);
}

/**
 * Runs retention passes for a running hub: once at start-up, then every `intervalMs`. Each pass also collects
 * attachments (lapsed uploads, and those claimed by MSGs of dropped payload segments).
 */
export class RetentionEnforcer {
  readonly #dir: string;
  readonly #store: HubStore;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  readonly #hold: RetentionHold | undefined;

  constructor(
    dir: string,
    store: HubStore,
    log: Logger,
    opts: { now: () => number; intervalMs?: number; hold?: RetentionHold },
  ) {
    this.#hold = opts.hold;
    this.#dir = dir;
    this.#store = store;
    this.#log = log;
    this.#now = opts.now;
    this.#intervalMs = opts.intervalMs ?? RETENTION_INTERVAL_MS;
  }

  /** One pass (serialized with any running one). Errors are logged, never thrown: retention must not stop the hub. */
  run(): Promise<void> {
    this.#running = this.#running.then(() => this.#pass());
    return this.#running;
  }

  async #pass(): Promise<void> {
    if (this.#stopped) return;
    await this.#retention();
    await this.#attachments();
  }

  /** Lapsed attachment uploads and the attachments of dropped payload segments (hub/attachment_ledger.ts). */
  async #attachments(): Promise<void> {
    if (this.#store.collectAttachments === undefined) return;
    try {
      const c = await this.#store.collectAttachments(this.#now());
      if (c.collected > 0) this.#log.info("collected attachments", { ...c });
    } catch (e) {
      this.#log.error("attachment collection failed", { error: String(e) });
    }
  }

  async #retention(): Promise<void> {
    if (this.#store.enforceRetention === undefined) return;
    let policy: RetentionPolicy;
    try {
      policy = await readRetentionPolicy(this.#dir);
    } catch (e) {
      this.#log.error("retention policy unreadable; nothing dropped", { error: String(e) });
      return;
    }
    try {
      const d = await this.#store.enforceRetention(policy, this.#now(), this.#hold);
      if (d.receipts.length + d.payloads.length + d.checkpoints > 0) {
        this.#log.info("retention dropped expired data", {
          receipts_segments: d.receipts,
          payloads_segments: d.payloads,
          checkpoints: d.checkpoints,
        });
      }
    } catch (e) {
      this.#log.error("retention pass failed", { error: String(e) });
    }
  }

  /** Starts the periodic passes (an unref'ed timer). */
  start(): void {
    if (this.#intervalMs <= 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.run(), this.#intervalMs);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** Stops the timer and waits for a running pass. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

// ---------------------------------------------------------------- offline status (veen retention show)

/**
 * Retention boundaries read from the data dir's files (no index, safe while a hub runs): per family the first
 * present segment, per label (from pos/) the first retained seq. `last_seq` comes from the position file's length,
 * which may include entries a crashed hub had not indexed yet.
 */
export async function offlineRetentionStatus(
  dataDir: string,
  policy?: RetentionPolicy,
): Promise<RetentionStatus> {
  const p = policy ?? await readRetentionPolicy(dataDir);
  const first = async (fam: "receipts" | "payloads") => {
    const segs = await listSegments(`${dataDir}/${fam}`);
    return segs[0] ?? 0;
  };
  const r = await first("receipts");
  const pl = await first("payloads");
  const labels: RetentionStatus["labels"] = [];
  const entries = (await dirEntries(`${dataDir}/pos`)).filter((e) =>
    e.isFile && /^[0-9a-f]+\.pos$/.test(e.name)
  );
  for (const e of entries) {
    const path = `${dataDir}/pos/${e.name}`;
    const f = await Deno.open(path, { read: true });
    try {
      const n = Math.floor((await f.stat()).size / POS_BYTES);
      const buf = new Uint8Array(4);
      const segAt = (seq: number) => {
        f.seekSync((seq - 1) * POS_BYTES, Deno.SeekMode.Start);
        let got = 0;
        while (got < 4) {
          const r = f.readSync(buf.subarray(got));
          if (r === null || r === 0) break;
          got += r;
        }
        return new DataView(buf.buffer).getUint32(0);
      };
      labels.push({
        label: e.name.slice(0, -4),
        last_seq: n,
        first_receipt_seq: firstSeqAtOrAfter(n, r, segAt),
        first_payload_seq: firstSeqAtOrAfter(n, pl, segAt),
      });
    } finally {
      f.close();
    }
  }
  return {
    receipts: { days: p.receiptsDays, dropped_segments: r, first_segment: r },
    payloads: { days: p.payloadsDays, dropped_segments: pl, first_segment: pl },
    checkpoints: { days: p.checkpointsDays, dropped: 0 },
    labels,
    labels_truncated: false,
  };
}

// ---------------------------------------------------------------- veen retention show|set

/** `--NAME-days N|forever`: days, null for forever, undefined when absent; a usage error otherwise. */
function daysFlag(ctx: CommandContext, name: string): number | null | undefined {
  const s = ctx.flags.str(name);
  if (s === undefined) return undefined;
  if (s === "forever" || s === "never") return null;
  if (!/^\d+$/.test(s)) throw usageError(`--${name} must be a number of days or "forever", not "${s}"`);
  try {
    return checkDays(Number(s), `--${name}`);
  } catch (e) {
    throw e instanceof VeenError ? usageError(e.detail) : e;
  }
}

const showDays = (d: number | null) => (d === null ? "forever" : `${d} day${d === 1 ? "" : "s"}`);

/** `veen retention set` (exit 0, 1 usage, 4 on an E.* error; table in commands.ts). */
export async function retentionSet(ctx: CommandContext): Promise<number> {
  const dir = dataDirOf(ctx);
  const r = daysFlag(ctx, "receipts-days");
  const p = daysFlag(ctx, "payloads-days");
  const c = daysFlag(ctx, "checkpoints-days");
  if (r === undefined && p === undefined && c === undefined) {
    throw usageError("retention set needs at least one --*-days flag");
  }
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error("not a directory");
  } catch (e) {
    throw new VeenError("E.NOT_FOUND", `Data dir ${dir} does not exist: ${(e as Error).message}`);
  }
  const cur = await readRetentionPolicy(dir);
  const next: RetentionPolicy = {
    receiptsDays: r === undefined ? cur.receiptsDays : r,
    payloadsDays: p === undefined ? cur.payloadsDays : p,
    checkpointsDays: c === undefined ? cur.checkpointsDays : c,
  };
  await writeRetentionPolicy(dir, next);
  ctx.out.document(JSON.parse(encodeRetentionPolicy(next)), [
    `retention set in ${dir}/${RETENTION_FILE}: receipts ${showDays(next.receiptsDays)}, payloads ${
      showDays(next.payloadsDays)
    }, checkpoints ${showDays(next.checkpointsDays)} (a running hub applies it within ${
      RETENTION_INTERVAL_MS / 1000
    } s)`,
  ]);
  return EXIT.OK;
}

/** `veen retention show`: the policy and the retention boundaries of a data dir. */
export async function retentionShow(ctx: CommandContext): Promise<number> {
  const dir = dataDirOf(ctx);
  const st = await offlineRetentionStatus(dir);
  const fam = (name: string, f: RetentionStatus["receipts"]) =>
    `  ${name.padEnd(12)} ${showDays(f.days).padEnd(10)} dropped segments: ${f.dropped_segments}` +
    (f.dropped_segments > 0 ? ` (first retained ${segmentName(f.first_segment)})` : "");
  const lines = [
    `retention of ${dir} (${RETENTION_FILE}):`,
    fam("receipts", st.receipts),
    fam("payloads", st.payloads),
    `  ${"checkpoints".padEnd(12)} ${showDays(st.checkpoints.days)}` +
    (st.checkpoints.days === null ? "" : " (each label's latest is always kept)"),
  ];
  if (st.labels.length > 0) {
    lines.push(`first retained stream_seq per label (receipts / payloads, of last_seq):`);
    for (const l of st.labels) {
      lines.push(`  ${l.label}  ${l.first_receipt_seq} / ${l.first_payload_seq} of ${l.last_seq}`);
    }
  }
  ctx.out.document({ data_dir: dir, ...st }, lines);
  return EXIT.OK;
}
