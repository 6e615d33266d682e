/**
 * Attachment accounting (docs/protocol.md "Attachments", docs/durability.md): who stored which attachment, which
 * admitted MSG claimed it, and collection of what nobody claimed, so uploads cannot fill the disk.
 *
 * - An upload is charged to its owner: the auth_ref sent in the `veen-auth-ref` header (the empty owner for an
 *   anonymous upload to a hub without admission). An owner stores at most `quotaBytes` (pending and claimed, until
 *   collected), else E.RATE; all pending (unclaimed) bytes together are at most `pendingMaxBytes`, else
 *   E.UNAVAILABLE with retry_after. Both count whole 4 KiB blocks, which also bounds the number of attachments
 *   (and of rows kept in memory) by the bytes.
 * - The hub cannot see which coids a MSG names (att_root is inside the encrypted payload_hdr), so "referenced" is
 *   defined at the level it sees: an upload waits for its owner's next committed MSG (MSG.auth_ref = the owner;
 *   auth_ref null for the empty owner). That MSG claims every attachment its owner uploaded at or before its hub_ts
 *   and records the MSG's payload segment.
 * - A wait older than `graceSec` (plus `claimMarginSec`, so that a MSG sequenced inside the grace whose commit ends
 *   after it still claims) lapses; an attachment with no wait left that was never claimed is collected
 *   (`collect`, run by the retention pass). When retention has dropped a payload segment, the attachments claimed
 *   by MSGs in it are collected too, unless an upload since then waits to claim them again.
 * - The same bytes uploaded twice are one file, charged to the first uploader. A re-upload only adds a wait, so
 *   the uploader's next MSG claims the file again (moving its segment forward); it never shortens the file's life.
 *
 * Crash safety: an upload commits its row and wait before it writes the file, and collection deletes the file
 * (fsyncing its directory) before the row, so a crash leaves at worst a row whose file is missing, which the next
 * pass collects; the retention part keeps `["meta","att_cleaned"]`, the first payload segment not yet examined,
 * and redoes a segment whose pass was interrupted. Every step is idempotent. Row changes run under one lock; the
 * file write does not (collection leaves an upload alone while its file is being written).
 *
 * KV rows (in the store's index.kv; MemoryLedgerBackend keeps the same in maps):
 *
 * | key | value |
 * |---|---|
 * | `["att", coid]` | `[len, owner, seg, at]`: owner bytes (empty: anonymous), claiming payload segment (-1: pending), first upload (s) |
 * | `["att_wait", owner, coid]` | upload time (s) of a wait for the owner's next MSG |
 * | `["att_seg", seg, coid]` | `true`: the attachment is claimed by a MSG in payload segment seg |
 * | `["att_owner", owner]` | bytes charged to the owner (sum of its rows' `attachmentCost(len)`) |
 * | `["meta", "att_cleaned"]` | first payload segment whose claimed attachments were not yet examined after a drop |
 *
 * Memory: the waits and their rows (bounded by the pending cap and the grace period), loaded at open; the owners'
 * charges through a bounded cache. No pass lists the attachment directory.
 */
import { H, Lru, toHex, VeenError } from "../core/mod.ts";
import { Lock } from "./files.ts";

export interface AttachmentPolicy {
  /** Bytes one owner may have stored (pending + claimed), `attachment_quota_bytes`. */
  quotaBytes: number;
  /** Pending (unclaimed) bytes of all owners together, `attachment_pending_bytes`. */
  pendingMaxBytes: number;
  /** Seconds an upload waits for its owner's next MSG before it lapses, `attachment_grace_sec`. */
  graceSec: number;
  /**
   * Seconds collection waits past the grace before it deletes: a MSG sequenced just inside the grace claims only
   * once its commit is durable, so this must exceed any commit's duration (300 s; tests use 0).
   */
  claimMarginSec: number;
  /** Quota and pending bytes count whole blocks of this size (4096; tests use 1). */
  blockBytes: number;
}

/** Bytes charged for an attachment of `len` bytes: whole `blockBytes` blocks (at least one). */
export function attachmentCost(
  len: number,
  blockBytes: number = DEFAULT_ATTACHMENT_POLICY.blockBytes,
): number {
  return Math.max(1, Math.ceil(len / blockBytes)) * blockBytes;
}

export const DEFAULT_ATTACHMENT_POLICY: Readonly<AttachmentPolicy> = Object.freeze({
  quotaBytes: 1024 * 1024 * 1024,
  pendingMaxBytes: 1024 * 1024 * 1024,
  graceSec: 3600,
  claimMarginSec: 300,
  blockBytes: 4096,
});

/** One attachment's accounting row. */
export interface AttachmentRow {
  len: number;
  /** The auth_ref charged; empty for an anonymous upload. */
  owner: Uint8Array;
  /** Payload segment of the last MSG that claimed it; -1 while pending. */
  seg: number;
  /** First upload, hub time in seconds. */
  at: number;
}

/** One atomic change of the rows (null deletes). */
export interface LedgerChange {
  rows: [Uint8Array, AttachmentRow | null][];
  waits: [Uint8Array, Uint8Array, number | null][];
  segs: [number, Uint8Array, boolean][];
  owners: [Uint8Array, number][];
  cleaned?: number;
}

/** Persistence of the rows; `apply` is atomic. */
export interface LedgerBackend {
  waits(): Promise<{ owner: Uint8Array; coid: Uint8Array; at: number }[]>;
  rows(coids: Uint8Array[]): Promise<(AttachmentRow | undefined)[]>;
  ownerBytes(owner: Uint8Array): Promise<number>;
  /** The lowest payload segment >= `from` with claimed attachments (Infinity: none) and up to `limit` of its coids. */
  claimedFrom(from: number, limit: number): Promise<{ seg: number; coids: Uint8Array[] }>;
  cleaned(): Promise<number>;
  apply(c: LedgerChange): Promise<void>;
}

/** The attachment files (AttachmentStore on disk). */
export interface AttachmentFiles {
  readonly maxBytes: number;
  put(bytes: Uint8Array): Promise<Uint8Array>;
  remove(coid: Uint8Array): Promise<void>;
}

/** A MSG that may claim its owner's waiting uploads: owner = MSG.auth_ref (null: anonymous). */
export interface AttachmentClaim {
  owner: Uint8Array | null;
  seg: number;
  hubTs: number;
}

/** What one `collect` pass removed. */
export interface AttachmentsCollected {
  lapsed: number;
  collected: number;
  bytes: number;
}

/** Counters for /info and tests. */
export interface AttachmentLedgerStatus {
  pending: number;
  pending_bytes: number;
  waits: number;
}

const EMPTY = new Uint8Array(0);
/** Most owners waiting to claim one attachment at once (bounds the waits an open hub can be made to keep). */
const MAX_WAITERS = 64;
/** Rows examined per atomic change and lock hold (each touches at most four keys and may delete a file). */
const CHUNK = 64;

interface Cached {
  row: AttachmentRow;
  coid: Uint8Array;
  waiters: number;
}

const change = (): LedgerChange => ({ rows: [], waits: [], segs: [], owners: [] });

export class AttachmentLedger {
  readonly #backend: LedgerBackend;
  readonly #files: AttachmentFiles;
  readonly #policy: AttachmentPolicy;
  readonly #lock = new Lock();
  /** owner hex → the owner and its waits: coid hex → upload time (s). */
  readonly #waits = new Map<string, { owner: Uint8Array; at: Map<string, number> }>();
  /** Rows of the coids that have waits. */
  readonly #rows = new Map<string, Cached>();
  readonly #owners = new Lru<number>(65536);
  /** coid hex → uploads of it whose file is being written (collection skips their waits). */
  readonly #writing = new Map<string, number>();
  #pendingBytes = 0;
  #pending = 0;

  private constructor(backend: LedgerBackend, files: AttachmentFiles, policy: AttachmentPolicy) {
    this.#backend = backend;
    this.#files = files;
    this.#policy = policy;
  }

  /** Loads the waits and their rows: O(waits). */
  static async open(
    backend: LedgerBackend,
    files: AttachmentFiles,
    policy: Partial<AttachmentPolicy> = {},
  ): Promise<AttachmentLedger> {
    const l = new AttachmentLedger(backend, files, { ...DEFAULT_ATTACHMENT_POLICY, ...policy });
    const waits = await backend.waits();
    const coids = new Map<string, Uint8Array>();
    for (const w of waits) coids.set(toHex(w.coid), w.coid);
    const list = [...coids.values()];
    const rows = await backend.rows(list);
    list.forEach((coid, i) => {
      const row = rows[i];
      if (row !== undefined) l.#cache(coid, row);
    });
    for (const w of waits) {
      const c = l.#rows.get(toHex(w.coid));
      if (c === undefined) continue; // a wait without its row: ignored here, reported by fsck
      l.#addWait(w.owner, toHex(w.coid), w.at, c);
    }
    return l;
  }

  #cache(coid: Uint8Array, row: AttachmentRow): Cached {
    const c = { row, coid, waiters: 0 };
    this.#rows.set(toHex(coid), c);
    if (row.seg < 0) {
      this.#pending++;
      this.#pendingBytes += this.#cost(row.len);
    }
    return c;
  }

  #addWait(owner: Uint8Array, coidHex: string, at: number, c: Cached): void {
    const k = toHex(owner);
    let w = this.#waits.get(k);
    if (w === undefined) this.#waits.set(k, w = { owner, at: new Map() });
    if (!w.at.has(coidHex)) c.waiters++;
    w.at.set(coidHex, at);
  }

  /** Drops a wait (the cached row stays until `#uncache`). */
  #dropWait(ownerHex: string, coidHex: string): void {
    const w = this.#waits.get(ownerHex)!;
    w.at.delete(coidHex);
    if (w.at.size === 0) this.#waits.delete(ownerHex);
    this.#rows.get(coidHex)!.waiters--;
  }

  #setSeg(c: Cached, seg: number): void {
    if (c.row.seg < 0 && seg >= 0) {
      this.#pending--;
      this.#pendingBytes -= this.#cost(c.row.len);
    } else if (c.row.seg >= 0 && seg < 0) {
      this.#pending++;
      this.#pendingBytes += this.#cost(c.row.len);
    }
    c.row = { ...c.row, seg };
  }

  #uncache(coidHex: string): void {
    const c = this.#rows.get(coidHex);
    if (c === undefined || c.waiters > 0) return;
    this.#rows.delete(coidHex);
    if (c.row.seg < 0) {
      this.#pending--;
      this.#pendingBytes -= this.#cost(c.row.len);
    }
  }

  /** The bytes an attachment of `len` bytes is charged: whole blocks, as a file system stores it. */
  #cost(len: number): number {
    return attachmentCost(len, this.#policy.blockBytes);
  }

  async #ownerBytes(owner: Uint8Array): Promise<number> {
    const k = toHex(owner);
    const v = this.#owners.get(k);
    if (v !== undefined) return v;
    const n = await this.#backend.ownerBytes(owner);
    this.#owners.set(k, n);
    return n;
  }

  /** Seconds until the oldest wait lapses (at least 1). */
  #retryAfter(nowSec: number): number {
    let oldest = Infinity;
    for (const w of this.#waits.values()) for (const at of w.at.values()) oldest = Math.min(oldest, at);
    const lapseAt = oldest + this.#policy.graceSec + this.#policy.claimMarginSec;
    return Math.max(1, oldest === Infinity ? 1 : lapseAt - nowSec);
  }

  /**
   * Stores `bytes` for `owner` (null: anonymous) and returns the coid. E.SIZE when empty or over the size limit,
   * E.RATE when the owner's quota would be exceeded, E.UNAVAILABLE when the pending cap would be. The row and
   * the wait are committed under the lock, the file is written after it (so claims and other uploads do not wait
   * for the write); collection leaves an upload alone while its file is being written.
   */
  async put(bytes: Uint8Array, owner: Uint8Array | null, nowSec: number): Promise<Uint8Array> {
    if (bytes.length === 0) throw new VeenError("E.SIZE", "An attachment must not be empty");
    if (bytes.length > this.#files.maxBytes) {
      throw new VeenError(
        "E.SIZE",
        `Attachment of ${bytes.length} bytes exceeds the limit of ${this.#files.maxBytes}`,
      );
    }
    const coid = H(bytes);
    const hex = toHex(coid);
    const who = owner ?? EMPTY;
    const fresh = await this.#lock.run(() => this.#account(coid, who, bytes.length, nowSec));
    this.#writing.set(hex, (this.#writing.get(hex) ?? 0) + 1);
    try {
      await this.#files.put(bytes); // for a stored coid a no-op, unless a crash lost the file
    } catch (e) {
      await this.#lock.run(() => this.#undo(coid, who, nowSec, fresh)).catch(() => {});
      throw e;
    } finally {
      const n = this.#writing.get(hex)! - 1;
      if (n === 0) this.#writing.delete(hex);
      else this.#writing.set(hex, n);
    }
    return coid;
  }

  /** The accounting of an upload: a wait, and for a new coid its row and charge; true for a new coid. */
  async #account(coid: Uint8Array, who: Uint8Array, len: number, nowSec: number): Promise<boolean> {
    const hex = toHex(coid);
    const c = this.#rows.get(hex);
    const stored = c?.row ?? (await this.#backend.rows([coid]))[0];
    if (stored !== undefined) { // stored already: one more wait, no charge
      if (c !== undefined && c.waiters >= MAX_WAITERS && !this.#waits.get(toHex(who))?.at.has(hex)) {
        throw new VeenError("E.RATE", `Attachment ${hex} already waits for ${MAX_WAITERS} owners' MSGs`);
      }
      await this.#backend.apply({ ...change(), waits: [[who, coid, nowSec]] });
      this.#addWait(who, hex, nowSec, c ?? this.#cache(coid, stored));
      return false;
    }
    const charged = await this.#ownerBytes(who);
    const cost = this.#cost(len);
    if (charged + cost > this.#policy.quotaBytes) {
      throw new VeenError(
        "E.RATE",
        `Attachment quota exceeded: ${charged} of ${this.#policy.quotaBytes} bytes stored under this ` +
          `${who.length === 0 ? "anonymous owner" : "auth_ref"}, ${cost} more asked (${len} in whole ` +
          `${this.#policy.blockBytes}-byte blocks)`,
      );
    }
    if (this.#pendingBytes + cost > this.#policy.pendingMaxBytes) {
      throw new VeenError(
        "E.UNAVAILABLE",
        `Hub holds ${this.#pendingBytes} bytes of unclaimed attachments (limit ${this.#policy.pendingMaxBytes})`,
        { retryAfter: this.#retryAfter(nowSec) },
      );
    }
    const row: AttachmentRow = { len, owner: who, seg: -1, at: nowSec };
    await this.#backend.apply({
      ...change(),
      rows: [[coid, row]],
      waits: [[who, coid, nowSec]],
      owners: [[who, charged + cost]],
    });
    this.#owners.set(toHex(who), charged + cost);
    this.#addWait(who, hex, nowSec, this.#cache(coid, row));
    return true;
  }

  /**
   * After a failed file write: withdraws the upload's wait, and for a new coid that nothing else waits for or
   * claimed, its row and charge. Leaves everything when a claim or another upload changed the wait meanwhile.
   */
  async #undo(coid: Uint8Array, who: Uint8Array, nowSec: number, fresh: boolean): Promise<void> {
    const hex = toHex(coid);
    const ownerHex = toHex(who);
    if (this.#waits.get(ownerHex)?.at.get(hex) !== nowSec) return;
    const c = this.#rows.get(hex)!;
    const ch: LedgerChange = { ...change(), waits: [[who, coid, null]] };
    const whole = fresh && c.row.seg < 0 && c.waiters === 1;
    let charged = 0;
    if (whole) {
      charged = Math.max(0, (await this.#ownerBytes(who)) - this.#cost(c.row.len));
      ch.rows.push([coid, null]);
      ch.owners.push([who, charged]);
    }
    await this.#backend.apply(ch);
    if (whole) this.#owners.set(ownerHex, charged);
    this.#dropWait(ownerHex, hex);
    this.#uncache(hex);
  }

  /** True when a MSG of `owner` would claim something (a synchronous check for the commit path). */
  waiting(owner: Uint8Array | null): boolean {
    return this.#waits.size > 0 && this.#waits.has(toHex(owner ?? EMPTY));
  }

  /** Each MSG claims its owner's uploads made at or before its hub_ts (see the module doc). Idempotent. */
  claim(claims: readonly AttachmentClaim[]): Promise<void> {
    return this.#lock.run(async () => {
      let c = change();
      let done: (() => void)[] = [];
      const flush = async () => {
        if (done.length === 0) return;
        await this.#backend.apply(c);
        for (const f of done) f();
        c = change();
        done = [];
      };
      // Per owner, its latest MSG of the batch claims (the same seg and hub_ts for a batch in practice).
      const latest = new Map<string, { seg: number; hubTs: number }>();
      for (const cl of claims) {
        const k = toHex(cl.owner ?? EMPTY);
        const o = latest.get(k);
        latest.set(k, { seg: Math.max(o?.seg ?? -1, cl.seg), hubTs: Math.max(o?.hubTs ?? 0, cl.hubTs) });
      }
      for (const [ownerHex, cl] of latest) {
        const w = this.#waits.get(ownerHex);
        if (w === undefined) continue;
        for (const [coidHex, at] of [...w.at]) {
          if (at > cl.hubTs) continue;
          const cached = this.#rows.get(coidHex)!;
          const old = cached.row.seg;
          const seg = Math.max(old, cl.seg);
          c.waits.push([w.owner, cached.coid, null]);
          if (seg !== old) {
            c.rows.push([cached.coid, { ...cached.row, seg }]);
            if (old >= 0) c.segs.push([old, cached.coid, false]);
            c.segs.push([seg, cached.coid, true]);
          }
          done.push(() => {
            this.#setSeg(cached, seg);
            this.#dropWait(ownerHex, coidHex);
            this.#uncache(coidHex);
          });
          if (done.length >= CHUNK) await flush();
        }
      }
      await flush();
    });
  }

  /**
   * Lapses waits older than the grace period and deletes attachments no MSG claimed; then, when retention has
   * dropped payload segments below `firstPayloadSeg`, deletes the attachments claimed in them. Works in chunks,
   * each under the lock, so claims of committing MSGs wait for one chunk at most.
   */
  async collect(nowSec: number, firstPayloadSeg?: number): Promise<AttachmentsCollected> {
    const out: AttachmentsCollected = { lapsed: 0, collected: 0, bytes: 0 };
    while (await this.#lock.run(() => this.#lapse(nowSec, out))) { /* the next chunk */ }
    if (firstPayloadSeg !== undefined) {
      while (await this.#lock.run(() => this.#collectDropped(firstPayloadSeg, out))) { /* the next chunk */ }
    }
    return out;
  }

  /** Lapses up to CHUNK expired waits (not of an upload still writing its file); true when there may be more. */
  async #lapse(nowSec: number, out: AttachmentsCollected): Promise<boolean> {
    const lapsed: [string, string][] = [];
    outer: for (const [ownerHex, w] of this.#waits) {
      for (const [coidHex, at] of w.at) {
        const lapses = nowSec - at >= this.#policy.graceSec + this.#policy.claimMarginSec;
        if (!lapses || this.#writing.has(coidHex)) continue;
        lapsed.push([ownerHex, coidHex]);
        if (lapsed.length >= CHUNK) break outer;
      }
    }
    if (lapsed.length === 0) return false;
    const c = change();
    const charges = new Map<string, [Uint8Array, number]>();
    const gone = new Map<string, number>(); // coid hex → waits of it lapsed earlier in this chunk
    for (const [ownerHex, coidHex] of lapsed) {
      const cached = this.#rows.get(coidHex)!;
      const others = cached.waiters - 1 - (gone.get(coidHex) ?? 0);
      c.waits.push([this.#waits.get(ownerHex)!.owner, cached.coid, null]);
      if (others === 0 && cached.row.seg < 0) {
        await this.#files.remove(cached.coid);
        c.rows.push([cached.coid, null]);
        await this.#charge(charges, cached.row, -this.#cost(cached.row.len));
        out.collected++;
        out.bytes += cached.row.len;
      }
      gone.set(coidHex, (gone.get(coidHex) ?? 0) + 1);
    }
    for (const v of charges.values()) c.owners.push(v);
    await this.#backend.apply(c);
    for (const [k, [, n]] of charges) this.#owners.set(k, n);
    for (const [ownerHex, coidHex] of lapsed) {
      this.#dropWait(ownerHex, coidHex);
      this.#uncache(coidHex);
    }
    out.lapsed += lapsed.length;
    return lapsed.length >= CHUNK;
  }

  async #charge(
    charges: Map<string, [Uint8Array, number]>,
    row: AttachmentRow,
    delta: number,
  ): Promise<void> {
    const k = toHex(row.owner);
    const cur = charges.get(k)?.[1] ?? await this.#ownerBytes(row.owner);
    charges.set(k, [row.owner, Math.max(0, cur + delta)]);
  }

  /**
   * Up to CHUNK attachments claimed in the lowest dropped payload segment not yet cleaned: deleted, or pending
   * again when an upload since waits to claim them. True when there may be more.
   */
  async #collectDropped(firstPayloadSeg: number, out: AttachmentsCollected): Promise<boolean> {
    const from = await this.#backend.cleaned();
    if (from >= firstPayloadSeg) return false;
    const { seg, coids } = await this.#backend.claimedFrom(from, CHUNK);
    const c = change();
    if (seg >= firstPayloadSeg) { // nothing claimed in the dropped segments left
      await this.#backend.apply({ ...c, cleaned: firstPayloadSeg });
      return false;
    }
    const charges = new Map<string, [Uint8Array, number]>();
    const after: (() => void)[] = [];
    const rows = await this.#backend.rows(coids);
    for (let i = 0; i < coids.length; i++) {
      const coid = coids[i]!;
      const row = rows[i];
      c.segs.push([seg, coid, false]);
      if (row === undefined || row.seg !== seg) continue; // stale index row
      const cached = this.#rows.get(toHex(coid));
      if (cached !== undefined) { // an upload since waits to claim it again: pending once more
        c.rows.push([coid, { ...row, seg: -1 }]);
        after.push(() => this.#setSeg(cached, -1));
        continue;
      }
      await this.#files.remove(coid);
      c.rows.push([coid, null]);
      await this.#charge(charges, row, -this.#cost(row.len));
      out.collected++;
      out.bytes += row.len;
    }
    for (const v of charges.values()) c.owners.push(v);
    c.cleaned = coids.length < CHUNK ? seg + 1 : seg;
    await this.#backend.apply(c);
    for (const [k, [, n]] of charges) this.#owners.set(k, n);
    for (const f of after) f();
    return true;
  }

  /** Resolves once every queued operation has settled. */
  /** Runs `fn` with the ledger's rows unchanged meanwhile (an online backup reads them). */
  hold<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(fn);
  }

  idle(): Promise<void> {
    return this.#lock.idle();
  }

  status(): AttachmentLedgerStatus {
    let waits = 0;
    for (const w of this.#waits.values()) waits += w.at.size;
    return { pending: this.#pending, pending_bytes: this.#pendingBytes, waits };
  }
}

// ---------------------------------------------------------------- backends

const toRow = (v: unknown): AttachmentRow | undefined => {
  if (!Array.isArray(v) || v.length !== 4) return undefined;
  const [len, owner, seg, at] = v;
  if (
    typeof len !== "number" || !(owner instanceof Uint8Array) || typeof seg !== "number" ||
    typeof at !== "number"
  ) {
    return undefined;
  }
  return { len, owner, seg, at };
};

/** Decodes an `["att", coid]` value (undefined when malformed). */
export const decodeAttachmentRow = toRow;

/** The rows in the store's Deno KV (keys in the module doc). */
export class KvLedgerBackend implements LedgerBackend {
  constructor(private readonly kv: Deno.Kv) {}

  async waits(): Promise<{ owner: Uint8Array; coid: Uint8Array; at: number }[]> {
    const out = [];
    for await (const e of this.kv.list<number>({ prefix: ["att_wait"] }, { batchSize: 1000 })) {
      const [, owner, coid] = e.key;
      if (owner instanceof Uint8Array && coid instanceof Uint8Array && typeof e.value === "number") {
        out.push({ owner, coid, at: e.value });
      }
    }
    return out;
  }

  async rows(coids: Uint8Array[]): Promise<(AttachmentRow | undefined)[]> {
    const out: (AttachmentRow | undefined)[] = [];
    for (let i = 0; i < coids.length; i += 10) {
      const got = await this.kv.getMany(coids.slice(i, i + 10).map((c) => ["att", c]));
      for (const g of got) out.push(toRow(g.value));
    }
    return out;
  }

  async ownerBytes(owner: Uint8Array): Promise<number> {
    return (await this.kv.get<number>(["att_owner", owner])).value ?? 0;
  }

  async claimedFrom(from: number, limit: number): Promise<{ seg: number; coids: Uint8Array[] }> {
    let seg = Infinity;
    const coids: Uint8Array[] = [];
    for await (const e of this.kv.list({ prefix: ["att_seg"], start: ["att_seg", from] }, { limit })) {
      const [, s, coid] = e.key;
      if (typeof s !== "number" || !(coid instanceof Uint8Array)) continue;
      if (seg === Infinity) seg = s;
      if (s !== seg) break;
      coids.push(coid);
    }
    return { seg, coids };
  }

  async cleaned(): Promise<number> {
    return (await this.kv.get<number>(["meta", "att_cleaned"])).value ?? 0;
  }

  async apply(c: LedgerChange): Promise<void> {
    const op = this.kv.atomic();
    for (const [coid, row] of c.rows) {
      if (row === null) op.delete(["att", coid]);
      else op.set(["att", coid], [row.len, row.owner, row.seg, row.at]);
    }
    for (const [owner, coid, at] of c.waits) {
      if (at === null) op.delete(["att_wait", owner, coid]);
      else op.set(["att_wait", owner, coid], at);
    }
    for (const [seg, coid, on] of c.segs) {
      if (on) op.set(["att_seg", seg, coid], true);
      else op.delete(["att_seg", seg, coid]);
    }
    for (const [owner, n] of c.owners) {
      if (n === 0) op.delete(["att_owner", owner]);
      else op.set(["att_owner", owner], n);
    }
    if (c.cleaned !== undefined) op.set(["meta", "att_cleaned"], c.cleaned);
    const res = await op.commit();
    if (!res.ok) throw new VeenError("E.UNAVAILABLE", "Attachment index commit was rejected");
  }
}

/** The same rows in maps (MemoryStore). */
export class MemoryLedgerBackend implements LedgerBackend {
  readonly rowMap = new Map<string, [Uint8Array, AttachmentRow]>();
  readonly waitMap = new Map<string, { owner: Uint8Array; coid: Uint8Array; at: number }>();
  readonly segMap = new Map<number, Map<string, Uint8Array>>();
  readonly ownerMap = new Map<string, number>();
  cleanedUpto = 0;

  waits() {
    return Promise.resolve([...this.waitMap.values()]);
  }

  rows(coids: Uint8Array[]) {
    return Promise.resolve(coids.map((c) => this.rowMap.get(toHex(c))?.[1]));
  }

  ownerBytes(owner: Uint8Array) {
    return Promise.resolve(this.ownerMap.get(toHex(owner)) ?? 0);
  }

  claimedFrom(from: number, limit: number) {
    const segs = [...this.segMap].filter(([s, m]) => s >= from && m.size > 0).map(([s]) => s);
    const seg = Math.min(Infinity, ...segs);
    return Promise.resolve({ seg, coids: [...(this.segMap.get(seg)?.values() ?? [])].slice(0, limit) });
  }

  cleaned() {
    return Promise.resolve(this.cleanedUpto);
  }

  apply(c: LedgerChange): Promise<void> {
    for (const [coid, row] of c.rows) {
      if (row === null) this.rowMap.delete(toHex(coid));
      else this.rowMap.set(toHex(coid), [coid, row]);
    }
    for (const [owner, coid, at] of c.waits) {
      const k = toHex(owner) + "/" + toHex(coid);
      if (at === null) this.waitMap.delete(k);
      else this.waitMap.set(k, { owner, coid, at });
    }
    for (const [seg, coid, on] of c.segs) {
      let m = this.segMap.get(seg);
      if (m === undefined) this.segMap.set(seg, m = new Map());
      if (on) m.set(toHex(coid), coid);
      else m.delete(toHex(coid));
    }
    for (const [owner, n] of c.owners) {
      if (n === 0) this.ownerMap.delete(toHex(owner));
      else this.ownerMap.set(toHex(owner), n);
    }
    if (c.cleaned !== undefined) this.cleanedUpto = c.cleaned;
    return Promise.resolve();
  }
}
