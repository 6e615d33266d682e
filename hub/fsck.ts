/**
 * `veen hub fsck --data-dir DIR [--json] [--force]`: offline consistency check of a hub data dir (layout in
 * docs/durability.md). Offline tooling may read everything, so this is O(entries + checkpoints + admissions +
 * attachment bytes) and reads the whole log.
 *
 * For every label it re-derives the MMR from the log: receipts records are replayed in log order into an
 * `MmrAccumulator`, and each record's RECEIPT must decode, match the record (label, stream_seq, leaf_hash, hub_ts),
 * carry a hub_sig valid under `DIR/hub_key`'s public key (or a replicated primary's, `DIR/primaries.json`) and an
 * mmr_root equal to the re-derived root; its MSG (when the payload is retained) must decode to the same label,
 * client_id, client_seq, auth_ref and leaf hash (`leafHash(MSG)`); stream_seqs are contiguous. Entries whose receipts segment was dropped by retention cannot be
 * replayed: their leaves are taken from the node file (their positions must point into dropped segments), and every
 * parent node is still re-hashed from its children, so the node file is verified structurally and against every
 * retained leaf. Then:
 *
 * - node files (`mmr/`): every node equals the re-derived hash; position files (`pos/`): every record names the
 *   entry's segment, offsets and frame lengths;
 * - the KV index: each head (seq, root, peaks) equals the re-derived state at that seq, `["meta","indexed"]` is
 *   within the log, and each client's `["client", label, client_id]` row names its last indexed entry (for a client
 *   whose entries were all dropped, the last one its tombstones name, with the leaf from the node file) and holds
 *   a KEX1+ first_seen no later than that entry's hub_ts (rows written before first_seen existed have none);
 *   checkpoint rows point at matching checkpoint records;
 * - checkpoints.cborseq: every CHECKPOINT decodes, its hub_sig verifies, its label/upto_seq/epoch match the record
 *   and its mmr_root equals the re-derived root at upto_seq.
 * - anchors.cborseq: every record decodes, its CHECKPOINT's hub_sig verifies, its label/upto_seq match the record
 *   and its mmr_root equals the re-derived root at upto_seq (the ledger itself is checked by `veen anchor verify`).
 * - admissions.cborseq: every record decodes, its cap_token's signature chain verifies, auth_ref is the token's
 *   auth_ref and the record's subject, stream_ids, ttl, rate and cap root are the token's (expires_at = issued_at +
 *   ttl); each `["adm", auth_ref]` row points at the newest indexed record for that auth_ref, and each
 *   `["adm_root", cap_root]` row holds the least issued_at of that root's indexed records.
 * - attachments/: every attachment hashes to its name (coid = H(bytes)) and sits under its coid's prefix; the
 *   accounting rows in the index agree with each other and with the files (`#checkAttachmentRows`).
 *
 * What a crash legitimately leaves and the next start repairs is a warning, not an inconsistency: a torn or
 * unchecksummed tail past the indexed position, log records not yet indexed, node or position bytes past the index.
 * The first inconsistency stops the check; it is reported as `{file, label?, seq?, what}` and the exit code is 4.
 */
import { readPreviousKeys } from "./hub_key_rotation.ts";
import { ANCHORS_FILE, decodeAnchorEntry } from "./anchorer.ts";
import {
  authRef,
  bytesEqual,
  capRoot,
  decodeCapToken,
  decodeCheckpoint,
  decodeMsg,
  decodeReceipt,
  EXIT,
  fromHex,
  H,
  leafHash,
  leafPosition,
  MmrAccumulator,
  nodeCountForLeaves,
  toHex,
  VeenError,
  verifyCapChain,
  verifyCheckpointSig,
  verifyReceiptSig,
} from "../core/mod.ts";
import { checkFailure, type CommandContext } from "../cmd/mod.ts";
import { dataDirOf } from "./commands.ts";
import { type DataDirLock, lockDataDir } from "./data_dir_lock.ts";
import { ANY_CAP_CHAIN, decodeAdmission, decodeCheckpointRecord, tailKindOf } from "./records.ts";
import { attachmentCost, type AttachmentRow, decodeAttachmentRow } from "./attachment_ledger.ts";
import { TMP_DIR as ATTACHMENT_TMP_DIR } from "./attachment_store.ts";
import { type AdminEntries, openViewsCheck, type ViewsCheck } from "./views_check.ts";
import { VIEWS_FILE } from "./view_store.ts";
import { HUB_KEY_FILE, parseHubKey } from "./hub_key.ts";
import { planIndexSeed } from "./index_seed.ts";
import { KV_FORMAT } from "./kv_index.ts";
import { dirEntries, SyncReaders } from "./files.ts";
import { frameLength, FrameReader } from "./frame.ts";
import { listSegments, readSidecar, segmentName } from "./segment_index.ts";
import { receiptBodyLength } from "./receipt_record.ts";
import { scanLog, type ScannedRecord, type TornTail } from "./segment_reader.ts";
import { scanFileTail } from "./log_tail.ts";
import { StorageDamage } from "./storage_damage.ts";
import { PRIMARIES_FILE, readPrimaries } from "./primaries.ts";
import { NODE_BYTES, POS_BYTES, PosStore } from "./node_store.ts";

/** One finding: the file, and where known the label (hex) and stream_seq. */
export interface FsckProblem {
  file: string;
  label?: string;
  seq?: number;
  what: string;
}

export interface FsckSummary {
  labels: number;
  /** Entries per the re-derived MMRs (including entries in dropped segments). */
  entries: number;
  /** Log records read (entries whose receipts are retained). */
  records: number;
  /** Records past the index's `["meta","indexed"]` (re-indexed at the next start). */
  unindexed_records: number;
  /** Entries whose leaves came from node files because retention dropped their receipts segment. */
  leaves_from_node_files: number;
  segments: { receipts: number; payloads: number };
  dropped_segments: { receipts: number; payloads: number };
  checkpoints: number;
  admissions: number;
  attachments: number;
  index: "present" | "absent";
}

export interface FsckReport {
  ok: boolean;
  data_dir: string;
  /** The first inconsistency (absent when ok). */
  error?: FsckProblem;
  /** Crash leftovers the hub repairs at its next start (at most 100 listed). */
  warnings: FsckProblem[];
  summary: FsckSummary;
}

class Inconsistent extends Error {
  constructor(readonly problem: FsckProblem) {
    super(problem.what);
  }
}

interface KvHead {
  seq: number;
  peaks: Uint8Array[];
  root: Uint8Array;
}

interface IndexState {
  heads: Map<string, KvHead>;
  /** `["meta","indexed"]` record number (0 when absent). */
  indexedRec: number;
  checkpointsOffset: number;
  admissionsOffset: number;
}

/** Per-label re-derivation state. */
class LabelState {
  readonly acc = new MmrAccumulator();
  /** Node and position records waiting to be compared with the files (flushed in runs). */
  nodes: { pos: number; seq: number; hash: Uint8Array }[] = [];
  poss: { seq: number; rec: Uint8Array; cmp: number }[] = [];
  /** Derived root at the seqs checkpoints name. */
  readonly want = new Set<number>();
  readonly roots = new Map<number, Uint8Array>();
  headChecked = false;
  nodeWarned = false;
  posWarned = false;
  constructor(
    readonly label: Uint8Array,
    readonly hex: string,
    readonly head: KvHead | undefined,
    readonly nodeBytes: number,
    readonly posBytes: number,
  ) {}
  get headSeq(): number {
    return this.head?.seq ?? 0;
  }
}

const FLUSH = 4096;

/** Runs the check; never throws for an inconsistency (it is in the report). */
export async function fsck(dataDir: string): Promise<FsckReport> {
  const c = new Checker(dataDir);
  try {
    await c.run();
  } catch (e) {
    if (e instanceof Inconsistent) c.error = e.problem;
    else if (e instanceof StorageDamage) {
      c.error = {
        file: `${e.file}@${e.offset}`,
        what:
          `damaged record (${e.why}): the hub refuses to start; restore the file from a backup or a replica`,
      };
    } else if (e instanceof VeenError) {
      // Another unreadable structure, in the file being checked (damage with a known offset is StorageDamage).
      c.error = { file: c.currentFile, what: e.detail.replaceAll(`${dataDir}/`, "") };
    } else throw e;
  } finally {
    c.close();
  }
  return {
    ok: c.error === undefined,
    data_dir: dataDir,
    ...(c.error === undefined ? {} : { error: c.error }),
    warnings: c.warnings,
    summary: c.summary,
  };
}

class Checker {
  readonly dir: string;
  error: FsckProblem | undefined;
  readonly warnings: FsckProblem[] = [];
  readonly summary: FsckSummary = {
    labels: 0,
    entries: 0,
    records: 0,
    unindexed_records: 0,
    leaves_from_node_files: 0,
    segments: { receipts: 0, payloads: 0 },
    dropped_segments: { receipts: 0, payloads: 0 },
    checkpoints: 0,
    admissions: 0,
    attachments: 0,
    index: "absent",
  };
  currentFile = "";
  readonly #readers = new SyncReaders(64);
  #kv: Deno.Kv | undefined;
  /** The hub key and the keys it rotated away from (hub/hub_key_rotation.ts): older entries are signed by those. */
  #hubPks: Uint8Array[] = [];
  /** Keys of the primaries whose entries this hub replicates (DIR/primaries.json, hub/primaries.ts). */
  #primaries: Uint8Array[] = [];
  #index: IndexState | undefined;
  readonly #labels = new Map<string, LabelState>();
  #views: ViewsCheck | undefined;
  /** Admin entries met in the log, per admin label named by views.kv (for the views check). */
  readonly #adminEntries: AdminEntries = new Map();
  #firstReceiptsSeg = 0;
  #firstPayloadsSeg = 0;
  /** Largest seq per label recorded by the tombstone sidecars of dropped receipts segments. */
  readonly #droppedUpto = new Map<string, { label: Uint8Array; seq: number }>();
  #checkpoints: { off: number; label: Uint8Array; upto: number; epoch: number; root: Uint8Array }[] = [];
  /** The anchored CHECKPOINTs of anchors.cborseq (hub/anchorer.ts). */
  #anchors: { off: number; label: Uint8Array; upto: number; root: Uint8Array }[] = [];
  /** Admission records: offset, frame length and auth_ref. */
  #admissions: { off: number; len: number; authRef: Uint8Array; capRoot: Uint8Array; issuedAt: number }[] =
    [];

  constructor(dir: string) {
    this.dir = dir;
  }

  fail(p: FsckProblem): never {
    throw new Inconsistent(p);
  }

  warn(p: FsckProblem): void {
    if (this.warnings.length < 100) this.warnings.push(p);
  }

  close(): void {
    this.#views?.close();
    this.#readers.closeAll();
    this.#kv?.close();
    this.#kv = undefined;
  }

  async run(): Promise<void> {
    await this.#loadHubKey();
    await this.#loadIndex();
    this.#views = await openViewsCheck(this.dir);
    for (const l of this.#views.labels) this.#adminEntries.set(l, []);
    await this.#loadSegmentsAndTombstones();
    await this.#loadCheckpoints();
    await this.#loadAnchors();
    await this.#labelsFromFiles();
    await this.#scanLog();
    await this.#finishLabels();
    this.#checkCheckpointRoots();
    await this.#checkCheckpointRows();
    await this.#loadAdmissions();
    await this.#checkAdmissionRows();
    await this.#checkAttachments();
    await this.#checkViews();
    this.summary.labels = this.#labels.size;
    for (const s of this.#labels.values()) this.summary.entries += s.acc.size;
  }

  // ---------------------------------------------------------------- inputs

  async #loadHubKey(): Promise<void> {
    this.currentFile = HUB_KEY_FILE;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${this.dir}/${HUB_KEY_FILE}`);
    } catch (e) {
      this.fail({ file: HUB_KEY_FILE, what: `cannot read the hub key: ${(e as Error).message}` });
    }
    try {
      const key = parseHubKey(bytes, "hub key");
      if (key === undefined) {
        this.fail({ file: HUB_KEY_FILE, what: "the public key does not match the secret seed" });
      }
      this.#hubPks = [key.public, ...(await readPreviousKeys(this.dir)).map((p) => p.key.public)];
    } catch (e) {
      if (e instanceof Inconsistent) throw e;
      this.fail({ file: HUB_KEY_FILE, what: `malformed hub key: ${(e as Error).message}` });
    }
    try {
      this.#primaries = await readPrimaries(this.dir);
    } catch (e) {
      this.fail({ file: PRIMARIES_FILE, what: (e as Error).message });
    }
  }

  async #loadIndex(): Promise<void> {
    this.currentFile = "index.kv";
    const path = `${this.dir}/index.kv`;
    try {
      await Deno.stat(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return; // rebuilt from the log at the next start
      throw e;
    }
    this.summary.index = "present";
    const kv = await Deno.openKv(path);
    this.#kv = kv;
    const fmt = (await kv.get(["meta", "format"])).value;
    if (fmt !== KV_FORMAT) {
      this.fail({ file: "index.kv", what: `index format ${String(fmt)} is not ${KV_FORMAT}` });
    }
    const heads = new Map<string, KvHead>();
    for await (const e of kv.list({ prefix: ["head"] })) {
      const label = e.key[1];
      const v = e.value as { seq?: unknown; peaks?: unknown; root?: unknown };
      if (
        !(label instanceof Uint8Array) || typeof v?.seq !== "number" || !Array.isArray(v.peaks) ||
        !(v.root instanceof Uint8Array)
      ) {
        this.fail({ file: "index.kv", what: `malformed head row ${JSON.stringify(String(e.key))}` });
      }
      heads.set(toHex(label), { seq: v.seq, peaks: v.peaks as Uint8Array[], root: v.root });
    }
    const [ix, ck, adm] = await kv.getMany([
      ["meta", "indexed"],
      ["meta", "checkpoints"],
      ["meta", "admissions"],
    ]);
    const indexed = ix!.value as number[] | null;
    this.#index = {
      heads,
      indexedRec: indexed === null ? 0 : indexed[3]!,
      checkpointsOffset: (ck!.value as number | null) ?? 0,
      admissionsOffset: (adm!.value as number | null) ?? 0,
    };
  }

  async #loadSegmentsAndTombstones(): Promise<void> {
    const r = await listSegments(`${this.dir}/receipts`);
    const p = await listSegments(`${this.dir}/payloads`);
    this.#firstReceiptsSeg = r[0] ?? 0;
    this.#firstPayloadsSeg = p[0] ?? 0;
    this.summary.segments = { receipts: r.length, payloads: p.length };
    this.summary.dropped_segments = { receipts: this.#firstReceiptsSeg, payloads: this.#firstPayloadsSeg };
    if (this.#index === undefined) {
      // The hub rebuilds a missing index at its next start; after retention only from complete tombstones and node
      // files (index_seed.ts), which the same plan checks here without writing anything.
      try {
        if ((await planIndexSeed(this.dir)) !== undefined) {
          this.warn({
            file: "index.kv",
            what:
              "missing; the next start rebuilds it from the dropped segments' tombstones and the node files",
          });
        }
      } catch (e) {
        if (!(e instanceof VeenError)) throw e;
        this.fail({ file: "index.kv", what: `missing, and ${e.detail}` });
      }
    }
    for (let s = 0; s < this.#firstReceiptsSeg; s++) {
      const file = `receipts/${segmentName(s)}.idx`;
      this.currentFile = file;
      const side = await readSidecar(this.dir, s);
      for (const d of side?.damaged ?? []) {
        this.warn({
          file: d.file,
          what: `${d.why}; the identical copy in the other family directory is used`,
        });
      }
      const idx = side?.index;
      if (idx === undefined) {
        this.warn({ file, what: "tombstone sidecar of a dropped segment is missing" });
        continue;
      }
      for (const l of idx.labels) {
        const hex = toHex(l.label);
        const cur = this.#droppedUpto.get(hex);
        if (cur === undefined || cur.seq < l.lastSeq) {
          this.#droppedUpto.set(hex, { label: l.label, seq: l.lastSeq });
        }
      }
      // Each client's last dropped entry; a later retained one replaces it during the scan.
      for (const l of idx.clients ?? []) {
        const hex = toHex(l.label);
        for (const c of l.clients) {
          this.#clients.set(hex + toHex(c.clientId), {
            label: l.label,
            clientId: c.clientId,
            hex,
            last: { clientSeq: c.clientSeq, streamSeq: c.streamSeq, leafHash: undefined },
            unindexed: new Map(),
          });
        }
      }
    }
    // Sidecars of present rotated segments: retention reads them (one damaged copy is tolerated).
    const present = [...new Set([...r, ...p])].sort((a, b) => a - b).slice(0, -1);
    for (const s of present) {
      try {
        for (const d of (await readSidecar(this.dir, s))?.damaged ?? []) {
          this.warn({
            file: d.file,
            what: `${d.why}; the identical copy in the other family directory is used`,
          });
        }
      } catch (e) {
        if (!(e instanceof StorageDamage)) throw e;
        this.fail({
          file: e.file,
          what: `${e.why} in both copies: retention stops at this segment; delete both ${
            segmentName(s)
          }.idx files and the next start rebuilds them from the segment`,
        });
      }
    }
  }

  /**
   * Reads the framed records of `file` (checkpoints or admissions) in order. A torn end past the indexed offset
   * `indexedTo` is a crash leftover the next start cuts (a warning, and the end of the file); any other damage is
   * an inconsistency, as the hub refuses to start on it.
   */
  async #readRecords(
    file: string,
    indexedTo: number,
    onRecord: (at: string, off: number, body: Uint8Array, frameLen: number) => void,
  ): Promise<void> {
    this.currentFile = file;
    let reader: FrameReader;
    try {
      reader = await FrameReader.open(`${this.dir}/${file}`, 0, () => {});
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    try {
      for (;;) {
        const off = reader.offset;
        const f = await reader.next();
        if (f.kind === "end") break;
        if (f.kind !== "ok") {
          // The start-up rule (RecordFile.open, hub/log_tail.ts): only a torn end past the index is cut.
          const { end } = await scanFileTail(`${this.dir}/${file}`, off, tailKindOf(file));
          const why = end.kind === "clean"
            ? "unreadable record"
            : end.kind === "torn"
            ? `torn (${end.how})`
            : end.why;
          if (off >= indexedTo && end.kind === "torn") {
            this.warn({
              file: `${file}@${off}`,
              what:
                `${why} record past the indexed offset ${indexedTo}: the next start moves it to quarantine/ and cuts it`,
            });
            break;
          }
          this.fail({
            file: `${file}@${end.kind === "corrupt" ? end.offset : off}`,
            what:
              `damaged record (${why})${
                off < indexedTo ? `, before the indexed offset ${indexedTo}` : ""
              }: ` +
              `the hub refuses to start; restore the file from a backup`,
          });
        }
        onRecord(`${file}@${off}`, off, f.body, f.length);
      }
    } finally {
      reader.close();
    }
  }

  async #loadCheckpoints(): Promise<void> {
    await this.#readRecords("checkpoints.cborseq", this.#index?.checkpointsOffset ?? 0, (at, off, body) => {
      let label: Uint8Array, upto: number, epoch: number, cpBytes: Uint8Array;
      try {
        ({ label, upto, epoch, cp: cpBytes } = decodeCheckpointRecord(body));
      } catch (e) {
        this.fail({ file: at, what: `malformed checkpoint record: ${(e as Error).message}` });
      }
      const hex = toHex(label);
      let cp;
      try {
        cp = decodeCheckpoint(cpBytes);
      } catch (e) {
        this.fail({
          file: at,
          label: hex,
          seq: upto,
          what: `CHECKPOINT does not decode: ${(e as Error).message}`,
        });
      }
      if (![...this.#hubPks, ...this.#primaries].some((k) => verifyCheckpointSig(cp, k))) {
        this.fail({
          file: at,
          label: hex,
          seq: upto,
          what: "CHECKPOINT hub_sig does not verify under hub_key (or a key in primaries.json)",
        });
      }
      if (!bytesEqual(cp.labelCurr, label) || cp.uptoSeq !== upto || cp.epoch !== epoch) {
        this.fail({
          file: at,
          label: hex,
          seq: upto,
          what: "CHECKPOINT label_curr, upto_seq or epoch differs from its record",
        });
      }
      this.#checkpoints.push({ off, label, upto, epoch, root: cp.mmrRoot });
      this.#state(label).want.add(upto);
    });
    this.summary.checkpoints = this.#checkpoints.length;
  }

  /** Each anchors.cborseq record holds a CHECKPOINT of this hub (or a primary) for its label and upto_seq. */
  async #loadAnchors(): Promise<void> {
    await this.#readRecords(ANCHORS_FILE, 0, (at, off, body) => {
      let a;
      try {
        a = decodeAnchorEntry(body);
      } catch (e) {
        this.fail({ file: at, what: `malformed anchor record: ${(e as Error).message}` });
      }
      const where = { file: at, label: toHex(a.label), seq: a.uptoSeq };
      let cp;
      try {
        cp = decodeCheckpoint(a.checkpoint);
      } catch (e) {
        this.fail({ ...where, what: `anchored CHECKPOINT does not decode: ${(e as Error).message}` });
      }
      if (![...this.#hubPks, ...this.#primaries].some((k) => verifyCheckpointSig(cp, k))) {
        this.fail({ ...where, what: "anchored CHECKPOINT hub_sig does not verify under hub_key" });
      }
      if (!bytesEqual(cp.labelCurr, a.label) || cp.uptoSeq !== a.uptoSeq) {
        this.fail({ ...where, what: "anchored CHECKPOINT label_curr or upto_seq differs from its record" });
      }
      this.#anchors.push({ off, label: a.label, upto: a.uptoSeq, root: cp.mmrRoot });
      this.#state(a.label).want.add(a.uptoSeq);
    });
  }

  /** Each admission record is the faithful install of a cap_token whose signature chain verifies. */
  async #loadAdmissions(): Promise<void> {
    await this.#readRecords(
      "admissions.cborseq",
      this.#index?.admissionsOffset ?? 0,
      (at, off, body, len) => {
        let rec;
        try {
          rec = decodeAdmission(body);
        } catch (e) {
          this.fail({ file: at, what: `malformed admission record: ${(e as Error).message}` });
        }
        let token;
        try {
          token = decodeCapToken(rec.capToken, ANY_CAP_CHAIN);
          verifyCapChain(token, ANY_CAP_CHAIN);
        } catch (e) {
          this.fail({ file: at, what: `admission cap_token does not verify: ${(e as Error).message}` });
        }
        if (!bytesEqual(authRef(token), rec.authRef)) {
          this.fail({ file: at, what: "admission auth_ref is not the auth_ref of its cap_token" });
        }
        if (!bytesEqual(capRoot(token), rec.capRoot)) {
          this.fail({ file: at, what: "admission cap_root is not the cap root of its cap_token" });
        }
        const a = token.allow;
        if (
          !bytesEqual(token.subjectPk, rec.subjectPk) || a.ttl !== rec.ttl ||
          a.streamIds.length !== rec.streamIds.length ||
          a.streamIds.some((s, i) => !bytesEqual(s, rec.streamIds[i]!)) ||
          (a.rate?.perSec ?? null) !== rec.perSec || (a.rate?.burst ?? null) !== rec.burst ||
          rec.expiresAt !== rec.issuedAt + rec.ttl
        ) {
          this.fail({
            file: at,
            what: "admission subject_pk, stream_ids, ttl, rate or expires_at differs from its cap_token",
          });
        }
        this.#admissions.push({
          off,
          len,
          authRef: rec.authRef,
          capRoot: rec.capRoot,
          issuedAt: rec.issuedAt,
        });
      },
    );
    this.summary.admissions = this.#admissions.length;
  }

  /** Registers every label named by the index, node files, position files and tombstones. */
  async #labelsFromFiles(): Promise<void> {
    for (const h of this.#index?.heads.keys() ?? []) this.#stateHex(h);
    for (const [sub, ext] of [["mmr", ".nodes"], ["pos", ".pos"]] as const) {
      for (const e of await dirEntries(`${this.dir}/${sub}`)) {
        const m = e.isFile ? new RegExp(`^([0-9a-f]{64})\\${ext}$`).exec(e.name) : null;
        if (m) this.#stateHex(m[1]!);
      }
    }
    for (const [hex] of this.#droppedUpto) this.#stateHex(hex);
  }

  #stateHex(hex: string): LabelState {
    let s = this.#labels.get(hex);
    if (s === undefined) {
      const size = (p: string) => {
        try {
          return Deno.statSync(p).size;
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) return 0;
          throw e;
        }
      };
      s = new LabelState(
        fromHex(hex, 32, "label"),
        hex,
        this.#index?.heads.get(hex),
        size(this.#nodesPath(hex)),
        size(this.#posPath(hex)),
      );
      this.#labels.set(hex, s);
    }
    return s;
  }

  #state(label: Uint8Array): LabelState {
    return this.#stateHex(toHex(label));
  }

  #nodesPath(hex: string): string {
    return `${this.dir}/mmr/${hex}.nodes`;
  }

  #posPath(hex: string): string {
    return `${this.dir}/pos/${hex}.pos`;
  }

  #read(path: string, off: number, len: number): Uint8Array {
    try {
      return this.#readers.read(path, off, len);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new Uint8Array(0);
      throw e;
    }
  }

  // ---------------------------------------------------------------- the log

  async #scanLog(): Promise<void> {
    const indexedRec = this.#index?.indexedRec ?? 0;
    let lastRec = -1;
    let torn: TornTail | undefined;
    for await (const r of scanLog(this.dir, { onTornTail: (t) => (torn = t) })) {
      this.currentFile = `receipts/${segmentName(r.segment)}.cborseq`;
      this.#record(r, r.rec < indexedRec);
      lastRec = r.rec;
      this.summary.records++;
      if (r.rec >= indexedRec) this.summary.unindexed_records++;
    }
    const t = torn as TornTail | undefined;
    const where = t === undefined ? "receipts/" : `${t.file}@${t.offset}`;
    if (this.#index !== undefined && indexedRec > lastRec + 1 && indexedRec > 0) {
      this.fail({
        file: where,
        what: `the index covers ${indexedRec} log records but the log ends after record ${lastRec}` +
          (t ? ` (torn: ${t.how})` : ""),
      });
    }
    if (t === undefined) return;
    // The hub's rule (DiskStore #beforeCut): a cut never drops an entry the index or a CHECKPOINT covers.
    const covered = new Map<string, number>(); // label hex → highest CHECKPOINT upto_seq
    for (const c of this.#checkpoints) {
      const hex = toHex(c.label);
      covered.set(hex, Math.max(covered.get(hex) ?? 0, c.upto));
    }
    for (const d of t.dropped) {
      const hex = toHex(d.label);
      const indexed = this.#labels.get(hex)?.headSeq ?? 0;
      const upto = covered.get(hex) ?? 0;
      if (d.streamSeq <= Math.max(indexed, upto)) {
        this.fail({
          file: where,
          label: hex,
          seq: d.streamSeq,
          what: `the torn log tail holds an entry that ${
            d.streamSeq <= upto ? `CHECKPOINT upto_seq ${upto}` : `the index (seq ${indexed})`
          } already covers: the hub refuses to start`,
        });
      }
    }
    this.warn({
      file: where,
      what:
        `torn log tail past the index (${t.how}, ${t.dropped.length} complete receipts record(s) without ` +
        `payload): the next start moves it to quarantine/ and cuts it`,
    });
  }

  /** `path` relative to the data dir. */
  #rel(path: string): string {
    return path.startsWith(`${this.dir}/`) ? path.slice(this.dir.length + 1) : path;
  }

  /** Checks one retained log record and feeds its leaf to the label's accumulator. */
  #record(r: ScannedRecord, indexed: boolean): void {
    const file = `${this.currentFile}@${r.receiptOffset}`;
    const s = this.#state(r.label);
    const hex = s.hex;
    this.#adminEntries.get(hex)?.push({ seq: r.streamSeq, msg: r.msg });
    const at = (what: string, f = file): FsckProblem => ({ file: f, label: hex, seq: r.streamSeq, what });
    if (r.streamSeq > s.acc.size + 1) this.#fillFromNodes(s, r.streamSeq - 1, file);
    if (r.streamSeq !== s.acc.size + 1) {
      this.fail(at(`stream_seq ${r.streamSeq} does not continue the label (expected ${s.acc.size + 1})`));
    }
    if (indexed && r.streamSeq > s.headSeq) {
      this.fail(at(`indexed record (log record ${r.rec}) is past the index head ${s.headSeq}`, "index.kv"));
    }
    let receipt;
    try {
      receipt = decodeReceipt(r.receipt);
    } catch (e) {
      this.fail(at(`RECEIPT does not decode: ${(e as Error).message}`));
    }
    if (
      !bytesEqual(receipt.label, r.label) || receipt.streamSeq !== r.streamSeq ||
      !bytesEqual(receipt.leafHash, r.leafHash) || receipt.hubTs !== r.hubTs
    ) {
      this.fail(at("RECEIPT label, stream_seq, leaf_hash or hub_ts differs from its log record"));
    }
    if (![...this.#hubPks, ...this.#primaries].some((k) => verifyReceiptSig(receipt, k))) {
      this.fail(
        at("RECEIPT hub_sig does not verify under hub_key (or an earlier key, or a key in primaries.json)"),
      );
    }
    let pLen = 0;
    if (r.msg !== null) {
      const pfile = `payloads/${segmentName(r.segment)}.cborseq@${r.payloadOffset}`;
      let m;
      try {
        m = decodeMsg(r.msg, Number.MAX_SAFE_INTEGER);
      } catch (e) {
        this.fail(at(`MSG does not decode: ${(e as Error).message}`, pfile));
      }
      if (!bytesEqual(leafHash(m), r.leafHash)) this.fail(at("leaf_hash is not leafHash(MSG)", pfile));
      if (
        !bytesEqual(m.label, r.label) || !bytesEqual(m.clientId, r.clientId) || m.clientSeq !== r.clientSeq ||
        !(m.authRef === null ? r.authRef === null : r.authRef !== null && bytesEqual(m.authRef, r.authRef))
      ) {
        this.fail(at("MSG label, client_id, client_seq or auth_ref differs from the receipts record", pfile));
      }
      pLen = frameLength(r.msg.length);
    }
    const root = this.#append(s, r.leafHash, r.streamSeq);
    if (!bytesEqual(root, receipt.mmrRoot)) {
      this.fail(at("RECEIPT mmr_root differs from the root re-derived from the log"));
    }
    const loc = PosStore.encode([{
      seg: r.segment,
      rOff: r.receiptOffset,
      rLen: frameLength(receiptBodyLength(r)),
      pOff: r.msg === null ? 0 : r.payloadOffset,
      pLen,
    }]);
    // With the payload segment dropped only the receipts half of the position can be checked.
    s.poss.push({ seq: r.streamSeq, rec: loc, cmp: r.msg === null ? 14 : POS_BYTES });
    if (s.poss.length >= FLUSH) this.#flushPos(s);
    const ck = hex + toHex(r.clientId);
    let c = this.#clients.get(ck);
    if (c === undefined) {
      c = { label: r.label, clientId: r.clientId, hex, last: undefined, unindexed: new Map() };
      this.#clients.set(ck, c);
    }
    const e = { clientSeq: r.clientSeq, streamSeq: r.streamSeq, leafHash: r.leafHash, hubTs: r.hubTs };
    if (indexed) c.last = e;
    else c.unindexed.set(r.streamSeq, e);
  }

  /** Per (label, client_id): its last indexed retained entry, and its entries past the index. */
  readonly #clients = new Map<string, {
    label: Uint8Array;
    clientId: Uint8Array;
    hex: string;
    /** `leafHash` and `hubTs` are undefined for an entry known from a tombstone (the leaf is in the node file). */
    last:
      | { clientSeq: number; streamSeq: number; leafHash: Uint8Array | undefined; hubTs?: number }
      | undefined;
    unindexed: Map<number, { clientSeq: number; streamSeq: number; leafHash: Uint8Array; hubTs: number }>;
  }>();

  /**
   * Checks the `["client", label, client_id] = [client_seq, stream_seq, leaf_hash, first_seen?]` row (KV format 3:
   * the client's last accepted entry) of every client with an indexed entry: it names that entry, or (after a crash
   * between the chunks of a split index commit) one of the client's entries past the indexed position; first_seen,
   * when present, is a uint no later than that entry's hub_ts (when known).
   */
  async #checkClientRows(): Promise<void> {
    if (this.#kv === undefined) return;
    const all = [...this.#clients.values()].filter((c) => c.last !== undefined);
    for (let i = 0; i < all.length; i += 10) {
      const batch = all.slice(i, i + 10);
      const vals = await this.#kv.getMany(batch.map((c) => ["client", c.label, c.clientId]));
      for (const [j, c] of batch.entries()) {
        const v = vals[j]!.value as [number, number, Uint8Array, unknown?] | null;
        const want = v === null ? undefined : v[1] === c.last!.streamSeq ? c.last : c.unindexed.get(v[1]);
        const leaf = want?.leafHash ??
          (want && this.#read(this.#nodesPath(c.hex), leafPosition(want.streamSeq) * NODE_BYTES, NODE_BYTES));
        const firstSeen = v?.[3];
        const rowOk = v !== null && want !== undefined && v[0] === want.clientSeq &&
          v[2] instanceof Uint8Array &&
          bytesEqual(v[2], leaf!);
        const firstSeenOk = firstSeen === undefined ||
          (Number.isSafeInteger(firstSeen) && (firstSeen as number) >= 0 &&
            (want?.hubTs === undefined || (firstSeen as number) <= want.hubTs));
        if (!rowOk || !firstSeenOk) {
          this.fail({
            file: "index.kv",
            label: c.hex,
            seq: c.last!.streamSeq,
            what: `the row of client ${toHex(c.clientId).slice(0, 16)}… is ${
              v === null
                ? "missing"
                : rowOk
                ? `[${v[0]}, ${v[1]}, …, ${
                  String(firstSeen)
                }], first_seen is not a uint at or before its hub_ts`
                : `[${v[0]}, ${v[1]}, …], not its last entry (client_seq ${c.last!.clientSeq})`
            }`,
          });
        }
      }
    }
  }

  /** Appends a leaf, queues its nodes for comparison and records roots the index and checkpoints need. */
  #append(s: LabelState, leaf: Uint8Array, seq: number): Uint8Array {
    const from = nodeCountForLeaves(seq - 1);
    const a = s.acc.append(leaf);
    for (let i = 0; i < a.newNodes.length; i++) s.nodes.push({ pos: from + i, seq, hash: a.newNodes[i]! });
    if (s.nodes.length >= FLUSH) this.#flushNodes(s);
    if (s.want.has(seq)) s.roots.set(seq, a.root);
    if (s.head !== undefined && seq === s.head.seq) this.#checkHead(s);
    return a.root;
  }

  #checkHead(s: LabelState): void {
    const h = s.head!;
    const peaks = s.acc.peaks();
    if (
      !bytesEqual(h.root, s.acc.root()!) || h.peaks.length !== peaks.length ||
      h.peaks.some((p, i) => !(p instanceof Uint8Array) || !bytesEqual(p, peaks[i]!))
    ) {
      this.fail({
        file: "index.kv",
        label: s.hex,
        seq: h.seq,
        what: "head root or peaks differ from the re-derived MMR",
      });
    }
    s.headChecked = true;
  }

  /** Compares queued nodes with the node file (one read per run). */
  #flushNodes(s: LabelState): void {
    const q = s.nodes;
    s.nodes = [];
    if (q.length === 0) return;
    const file = `mmr/${s.hex}.nodes`;
    const first = q[0]!.pos;
    const buf = this.#read(this.#nodesPath(s.hex), first * NODE_BYTES, q.length * NODE_BYTES);
    for (const [i, n] of q.entries()) {
      const stored = buf.subarray(i * NODE_BYTES, (i + 1) * NODE_BYTES);
      const problem = stored.length < NODE_BYTES
        ? `node file ends at node ${Math.floor(s.nodeBytes / NODE_BYTES)}; node ${n.pos} is missing`
        : !bytesEqual(stored, n.hash)
        ? `node ${n.pos} differs from the re-derived hash`
        : undefined;
      if (problem === undefined) continue;
      if (n.seq <= s.headSeq) this.fail({ file, label: s.hex, seq: n.seq, what: problem });
      if (!s.nodeWarned) {
        s.nodeWarned = true;
        this.warn({
          file,
          label: s.hex,
          seq: n.seq,
          what: `${problem}, past the index (rewritten at the next start)`,
        });
      }
    }
  }

  #flushPos(s: LabelState): void {
    const q = s.poss;
    s.poss = [];
    if (q.length === 0) return;
    const file = `pos/${s.hex}.pos`;
    const buf = this.#read(this.#posPath(s.hex), (q[0]!.seq - 1) * POS_BYTES, q.length * POS_BYTES);
    for (const [i, p] of q.entries()) {
      const stored = buf.subarray(i * POS_BYTES, (i + 1) * POS_BYTES);
      const problem = stored.length < POS_BYTES
        ? `position file ends at seq ${Math.floor(s.posBytes / POS_BYTES)}`
        : !bytesEqual(stored.subarray(0, p.cmp), p.rec.subarray(0, p.cmp))
        ? "position record does not point at the entry's log records"
        : undefined;
      if (problem === undefined) continue;
      if (p.seq <= s.headSeq) this.fail({ file, label: s.hex, seq: p.seq, what: problem });
      if (!s.posWarned) {
        s.posWarned = true;
        this.warn({
          file,
          label: s.hex,
          seq: p.seq,
          what: `${problem}, past the index (rewritten at the next start)`,
        });
      }
    }
  }

  /**
   * Feeds leaves `acc.size + 1 .. upto` from the node file: only for entries whose receipts segment was dropped by
   * retention (their position records must point below the first retained receipts segment).
   */
  #fillFromNodes(s: LabelState, upto: number, where: string): void {
    const from = s.acc.size + 1;
    if (upto < from) return;
    for (let seq = from; seq <= upto; seq++) {
      const p = this.#read(this.#posPath(s.hex), (seq - 1) * POS_BYTES, POS_BYTES);
      if (p.length < POS_BYTES) {
        this.fail({
          file: where,
          label: s.hex,
          seq,
          what: `entry ${seq} is neither in the log nor in the position file`,
        });
      }
      const seg = new DataView(p.buffer, p.byteOffset, 4).getUint32(0);
      if (seg >= this.#firstReceiptsSeg) {
        this.fail({
          file: where,
          label: s.hex,
          seq,
          what: `entry ${seq} is missing from the log (its position names retained segment ${
            segmentName(seg)
          })`,
        });
      }
      const leaf = this.#read(this.#nodesPath(s.hex), leafPosition(seq) * NODE_BYTES, NODE_BYTES);
      if (leaf.length < NODE_BYTES) {
        this.fail({
          file: `mmr/${s.hex}.nodes`,
          label: s.hex,
          seq,
          what: `the leaf of entry ${seq} (in a dropped segment) is missing from the node file`,
        });
      }
      this.#append(s, leaf.slice(), seq);
      this.summary.leaves_from_node_files++;
    }
  }

  // ---------------------------------------------------------------- after the scan

  async #finishLabels(): Promise<void> {
    await this.#checkClientRows();
    for (const s of this.#labels.values()) {
      // Labels whose newest entries are all in dropped segments.
      const dropped = this.#droppedUpto.get(s.hex)?.seq ?? 0;
      const target = Math.max(dropped, s.headSeq);
      if (target > s.acc.size) this.#fillFromNodes(s, target, "index.kv");
      this.#flushNodes(s);
      this.#flushPos(s);
      const n = s.acc.size;
      const nodeFile = `mmr/${s.hex}.nodes`;
      const posFile = `pos/${s.hex}.pos`;
      if (s.head !== undefined && !s.headChecked) {
        this.fail({
          file: "index.kv",
          label: s.hex,
          seq: s.headSeq,
          what: `head ${s.headSeq} is past the log's ${n} entries`,
        });
      }
      if (s.nodeBytes < nodeCountForLeaves(s.headSeq) * NODE_BYTES) {
        this.fail({ file: nodeFile, label: s.hex, what: "node file is shorter than the index head" });
      }
      if (s.posBytes < s.headSeq * POS_BYTES) {
        this.fail({ file: posFile, label: s.hex, what: "position file is shorter than the index head" });
      }
      if (s.nodeBytes % NODE_BYTES !== 0 || s.nodeBytes > nodeCountForLeaves(n) * NODE_BYTES) {
        this.warn({
          file: nodeFile,
          label: s.hex,
          what: "bytes past the log's entries (truncated at the next start)",
        });
      }
      if (s.posBytes % POS_BYTES !== 0 || s.posBytes > n * POS_BYTES) {
        this.warn({
          file: posFile,
          label: s.hex,
          what: "bytes past the log's entries (truncated at the next start)",
        });
      }
    }
  }

  #checkCheckpointRoots(): void {
    const all = [
      ...this.#checkpoints.map((c) => ({ ...c, file: "checkpoints.cborseq" })),
      ...this.#anchors.map((c) => ({ ...c, file: ANCHORS_FILE })),
    ];
    for (const cp of all) {
      const s = this.#state(cp.label);
      const at = { file: `${cp.file}@${cp.off}`, label: s.hex, seq: cp.upto };
      if (cp.upto < 1 || cp.upto > s.acc.size) {
        this.fail({
          ...at,
          what: `CHECKPOINT upto_seq ${cp.upto} is past the label's ${s.acc.size} entries`,
        });
      }
      if (!bytesEqual(s.roots.get(cp.upto)!, cp.root)) {
        this.fail({ ...at, what: "CHECKPOINT mmr_root differs from the re-derived root at upto_seq" });
      }
    }
  }

  /** Every `["ckpt", label, upto]` and `["ckpt_epoch", label, epoch, upto]` row points at a matching record. */
  async #checkCheckpointRows(): Promise<void> {
    if (this.#kv === undefined) return;
    const byOff = new Map(this.#checkpoints.map((c) => [c.off, c]));
    const check = (key: Deno.KvKey, label: unknown, upto: unknown, epoch: unknown, off: unknown) => {
      const c = typeof off === "number" ? byOff.get(off) : undefined;
      if (
        c === undefined || !(label instanceof Uint8Array) || !bytesEqual(c.label, label) || c.upto !== upto ||
        (epoch !== undefined && c.epoch !== epoch)
      ) {
        this.fail({
          file: "index.kv",
          ...(label instanceof Uint8Array ? { label: toHex(label) } : {}),
          ...(typeof upto === "number" ? { seq: upto } : {}),
          what: `checkpoint row ${key[0] as string} does not point at a matching checkpoint record`,
        });
      }
    };
    for await (const e of this.#kv.list({ prefix: ["ckpt"] })) {
      const [off, , epoch] = e.value as number[];
      check(e.key, e.key[1], e.key[2], epoch, off);
    }
    for await (const e of this.#kv.list({ prefix: ["ckpt_epoch"] })) {
      const [off] = e.value as number[];
      check(e.key, e.key[1], e.key[3], e.key[2], off);
    }
  }

  /** Every `["adm", auth_ref]` row points at the newest indexed record for its auth_ref, and each such record has one. */
  async #checkAdmissionRows(): Promise<void> {
    if (this.#kv === undefined) return;
    const indexedTo = this.#index!.admissionsOffset;
    const newest = new Map<string, { off: number; len: number; authRef: Uint8Array }>();
    for (const a of this.#admissions) if (a.off < indexedTo) newest.set(toHex(a.authRef), a);
    await this.#checkRootRows(indexedTo);
    const seen = new Set<string>();
    for await (const e of this.#kv.list({ prefix: ["adm"] })) {
      const ref = e.key[1];
      const hex = ref instanceof Uint8Array ? toHex(ref) : String(ref);
      const [off, len] = (Array.isArray(e.value) ? e.value : []) as unknown[];
      const want = newest.get(hex);
      if (want === undefined || want.off !== off || want.len !== len) {
        this.fail({
          file: "index.kv",
          what: `admission row for auth_ref ${hex} does not point at the newest admission record for it`,
        });
      }
      seen.add(hex);
    }
    for (const [hex, a] of newest) {
      if (!seen.has(hex)) {
        this.fail({
          file: "index.kv",
          what: `no admission row for auth_ref ${hex} (record at admissions.cborseq@${a.off})`,
        });
      }
    }
  }

  /**
   * Once the index has cap root rows (`["meta","adm_roots"]`), each indexed root has one holding the least
   * issued_at of its records; a crash between index chunks may leave a row that already counts unindexed records.
   */
  async #checkRootRows(indexedTo: number): Promise<void> {
    if ((await this.#kv!.get(["meta", "adm_roots"])).value !== 1) return;
    const least = (upTo: number) => {
      const m = new Map<string, number>();
      for (const a of this.#admissions) {
        if (a.off < upTo) m.set(toHex(a.capRoot), Math.min(m.get(toHex(a.capRoot)) ?? Infinity, a.issuedAt));
      }
      return m;
    };
    const indexed = least(indexedTo);
    const all = least(Infinity);
    const seen = new Set<string>();
    for await (const e of this.#kv!.list({ prefix: ["adm_root"] })) {
      const hex = e.key[1] instanceof Uint8Array ? toHex(e.key[1]) : String(e.key[1]);
      if (indexed.get(hex) !== e.value && all.get(hex) !== e.value) {
        this.fail({
          file: "index.kv",
          what: `cap root row ${hex} is not the least issued_at of its admission records`,
        });
      }
      seen.add(hex);
    }
    for (const hex of indexed.keys()) {
      if (!seen.has(hex)) this.fail({ file: "index.kv", what: `no cap root row for ${hex}` });
    }
  }

  /** views.kv against a fold of the admin entries (hub/views_check.ts). */
  async #checkViews(): Promise<void> {
    this.currentFile = VIEWS_FILE;
    const r = await this.#views!.check(this.#adminEntries);
    for (const w of r.warnings) this.warn({ file: VIEWS_FILE, what: w });
    if (r.problem !== undefined) this.fail({ file: VIEWS_FILE, what: r.problem });
  }

  /** Every attachment hashes to its name and sits under its coid's two-hex prefix; temp files are warnings. */
  async #checkAttachments(): Promise<void> {
    const root = `${this.dir}/attachments`;
    const sizes = new Map<string, number>();
    const subs = await dirEntries(root);
    for (const d of subs) {
      const sub = `attachments/${d.name}`;
      this.currentFile = sub;
      if (d.isDirectory && d.name === ATTACHMENT_TMP_DIR) {
        for (const f of await dirEntries(`${root}/${d.name}`)) {
          this.warn({
            file: `${sub}/${f.name}`,
            what: "left by an interrupted upload; removed at the next start",
          });
        }
        continue;
      }
      if (!d.isDirectory || !/^[0-9a-f]{2}$/.test(d.name)) {
        this.warn({ file: sub, what: "unexpected entry in the attachment directory" });
        continue;
      }
      for (const f of await dirEntries(`${root}/${d.name}`)) {
        const file = `${sub}/${f.name}`;
        this.currentFile = file;
        if (f.isFile && f.name.startsWith(".") && f.name.endsWith(".tmp")) {
          this.warn({ file, what: "temporary file of an interrupted attachment put (safe to delete)" });
          continue;
        }
        if (!f.isFile || !/^[0-9a-f]{64}$/.test(f.name) || !f.name.startsWith(d.name)) {
          this.fail({ file, what: "not an attachment name (64 hex digits under their first two)" });
        }
        if (toHex(H(await Deno.readFile(`${root}/${d.name}/${f.name}`))) !== f.name) {
          this.fail({ file, what: "attachment bytes do not hash to its name (coid = H(bytes))" });
        }
        sizes.set(f.name, (await Deno.stat(`${root}/${d.name}/${f.name}`)).size);
        this.summary.attachments++;
      }
    }
    await this.#checkAttachmentRows(sizes);
  }

  /**
   * The attachment accounting rows (attachment_ledger.ts) agree with each other and with the files: a row's length
   * is its file's, a claimed row has its `att_seg` row, a pending one has a wait (else it would never be
   * collected), every wait and `att_seg` row names a row of that state, and each owner's charge is the sum of its
   * rows. A row whose file is missing (an interrupted upload or collection) and a file without a row (stored
   * before accounting existed, or after index.kv was rebuilt; never collected) are warnings.
   */
  async #checkAttachmentRows(sizes: Map<string, number>): Promise<void> {
    if (this.#kv === undefined) return;
    this.currentFile = "index.kv";
    const bad: (what: string) => never = (what) => this.fail({ file: "index.kv", what });
    const rows = new Map<string, AttachmentRow>();
    const charged = new Map<string, number>();
    for await (const e of this.#kv.list({ prefix: ["att"] })) {
      const coid = e.key[1];
      const row = decodeAttachmentRow(e.value);
      if (!(coid instanceof Uint8Array) || coid.length !== 32 || row === undefined) {
        bad(`malformed attachment row ${String(e.key)}`);
      }
      const hex = toHex(coid);
      rows.set(hex, row);
      charged.set(toHex(row.owner), (charged.get(toHex(row.owner)) ?? 0) + attachmentCost(row.len));
      const size = sizes.get(hex);
      if (size === undefined) {
        this.warn({
          file: `attachments/${hex.slice(0, 2)}/${hex}`,
          what:
            "attachment row without its file (an interrupted upload or collection; the next pass collects it)",
        });
      } else if (size !== row.len) bad(`attachment ${hex} has ${size} bytes but its row says ${row.len}`);
    }
    const waited = new Set<string>();
    for await (const e of this.#kv.list({ prefix: ["att_wait"] })) {
      const coid = e.key[2];
      const hex = coid instanceof Uint8Array ? toHex(coid) : String(coid);
      if (!rows.has(hex) || typeof e.value !== "number") bad(`attachment wait for ${hex} without its row`);
      waited.add(hex);
    }
    const inSeg = new Set<string>();
    for await (const e of this.#kv.list({ prefix: ["att_seg"] })) {
      const coid = e.key[2];
      const hex = coid instanceof Uint8Array ? toHex(coid) : String(coid);
      if (rows.get(hex)?.seg !== e.key[1]) {
        bad(`attachment segment row ${String(e.key[1])} for ${hex} without a row claimed there`);
      }
      inSeg.add(hex);
    }
    for (const [hex, row] of rows) {
      if (row.seg >= 0 && !inSeg.has(hex)) {
        bad(`claimed attachment ${hex} has no segment row (segment ${row.seg})`);
      }
      if (row.seg < 0 && !waited.has(hex)) {
        bad(`pending attachment ${hex} has no wait, so it would never be collected`);
      }
    }
    for await (const e of this.#kv.list({ prefix: ["att_owner"] })) {
      const owner = e.key[1];
      const hex = owner instanceof Uint8Array ? toHex(owner) : String(owner);
      if (e.value !== (charged.get(hex) ?? 0)) {
        bad(
          `attachment charge of owner "${hex}" is ${String(e.value)}, its rows sum to ${
            charged.get(hex) ?? 0
          }`,
        );
      }
      charged.delete(hex);
    }
    for (const [hex, n] of charged) {
      if (n > 0) bad(`no attachment charge row for owner "${hex}" (rows sum to ${n})`);
    }
    for (const hex of sizes.keys()) {
      if (!rows.has(hex)) {
        this.warn({
          file: `attachments/${hex.slice(0, 2)}/${hex}`,
          what:
            "attachment without an accounting row (stored before accounting or after an index rebuild); never collected",
        });
      }
    }
  }
}

// ---------------------------------------------------------------- veen hub fsck

function formatProblem(p: FsckProblem): string {
  return `${p.file}${p.label === undefined ? "" : `: label ${p.label}`}${
    p.seq === undefined ? "" : ` seq ${p.seq}`
  }: ${p.what}`;
}

/** `veen hub fsck` (exit 0 clean, 1 usage, 4 inconsistent or refused; table in commands.ts). */
export async function fsckCommand(ctx: CommandContext): Promise<number> {
  const dir = dataDirOf(ctx);
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error("not a directory");
  } catch (e) {
    throw new VeenError("E.NOT_FOUND", `Data dir ${dir}: ${(e as Error).message}`);
  }
  // The data dir lock (data_dir_lock.ts) keeps a hub from starting on DIR while fsck reads it; --force reads
  // without it, for a dir another process holds.
  let lock: DataDirLock | undefined;
  try {
    lock = await lockDataDir(dir);
  } catch (e) {
    const why = e instanceof VeenError ? e.detail : (e as Error).message;
    if (!ctx.flags.bool("force")) {
      const msg = `${why}; stop the hub first or pass --force`;
      throw checkFailure(new VeenError("E.UNAVAILABLE", msg), { json: { data_dir: dir, refused: msg } });
    }
    ctx.out.warn(
      `--force: checking without the data dir lock (${why}); a hub writing meanwhile can make the result ` +
        `inconsistent`,
    );
  }
  const t0 = performance.now();
  let rep: FsckReport;
  try {
    rep = await fsck(dir);
  } finally {
    lock?.release();
  }
  const lines = rep.warnings.map((w) => `warning: ${formatProblem(w)}`);
  const s = rep.summary;
  if (rep.error !== undefined) {
    // A failed check like every command's: `CODE: detail` (exit 4), and under --json the report with code and
    // detail. E.UNAVAILABLE: what the hub says when it refuses such a store.
    const failed = `fsck FAILED: ${dir}: ${formatProblem(rep.error)}`;
    throw checkFailure(new VeenError("E.UNAVAILABLE", failed), { json: { ...rep }, lines });
  } else {
    lines.push(
      `fsck ok: ${dir}: ${s.labels} labels, ${s.entries} entries (${s.records} log records read, ` +
        `${s.unindexed_records} unindexed, ${s.leaves_from_node_files} in dropped segments), ` +
        `${s.segments.receipts}+${s.dropped_segments.receipts} receipts and ${s.segments.payloads}+` +
        `${s.dropped_segments.payloads} payloads segments (present+dropped), ${s.checkpoints} checkpoints, ` +
        `${s.admissions} admissions, ${s.attachments} attachments, index ${s.index} (${
          Math.round(performance.now() - t0)
        } ms)`,
    );
  }
  ctx.out.document(rep, lines);
  return rep.ok ? EXIT.OK : EXIT.CHECK;
}
