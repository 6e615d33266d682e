/**
 * An in-memory HubStore with the same contract as the disk store, minus durability. Used by unit tests and by fault
 * tests that inject commit failures (`failNextCommit`).
 */
import { H, type HashReader, MemoryHashStore, mmrRoot, toHex } from "../core/mod.ts";
import {
  AttachmentLedger,
  type AttachmentPolicy,
  type AttachmentsCollected,
  MemoryLedgerBackend,
} from "./attachment_ledger.ts";
import { type ClientUsage, nextFirstSeen } from "./client_key_bounds.ts";
import type {
  AcceptedEntry,
  AdmissionRecord,
  AttachmentUpload,
  CommitEntry,
  HubStore,
  LabelHead,
  StoredItem,
  StoreStats,
} from "./store.ts";

interface LabelData {
  head: LabelHead;
  items: StoredItem[];
  nodes: MemoryHashStore;
  entries: Map<string, AcceptedEntry>;
  clients: Map<string, ClientUsage>;
  checkpoints: { upto: number; epoch: number; bytes: Uint8Array }[];
}

export class MemoryStore implements HubStore {
  private readonly labels = new Map<string, LabelData>();
  private readonly admissions = new Map<string, AdmissionRecord>();
  private readonly capRoots = new Map<string, number>();
  private readonly attachments = new Map<string, Uint8Array>();
  /** Attachment accounting as on disk, in maps; a claim records segment 0 (there is no retention). */
  private readonly ledger: Promise<AttachmentLedger>;
  private entries = 0;
  private bytes = 0;
  failNextCommit: Error | undefined;

  constructor(opts: { attachments?: Partial<AttachmentPolicy>; maxAttachmentBytes?: number } = {}) {
    const files = {
      maxBytes: opts.maxAttachmentBytes ?? 16 * 1024 * 1024,
      put: (bytes: Uint8Array) => {
        const coid = H(bytes);
        this.attachments.set(toHex(coid), bytes);
        return Promise.resolve(coid);
      },
      remove: (coid: Uint8Array) => {
        this.attachments.delete(toHex(coid));
        return Promise.resolve();
      },
    };
    this.ledger = AttachmentLedger.open(new MemoryLedgerBackend(), files, opts.attachments);
  }

  private data(label: Uint8Array): LabelData {
    const k = toHex(label);
    let d = this.labels.get(k);
    if (d === undefined) {
      d = {
        head: { label, seq: 0, peaks: [], root: new Uint8Array(32), lastHubTs: 0 },
        items: [],
        nodes: new MemoryHashStore(),
        entries: new Map(),
        clients: new Map(),
        checkpoints: [],
      };
      this.labels.set(k, d);
    }
    return d;
  }

  *heads(): Iterable<LabelHead> {
    for (const d of this.labels.values()) if (d.head.seq > 0) yield d.head;
  }

  head(label: Uint8Array): LabelHead | undefined {
    const d = this.labels.get(toHex(label));
    return d === undefined || d.head.seq === 0 ? undefined : d.head;
  }

  clientUsage(label: Uint8Array, clientId: Uint8Array): Promise<ClientUsage> {
    return Promise.resolve(
      this.labels.get(toHex(label))?.clients.get(toHex(clientId)) ?? { seq: 0, firstSeen: null },
    );
  }

  accepted(label: Uint8Array, clientId: Uint8Array, clientSeq: number): Promise<AcceptedEntry | undefined> {
    return Promise.resolve(this.labels.get(toHex(label))?.entries.get(toHex(clientId) + clientSeq));
  }

  async commit(batch: CommitEntry[]): Promise<void> {
    await this.commitEntries(batch);
    const ledger = await this.ledger;
    const claims = batch.filter((e) => ledger.waiting(e.authRef));
    if (claims.length > 0) {
      await ledger.claim(claims.map((e) => ({ owner: e.authRef, seg: 0, hubTs: e.hubTs })));
    }
  }

  private commitEntries(batch: CommitEntry[]): Promise<void> {
    if (this.failNextCommit !== undefined) {
      const e = this.failNextCommit;
      this.failNextCommit = undefined;
      return Promise.reject(e);
    }
    for (const e of batch) {
      const d = this.data(e.label);
      if (e.streamSeq !== d.head.seq + 1) {
        return Promise.reject(new Error(`non-contiguous seq ${e.streamSeq}`));
      }
      d.items.push({ streamSeq: e.streamSeq, receipt: e.receipt, msg: e.msg });
      d.nodes.append(e.newNodes);
      d.entries.set(toHex(e.clientId) + e.clientSeq, { streamSeq: e.streamSeq, leafHash: e.leafHash });
      const prior = d.clients.get(toHex(e.clientId))?.firstSeen ?? null;
      d.clients.set(toHex(e.clientId), {
        seq: e.clientSeq,
        firstSeen: e.firstSeen ?? nextFirstSeen(e.clientSeq, prior, e.hubTs),
      });
      d.head = {
        label: e.label,
        seq: e.streamSeq,
        peaks: e.peaks,
        root: mmrRoot(e.peaks),
        lastHubTs: e.hubTs,
      };
      this.entries++;
      this.bytes += e.receipt.length + e.msg.length;
    }
    return Promise.resolve();
  }

  readRange(label: Uint8Array, from: number, to: number, limit: number, max = Infinity) {
    const d = this.labels.get(toHex(label));
    if (d === undefined) return Promise.resolve<StoredItem[]>([]);
    const items = d.items.slice(from - 1, Math.min(to, from - 1 + limit));
    let n = 0;
    let bytes = 0;
    for (const it of items) {
      bytes += it.receipt.length + it.msg.length;
      if (n > 0 && bytes > max) break;
      n++;
    }
    return Promise.resolve(items.slice(0, n));
  }

  nodeReader(label: Uint8Array): HashReader {
    return this.data(label).nodes;
  }

  putCheckpoint(label: Uint8Array, uptoSeq: number, epoch: number, checkpoint: Uint8Array): Promise<void> {
    this.data(label).checkpoints.push({ upto: uptoSeq, epoch, bytes: checkpoint });
    return Promise.resolve();
  }

  latestCheckpoint(label: Uint8Array): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.labels.get(toHex(label))?.checkpoints.at(-1)?.bytes);
  }

  checkpointsByEpoch(
    label: Uint8Array,
    epochMin: number,
    epochMax: number,
    limit: number,
  ): Promise<Uint8Array[]> {
    const cps = this.labels.get(toHex(label))?.checkpoints ?? [];
    return Promise.resolve(
      cps.filter((c) => c.epoch >= epochMin && c.epoch <= epochMax).slice(0, limit).map((c) => c.bytes),
    );
  }

  putAdmission(rec: AdmissionRecord): Promise<void> {
    this.admissions.set(toHex(rec.authRef), rec);
    const root = toHex(rec.capRoot);
    this.capRoots.set(root, Math.min(this.capRoots.get(root) ?? Infinity, rec.issuedAt));
    return Promise.resolve();
  }

  capRootIssuedAt(root: Uint8Array): Promise<number | undefined> {
    return Promise.resolve(this.capRoots.get(toHex(root)));
  }

  getAdmission(authRef: Uint8Array): Promise<AdmissionRecord | undefined> {
    return Promise.resolve(this.admissions.get(toHex(authRef)));
  }

  async putAttachment(bytes: Uint8Array, upload?: AttachmentUpload): Promise<Uint8Array> {
    const nowSec = upload?.nowSec ?? Math.floor(Date.now() / 1000);
    return await (await this.ledger).put(bytes, upload?.owner ?? null, nowSec);
  }

  async collectAttachments(nowMs: number): Promise<AttachmentsCollected> {
    return await (await this.ledger).collect(Math.floor(nowMs / 1000));
  }

  getAttachment(coid: Uint8Array): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.attachments.get(toHex(coid)));
  }

  stats(): StoreStats {
    return { labels: [...this.heads()].length, entries: this.entries, logBytes: this.bytes, segments: 0 };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
