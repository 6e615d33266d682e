/**
 * The Deno KV index of the hub (derivable from the log; the data dir: docs/durability.md).
 *
 * | key | value |
 * |---|---|
 * | `["meta", "format"]` | `1` |
 * | `["meta", "indexed"]` | `[seg, receipts_offset, payloads_offset, rec]`: the log position up to which everything is indexed |
 * | `["meta", "checkpoints"]`, `["meta", "admissions"]` | byte offset up to which that file is indexed |
 * | `["client", label, client_id]` | `[client_seq, stream_seq, leaf_hash, first_seen]`: the client's last accepted entry and its KEX1+ first_seen (rows written before first_seen existed have 3 elements: unknown) |
 * | `["head", label]` | `{seq, peaks, root, lastHubTs}` |
 * | `["ckpt", label, upto_seq]` | `[offset, len, epoch]` in checkpoints.cborseq |
 * | `["ckpt_epoch", label, epoch, upto_seq]` | `[offset, len]` |
 * | `["adm", auth_ref]` | `[offset, len]` in admissions.cborseq |
 * | `["adm_root", cap_root]` | issued_at of the cap root: the least issued_at of the admission records of that root |
 * | `["meta", "adm_roots"]` | `1` once the `["adm_root"]` rows cover every indexed admission record |
 * | `["att", …]`, `["att_wait", …]`, `["att_seg", …]`, `["att_owner", …]`, `["meta", "att_cleaned"]` | attachment accounting (attachment_ledger.ts; not derived from the log) |
 *
 * Entry positions are not here: per-entry `["pos", label, seq]` rows cost 1-2 ms of a ~7 ms atomic for 64 entries
 * (measured, see selftest/store_bench.ts), so they live in fixed-width `pos/<label>.pos` files (node_store.ts), written and
 * fdatasync'ed with the node files before this commit.
 *
 * One batch is one atomic commit unless it exceeds the KV limits (1000 mutations, 800 KiB of keys and values, 80 KiB
 * of keys per atomic). Then it is split in order — entry rows first, then heads, then `["meta", "indexed"]` in the
 * last chunk — so a crash between chunks leaves only rows that the log-tail replay rewrites identically, and every
 * head that is committed has all its rows.
 */
import { Lru, toHex, VeenError } from "../core/mod.ts";
import { type ClientUsage, nextFirstSeen } from "./client_key_bounds.ts";
import { type AcceptedEntry, clientKey, type LabelHead } from "./store.ts";
import type { LogPosition } from "./segment_index.ts";

/**
 * Version of the KV layout; a different value in `["meta","format"]` refuses to open. Format 3 keeps one row per
 * (label, client_id): the client's last accepted entry. It answers the last client_seq (I9) and duplicates of the
 * last message; older replays are found in a bounded cache of recent entries (RESYNC0.1's window Wdup) and are
 * otherwise refused by the authoritative client_seq check (I8) as E.SEQ. Rows are written once per client per
 * index commit, so the index does not grow with history and its write cost follows the number of active clients.
 */
export const KV_FORMAT = 3;

/** A client's last accepted entry on a label. */
interface ClientRow {
  clientSeq: number;
  streamSeq: number;
  leafHash: Uint8Array;
  /** KEX1+ first_seen (hub/client_key_bounds.ts); null in a row written before it existed. */
  firstSeen: number | null;
}

/** Per-atomic limits used for chunking (below Deno KV's: 1000 mutations, 819200 bytes, 81920 key bytes). */
export interface KvLimits {
  maxMutations: number;
  maxBytes: number;
  maxKeyBytes: number;
}

export const DEFAULT_KV_LIMITS: Readonly<KvLimits> = Object.freeze({
  maxMutations: 1000,
  maxBytes: 700 * 1024,
  maxKeyBytes: 64 * 1024,
});

/** One entry to index. */
export interface IndexItem {
  label: Uint8Array;
  streamSeq: number;
  leafHash: Uint8Array;
  clientId: Uint8Array;
  clientSeq: number;
  /** {@link clientKey} of (label, client_id). */
  clientKey: string;
  hubTs: number;
  /** first_seen after this entry; when absent, derived from the prior row (nextFirstSeen), as the replay does. */
  firstSeen?: number;
}

/** Offsets the checkpoint and admission files are indexed up to, and the log position. */
export interface IndexMeta {
  log: LogPosition | undefined;
  checkpoints: number;
  admissions: number;
  /** Whether `["adm_root"]` rows cover the indexed admission records (indexes written before they existed do not). */
  admissionRoots: boolean;
}

/** An admission record to index: its auth_ref and place in admissions.cborseq, its cap root and issued_at. */
export interface AdmissionRow {
  authRef: Uint8Array;
  off: number;
  len: number;
  capRoot: Uint8Array;
  issuedAt: number;
}

interface Mutation {
  key: Deno.KvKey;
  value: unknown;
  /** Estimated encoded size of the value. */
  vBytes: number;
}

/** A key's encoded size (bytes: tag + bytes with 0x00 escaped as 0x00 0xFF + terminator; numbers: 9). */
function keyBytes(key: Deno.KvKey): number {
  let n = 0;
  for (const p of key) {
    if (p instanceof Uint8Array) {
      let zeros = 0;
      for (let i = 0; i < p.length; i++) if (p[i] === 0) zeros++;
      n += 2 + p.length + zeros;
    } else if (typeof p === "string") n += 2 + 3 * p.length;
    else n += 10;
  }
  return n;
}

function toHead(label: Uint8Array, v: unknown): LabelHead {
  const o = v as { seq: number; peaks: Uint8Array[]; root: Uint8Array; lastHubTs: number };
  if (typeof o?.seq !== "number" || !Array.isArray(o.peaks) || !(o.root instanceof Uint8Array)) {
    throw new VeenError("E.UNAVAILABLE", `Malformed head for label ${toHex(label)}`);
  }
  return { label, seq: o.seq, peaks: o.peaks, root: o.root, lastHubTs: o.lastHubTs };
}

export interface KvIndexOptions {
  /** Entries of the (label, client_id) → last client_seq cache (default 65536). */
  clientCacheSize?: number;
  /** Entries of the (label, client_id, client_seq) → entry cache of recent entries (default 16384). */
  entryCacheSize?: number;
  /** Per-atomic limits (tests lower them to exercise chunking). */
  limits?: Partial<KvLimits>;
}

/**
 * Makes the KV database files 0600 (SQLite creates them with the umask, typically 0644). SQLite gives the `-wal`
 * and `-shm` files it creates later the mode of the main file, so doing this after open covers them too.
 */
export async function restrictKvFiles(path: string): Promise<void> {
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      await Deno.chmod(f, 0o600);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/** Deno KV keys, batched atomics and the hot-path caches. */
export class KvIndex {
  readonly kv: Deno.Kv;
  readonly #limits: KvLimits;
  readonly #clients: Lru<ClientRow | null>;
  readonly #entries: Lru<AcceptedEntry>;
  /** Bumped by every entry commit, so a cache fill that raced a commit is not trusted. */
  #gen = 0;
  /** Atomics committed (for stats and tests). */
  atomics = 0;

  private constructor(kv: Deno.Kv, opts: KvIndexOptions) {
    this.kv = kv;
    this.#limits = { ...DEFAULT_KV_LIMITS, ...opts.limits };
    this.#clients = new Lru(opts.clientCacheSize ?? 65536);
    this.#entries = new Lru(opts.entryCacheSize ?? 16384);
  }

  /** Opens (creating) the KV database at `path` and checks its format version. */
  static async open(path: string, opts: KvIndexOptions = {}): Promise<KvIndex> {
    const kv = await Deno.openKv(path);
    try {
      const f = await kv.get<number>(["meta", "format"]);
      if (f.value === null) await kv.set(["meta", "format"], KV_FORMAT);
      else if (f.value !== KV_FORMAT) {
        throw new VeenError(
          "E.UNAVAILABLE",
          `Index format ${f.value} is not ${KV_FORMAT}; rebuild it from the log`,
        );
      }
      await restrictKvFiles(path);
    } catch (e) {
      kv.close();
      throw e;
    }
    return new KvIndex(kv, opts);
  }

  /** All label heads: one range read, O(labels). */
  async loadHeads(): Promise<LabelHead[]> {
    const out: LabelHead[] = [];
    for await (const e of this.kv.list({ prefix: ["head"] }, { batchSize: 1000 })) {
      const label = e.key[1];
      if (!(label instanceof Uint8Array)) continue;
      out.push(toHead(label, e.value));
    }
    return out;
  }

  async loadMeta(): Promise<IndexMeta> {
    const [log, ck, adm, roots] = await this.kv.getMany([
      ["meta", "indexed"],
      ["meta", "checkpoints"],
      ["meta", "admissions"],
      ["meta", "adm_roots"],
    ]);
    let pos: LogPosition | undefined;
    if (log!.value !== null) {
      const [seg, rOff, pOff, rec] = log!.value as number[];
      pos = { seg: seg!, rOff: rOff!, pOff: pOff!, rec: rec! };
    }
    return {
      log: pos,
      checkpoints: (ck!.value as number | null) ?? 0,
      admissions: (adm!.value as number | null) ?? 0,
      admissionRoots: roots!.value === 1,
    };
  }

  /** Commits `muts` in as few atomics as the limits allow, in order. */
  async #commitInOrder(muts: readonly Mutation[]): Promise<void> {
    const { maxMutations, maxBytes, maxKeyBytes } = this.#limits;
    let op = this.kv.atomic();
    let n = 0;
    let bytes = 0;
    let kBytes = 0;
    const flush = async () => {
      if (n === 0) return;
      const res = await op.commit();
      if (!res.ok) throw new VeenError("E.UNAVAILABLE", "Index commit was rejected");
      this.atomics++;
      op = this.kv.atomic();
      n = 0;
      bytes = 0;
      kBytes = 0;
    };
    for (const m of muts) {
      const kb = keyBytes(m.key);
      if (n > 0 && (n + 1 > maxMutations || bytes + kb + m.vBytes > maxBytes || kBytes + kb > maxKeyBytes)) {
        await flush();
      }
      op.set(m.key, m.value);
      n++;
      bytes += kb + m.vBytes;
      kBytes += kb;
    }
    await flush();
  }

  /**
   * Indexes entries: one `["client", label, client_id]` row per client (its last entry and first_seen), then the
   * touched `heads`, then `["meta","indexed"] = end`. Updates the caches once committed. An item without
   * firstSeen (the log replay) takes it from the client's prior row: one cached read for a client_seq above 1.
   */
  async commitEntries(
    items: readonly IndexItem[],
    heads: readonly LabelHead[],
    end: LogPosition,
  ): Promise<void> {
    const last = new Map<string, IndexItem & { firstSeen: number }>();
    for (const it of items) {
      let firstSeen = it.firstSeen;
      if (firstSeen === undefined) {
        const prior = last.get(it.clientKey)?.firstSeen ??
          (it.clientSeq === 1 ? null : (await this.#client(it.label, it.clientId))?.firstSeen ?? null);
        firstSeen = nextFirstSeen(it.clientSeq, prior, it.hubTs);
      }
      last.set(it.clientKey, { ...it, firstSeen });
    }
    const muts: Mutation[] = [];
    for (const it of last.values()) {
      muts.push({
        key: ["client", it.label, it.clientId],
        value: [it.clientSeq, it.streamSeq, it.leafHash, it.firstSeen],
        vBytes: 72,
      });
    }
    for (const h of heads) {
      muts.push({
        key: ["head", h.label],
        value: { seq: h.seq, peaks: h.peaks, root: h.root, lastHubTs: h.lastHubTs },
        vBytes: 96 + 40 * (h.peaks.length + 1),
      });
    }
    muts.push({ key: ["meta", "indexed"], value: [end.seg, end.rOff, end.pOff, end.rec], vBytes: 64 });
    this.#gen++;
    await this.#commitInOrder(muts);
    this.#gen++;
    for (const [k, it] of last) {
      this.#clients.set(k, {
        clientSeq: it.clientSeq,
        streamSeq: it.streamSeq,
        leafHash: it.leafHash,
        firstSeen: it.firstSeen,
      });
    }
    for (const it of items) {
      this.#entries.set(it.clientKey + it.clientSeq, {
        streamSeq: it.streamSeq,
        leafHash: it.leafHash,
      });
    }
  }

  /** The client's last accepted entry on a label: cached, else one KV get. */
  async #client(label: Uint8Array, clientId: Uint8Array): Promise<ClientRow | null> {
    const k = clientKey(label, clientId);
    for (;;) {
      const c = this.#clients.get(k);
      if (c !== undefined) return c;
      const gen = this.#gen;
      const v = (await this.kv.get<[number, number, Uint8Array, number?]>(["client", label, clientId])).value;
      const row = v === null ? null : {
        clientSeq: v[0],
        streamSeq: v[1],
        leafHash: v[2],
        firstSeen: typeof v[3] === "number" ? v[3] : null,
      };
      if (gen === this.#gen) {
        this.#clients.set(k, row);
        return row;
      }
    }
  }

  /** Last accepted client_seq for (label, client_id), 0 when none. */
  async lastClientSeq(label: Uint8Array, clientId: Uint8Array): Promise<number> {
    return (await this.clientUsage(label, clientId)).seq;
  }

  /** HubStore.clientUsage from the row: last client_seq (0 when none) and first_seen (null when none or unknown). */
  async clientUsage(label: Uint8Array, clientId: Uint8Array): Promise<ClientUsage> {
    const row = await this.#client(label, clientId);
    return { seq: row?.clientSeq ?? 0, firstSeen: row?.firstSeen ?? null };
  }

  /**
   * The entry accepted for (label, client_id, client_seq) when it is the client's last one or still in the cache
   * of recent entries; undefined otherwise (an older replay, which the client_seq check refuses as E.SEQ).
   */
  async accepted(
    label: Uint8Array,
    clientId: Uint8Array,
    clientSeq: number,
  ): Promise<AcceptedEntry | undefined> {
    const c = this.#entries.get(clientKey(label, clientId) + clientSeq);
    if (c !== undefined) return c;
    const row = await this.#client(label, clientId);
    return row !== null && row.clientSeq === clientSeq
      ? { streamSeq: row.streamSeq, leafHash: row.leafHash }
      : undefined;
  }

  // ---- checkpoints and admissions

  /** Indexes checkpoint records `[label, upto, epoch, offset, len]` and moves the file's indexed offset to `end`. */
  async putCheckpoints(
    recs: readonly [Uint8Array, number, number, number, number][],
    end: number,
  ): Promise<void> {
    const muts: Mutation[] = [];
    for (const [label, upto, epoch, off, len] of recs) {
      muts.push({ key: ["ckpt", label, upto], value: [off, len, epoch], vBytes: 48 });
      muts.push({ key: ["ckpt_epoch", label, epoch, upto], value: [off, len], vBytes: 32 });
    }
    muts.push({ key: ["meta", "checkpoints"], value: end, vBytes: 16 });
    await this.#commitInOrder(muts);
  }

  /**
   * Forgets every checkpoint row before checkpoints.cborseq is rewritten (checkpoint retention): first
   * `["meta","checkpoints"] = 0`, so a crash at any later point re-indexes the whole file at open, then the
   * `["ckpt"]` and `["ckpt_epoch"]` rows in atomics of at most 500 deletions.
   */
  async resetCheckpoints(): Promise<void> {
    const res = await this.kv.atomic().set(["meta", "checkpoints"], 0).commit();
    if (!res.ok) throw new VeenError("E.UNAVAILABLE", "Index commit was rejected");
    this.atomics++;
    for (const prefix of [["ckpt"], ["ckpt_epoch"]]) {
      let keys: Deno.KvKey[] = [];
      const flush = async () => {
        if (keys.length === 0) return;
        const op = this.kv.atomic();
        for (const k of keys) op.delete(k);
        if (!(await op.commit()).ok) throw new VeenError("E.UNAVAILABLE", "Index commit was rejected");
        this.atomics++;
        keys = [];
      };
      for await (const e of this.kv.list({ prefix }, { batchSize: 500 })) {
        keys.push(e.key);
        if (keys.length >= 500) await flush();
      }
      await flush();
    }
  }

  /** `[offset, len]` of the checkpoint with the highest upto_seq for `label`. */
  async latestCheckpointLoc(label: Uint8Array): Promise<[number, number] | undefined> {
    for await (const e of this.kv.list({ prefix: ["ckpt", label] }, { reverse: true, limit: 1 })) {
      const [off, len] = e.value as number[];
      return [off!, len!];
    }
    return undefined;
  }

  /** `[offset, len]` of checkpoints with epochMin <= epoch <= epochMax, by (epoch, upto_seq). */
  async checkpointLocsByEpoch(
    label: Uint8Array,
    epochMin: number,
    epochMax: number,
    limit: number,
  ): Promise<[number, number][]> {
    const out: [number, number][] = [];
    if (limit <= 0 || epochMin > epochMax) return out;
    const it = this.kv.list(
      { start: ["ckpt_epoch", label, epochMin], end: ["ckpt_epoch", label, epochMax + 1] },
      { limit, batchSize: Math.min(limit, 1000) },
    );
    for await (const e of it) {
      const [off, len] = e.value as number[];
      out.push([off!, len!]);
    }
    return out;
  }

  /**
   * Indexes admission records in file order and moves the file's indexed offset to `end`. A cap root's row keeps the
   * least issued_at of its records, so re-indexing a record (replay, migration) never moves it later.
   */
  async putAdmissions(recs: readonly AdmissionRow[], end: number): Promise<void> {
    const muts: Mutation[] = recs.map((r) => ({
      key: ["adm", r.authRef],
      value: [r.off, r.len],
      vBytes: 32,
    }));
    const roots = new Map<string, AdmissionRow>();
    for (const r of recs) {
      const k = toHex(r.capRoot);
      if ((roots.get(k)?.issuedAt ?? Infinity) > r.issuedAt) roots.set(k, r);
    }
    for (const r of roots.values()) {
      if (((await this.capRootIssuedAt(r.capRoot)) ?? Infinity) > r.issuedAt) {
        muts.push({ key: ["adm_root", r.capRoot], value: r.issuedAt, vBytes: 16 });
      }
    }
    muts.push({ key: ["meta", "admissions"], value: end, vBytes: 16 });
    muts.push({ key: ["meta", "adm_roots"], value: 1, vBytes: 16 });
    await this.#commitInOrder(muts);
  }

  async admissionLoc(authRef: Uint8Array): Promise<[number, number] | undefined> {
    const v = (await this.kv.get<number[]>(["adm", authRef])).value;
    return v === null ? undefined : [v[0]!, v[1]!];
  }

  /** issued_at of a cap root: when the hub first authorized a token of that root. */
  async capRootIssuedAt(root: Uint8Array): Promise<number | undefined> {
    return (await this.kv.get<number>(["adm_root", root])).value ?? undefined;
  }

  close(): void {
    this.kv.close();
  }
}
