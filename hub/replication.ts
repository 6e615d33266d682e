/**
 * Replication intake (spec 002 §2-§3, overlay decisions "FED1 / AUTH1", docs/replication.md): a replica takes the
 * primary's MSG with its RECEIPT through `POST /replicate`, which is not a submit. Each item must carry the
 * primary's hub_sig, bind to its MSG (I1, I2, profile), continue the replica's head and end at the RECEIPT's
 * mmr_root, and the authority record deciding its label at the RECEIPT's hub_ts must name the sender (hub_id =
 * Ht("veen/hub-id", hub_pk)) as primary_hub. The entry is then committed with the primary's RECEIPT bytes
 * (Sequencer.appendReplicated), so reads serve the primary's receipts and roots byte-identical. The primary's key is
 * trusted through the realm's authority records only: any key may be offered, and only the key whose hub_id the
 * deciding record names is accepted.
 */
import {
  bytesEqual,
  type CborValue,
  decodeCborSeq,
  decodeCheckpoint,
  decodeMsg,
  decodeReceipt,
  encodeCbor,
  expectArray,
  hubIdFor,
  mmrRoot,
  peaksAt,
  receiptFromCbor,
  toHex,
  VeenError,
  verifyCheckpoint,
  verifyMsgSig,
  verifyReceiptForMsg,
} from "../core/mod.ts";
import type { AdminStreamIds, AuthorityRecord, AuthorityView } from "../overlays/mod.ts";
import type { AdminSource } from "./admin_source.ts";
import { CatchUp } from "./catch_up.ts";
import { Lock } from "./files.ts";
import { addPrimary } from "./primaries.ts";
import type { LabelAuthority } from "./label_authority.ts";
import type { Logger } from "./logger.ts";
import type { Sequencer } from "./sequencer.ts";
import type { HubStore } from "./store.ts";

export interface ReplicationContext {
  store: HubStore;
  sequencer: Sequencer;
  /** The admin plane's authority view (veen.fed.authority.v1 records of this hub's realm). */
  authority: AuthorityView;
  /** stream_id_for_label and the label of a stream (hub/label_authority.ts): one index for AUTH1 and replication. */
  labels: Pick<LabelAuthority, "streamIdFor" | "labelOf" | "enforced">;
  hubPk: Uint8Array;
  routingKey: Uint8Array;
  profileId: Uint8Array;
  maxMsgBytes: number;
  log: Logger;
  /** The data dir: primary keys are recorded in DIR/primaries.json before their first entry (hub/primaries.ts). */
  dataDir?: string;
  /** Catch-up after a flip (hub/catch_up.ts): the data dir (DIR/promotions.json), `peer_hubs` and the clock. */
  catchUp?: { dataDir: string; peers: readonly string[]; now: () => number };
  /**
   * A tenant hub (`admin_source`, hub/admin_source.ts): its admin labels are replicas of the source's; `adminStreamOf`
   * names them and `foldAdmin` folds the entries appended to one into the views (hub/admin_plane.ts).
   */
  tenant?: {
    source: AdminSource;
    streams: readonly AdminStreamIds[];
    adminStreamOf(label: Uint8Array): AdminStreamIds | undefined;
    foldAdmin(s: AdminStreamIds): Promise<void>;
  };
}

/** What one `POST /replicate` did: items appended, items already held (no-ops), and the label's head after. */
export interface ReplicateResult {
  label: Uint8Array;
  appended: number;
  held: number;
  seq: number;
  root: Uint8Array;
}

/** A label this hub replicates now: the deciding record names this hub in replica_hubs and another hub primary. */
export interface ReplicatedLabel {
  label: Uint8Array;
  streamId: Uint8Array;
  record: AuthorityRecord;
}

/** One decoded `[RECEIPT, MSG]` item with its exact bytes. */
interface Item {
  receipt: ReturnType<typeof decodeReceipt>;
  receiptBytes: Uint8Array;
  msg: ReturnType<typeof decodeMsg>;
  msgBytes: Uint8Array;
}

export class Replication {
  readonly hubId: Uint8Array;
  readonly #lock = new Lock();
  /** Primary keys known to be in DIR/primaries.json. */
  readonly #recorded = new Set<string>();
  readonly #catchUp: CatchUp | undefined;

  constructor(private readonly c: ReplicationContext) {
    this.hubId = hubIdFor(c.hubPk);
    this.#catchUp = c.catchUp === undefined ? undefined : new CatchUp({
      ...c.catchUp,
      authority: c.authority,
      hubId: this.hubId,
      store: c.store,
      streamIdOf: (label) => this.streamIdOf(label),
    });
  }

  /** stream_id_for_label (AUTH1 §3.1): the stream of an authority record whose label (epoch 0) is `label`. */
  streamIdOf(label: Uint8Array): Uint8Array | undefined {
    return this.c.labels.streamIdFor(label);
  }

  /** Whether this hub is a tenant of an admin source (`admin_source`). */
  get isTenant(): boolean {
    return this.c.tenant !== undefined;
  }

  /** On a tenant hub, the admin stream of `label` (a label replicated from the admin source). */
  adminStreamOf(label: Uint8Array): AdminStreamIds | undefined {
    return this.c.tenant?.adminStreamOf(label);
  }

  /** Whether `label` is replicated here at `nowSec`: an admin label of a tenant, or a replica by authority record. */
  replicated(label: Uint8Array, nowSec: number): boolean {
    return this.adminStreamOf(label) !== undefined || this.replicaOf(label, nowSec) !== undefined;
  }

  /** A tenant's admin labels (GET /replication) and the admin source's URL and key (undefined until pinned). */
  async tenantLabels(): Promise<
    { url: string; key: Uint8Array | undefined; streams: readonly AdminStreamIds[] }
  > {
    const t = this.c.tenant!;
    const key = await t.source.key().catch((e) => {
      this.c.log.warn("the admin source's key is not known yet", { error: String(e) });
      return undefined;
    });
    return { url: t.source.url, key, streams: t.streams };
  }

  /** The record deciding `label` at `nowSec` when it makes this hub a replica of another primary. */
  replicaOf(label: Uint8Array, nowSec: number): AuthorityRecord | undefined {
    if (this.c.authority.size === 0) return undefined;
    const streamId = this.streamIdOf(label);
    const r = streamId === undefined ? undefined : this.c.authority.deciding(streamId, nowSec);
    if (r === undefined || bytesEqual(r.primaryHub, this.hubId)) return undefined;
    return r.replicaHubs.some((h) => bytesEqual(h, this.hubId)) ? r : undefined;
  }

  /**
   * Client submits on a label replicated here are refused: 403 E.AUTH naming the primary. On a label this hub
   * became primary of by a flip, the returned promise rejects with 503 `catching up` until it holds the old
   * primary's entries (hub/catch_up.ts); undefined when the submit may go on at once.
   */
  checkClientSubmit(label: Uint8Array, nowSec: number): Promise<void> | undefined {
    if (this.adminStreamOf(label) !== undefined) this.c.tenant!.source.refuseSubmit();
    this.refuseReplicated(label, nowSec);
    return this.#catchUp?.check(label, nowSec);
  }

  private refuseReplicated(label: Uint8Array, nowSec: number): void {
    if (!this.c.labels.enforced) return; // the test-only unsafe_skip_authority
    const r = this.replicaOf(label, nowSec);
    if (r !== undefined) {
      throw new VeenError(
        "E.AUTH",
        `not primary for label: this hub is a replica, primary_hub ${toHex(r.primaryHub)}`,
      );
    }
  }

  /** Every label this hub replicates at `nowSec` (GET /replication). */
  replicatedLabels(nowSec: number): ReplicatedLabel[] {
    const out: ReplicatedLabel[] = [];
    for (const streamId of this.c.authority.streamIds()) {
      const label = this.c.labels.labelOf(streamId);
      const record = this.replicaOf(label, nowSec);
      if (record !== undefined) out.push({ label, streamId, record });
    }
    return out;
  }

  /**
   * The authority check of one item: the record deciding the RECEIPT's label at its hub_ts names `primaryId`; for a
   * tenant's admin label, `primaryId` is the admin source's hub_id. E.AUTH otherwise (also when no record decides:
   * replication of an unspecified label is refused).
   */
  private checkAuthority(label: Uint8Array, hubTs: number, primaryId: Uint8Array): void {
    if (this.adminStreamOf(label) !== undefined) return this.c.tenant!.source.checkSender(primaryId);
    const streamId = this.streamIdOf(label);
    const r = streamId === undefined ? undefined : this.c.authority.deciding(streamId, hubTs);
    if (r === undefined) {
      throw new VeenError("E.AUTH", `No authority record decides label ${toHex(label)} at hub_ts ${hubTs}`);
    }
    if (!bytesEqual(r.primaryHub, primaryId)) {
      throw new VeenError(
        "E.AUTH",
        `Hub ${toHex(primaryId)} is not the primary of label ${toHex(label)} at hub_ts ${hubTs} ` +
          `(primary_hub ${toHex(r.primaryHub)})`,
      );
    }
  }

  /** Decodes a CBOR sequence of `[RECEIPT, MSG]` items (all of one label); E.SIZE for anything else. */
  private items(body: Uint8Array): Item[] {
    const items = decodeCborSeq(body, "/replicate body").map((v: CborValue) => {
      const a = expectArray(v, 2, "/replicate item");
      const msgBytes = encodeCbor(a[1]!);
      return {
        receipt: receiptFromCbor(a[0]!),
        receiptBytes: encodeCbor(a[0]!),
        msg: decodeMsg(msgBytes, this.c.maxMsgBytes),
        msgBytes,
      };
    });
    for (const it of items) {
      if (!bytesEqual(it.receipt.label, items[0]!.receipt.label)) {
        throw new VeenError("E.SIZE", "A /replicate body holds items of one label only");
      }
    }
    return items;
  }

  /**
   * POST /replicate: checks and appends `body`'s items in order under the key `primaryPk`. An item the replica
   * already holds is a no-op when it is the same entry (same leaf and root); a different entry at a held seq is
   * equivocation evidence: refused with E.SEQ (nothing is overwritten) and logged with both RECEIPTs. Items run
   * one request at a time; the items before a refused one stay appended.
   */
  intake(primaryPk: Uint8Array, body: Uint8Array): Promise<ReplicateResult> {
    const items = this.items(body);
    const admin = items.length === 0 ? undefined : this.adminStreamOf(items[0]!.receipt.label);
    if (admin === undefined) return this.appendItems(primaryPk, items);
    // A tenant knows its admin source's key first, and folds the admin entries appended (also those before a
    // refused item) into the views before it answers.
    const t = this.c.tenant!;
    return t.source.key().then(() => this.appendItems(primaryPk, items)).finally(() => t.foldAdmin(admin));
  }

  private appendItems(primaryPk: Uint8Array, items: Item[]): Promise<ReplicateResult> {
    return this.#lock.run(async () => {
      if (items.length === 0) throw new VeenError("E.SIZE", "A /replicate body holds at least one item");
      const label = items[0]!.receipt.label;
      const primaryId = hubIdFor(primaryPk);
      let appended = 0;
      let held = 0;
      for (const it of items) {
        verifyReceiptForMsg(it.receipt, it.msg, primaryPk, [this.c.profileId]);
        if (!verifyMsgSig(it.msg)) {
          throw new VeenError("E.SIG", `MSG.sig at stream_seq ${it.receipt.streamSeq} does not verify`);
        }
        this.checkAuthority(label, it.receipt.hubTs, primaryId);
        const head = this.c.store.head(label)?.seq ?? 0;
        if (it.receipt.streamSeq <= head) {
          await this.checkHeld(it);
          held++;
          continue;
        }
        await this.recordPrimary(primaryPk);
        await this.c.sequencer.appendReplicated(it.receipt, it.receiptBytes, it.msg, it.msgBytes);
        appended++;
      }
      const h = this.c.store.head(label);
      return { label, appended, held, seq: h?.seq ?? 0, root: h?.root ?? new Uint8Array(32) };
    });
  }

  /** Lists `pk` in DIR/primaries.json before anything it signed is stored (so fsck can verify it offline). */
  private async recordPrimary(pk: Uint8Array): Promise<void> {
    const hex = toHex(pk);
    if (this.c.dataDir === undefined || this.#recorded.has(hex)) return;
    await addPrimary(this.c.dataDir, pk);
    this.#recorded.add(hex);
  }

  /** An item at a seq this hub holds: the same leaf and root is a no-op; anything else is equivocation (E.SEQ). */
  private async checkHeld(it: Item): Promise<void> {
    const { label, streamSeq } = it.receipt;
    const heldBytes = this.c.store.readReceipt
      ? await this.c.store.readReceipt(label, streamSeq)
      : (await this.c.store.readRange(label, streamSeq, streamSeq, 1))[0]?.receipt;
    if (heldBytes === undefined) {
      throw new VeenError("E.NOT_FOUND", `Entry ${streamSeq} is not retained here`);
    }
    const held = decodeReceipt(heldBytes);
    if (bytesEqual(held.leafHash, it.receipt.leafHash) && bytesEqual(held.mmrRoot, it.receipt.mmrRoot)) {
      return;
    }
    this.c.log.error("replication equivocation: a different entry is held at a replicated seq", {
      label: toHex(label),
      stream_seq: streamSeq,
      held_receipt: toHex(heldBytes),
      offered_receipt: toHex(it.receiptBytes),
    });
    throw new VeenError(
      "E.SEQ",
      `Equivocation at stream_seq ${streamSeq} of label ${toHex(label)}: a different entry is held ` +
        `(held leaf_hash ${toHex(held.leafHash)}, offered ${
          toHex(it.receipt.leafHash)
        }); nothing was overwritten`,
    );
  }

  /**
   * POST /replicate/checkpoint: the primary's CHECKPOINTs (a CBOR sequence), each signed by `primaryPk`, of a label
   * whose `upto_seq` this hub holds with the same root, whose primary at the hub_ts of RECEIPT `upto_seq` is the
   * sender; stored byte-identical. One already held (same label and upto_seq) is a no-op. Returns the count stored.
   */
  intakeCheckpoints(primaryPk: Uint8Array, body: Uint8Array): Promise<{ stored: number; held: number }> {
    const cps = decodeCborSeq(body, "/replicate/checkpoint body").map((v) => encodeCbor(v));
    return this.#lock.run(async () => {
      // checkAuthority needs a tenant's admin source key for an admin label's CHECKPOINT.
      if (cps.some((b) => this.adminStreamOf(decodeCheckpoint(b).labelCurr) !== undefined)) {
        await this.c.tenant!.source.key().catch(() => undefined);
      }
      const primaryId = hubIdFor(primaryPk);
      let stored = 0;
      let held = 0;
      for (const bytes of cps) {
        const cp = decodeCheckpoint(bytes);
        verifyCheckpoint(cp, primaryPk);
        const label = cp.labelCurr;
        if (!bytesEqual(cp.labelPrev, label)) {
          throw new VeenError(
            "E.TIME",
            "Replicated checkpoints need label epochs off (label_prev = label_curr)",
          );
        }
        const h = this.c.store.head(label);
        if (h === undefined || cp.uptoSeq < 1 || cp.uptoSeq > h.seq) {
          throw new VeenError(
            "E.SEQ",
            `CHECKPOINT upto_seq ${cp.uptoSeq} is beyond this hub's ${h?.seq ?? 0}`,
          );
        }
        const root = cp.uptoSeq === h.seq
          ? h.root
          : mmrRoot(await peaksAt(this.c.store.nodeReader(label), cp.uptoSeq));
        if (!bytesEqual(root, cp.mmrRoot)) {
          throw new VeenError("E.SEQ", `CHECKPOINT mmr_root differs from this hub's root at ${cp.uptoSeq}`);
        }
        const r = decodeReceipt(
          this.c.store.readReceipt
            ? await this.c.store.readReceipt(label, cp.uptoSeq)
            : (await this.c.store.readRange(label, cp.uptoSeq, cp.uptoSeq, 1))[0]!.receipt,
        );
        this.checkAuthority(label, r.hubTs, primaryId);
        const latest = await this.c.store.latestCheckpoint(label);
        if (latest !== undefined && decodeCheckpoint(latest).uptoSeq >= cp.uptoSeq) {
          held++;
          continue;
        }
        await this.recordPrimary(primaryPk);
        await this.c.store.putCheckpoint(label, cp.uptoSeq, cp.epoch, bytes);
        stored++;
      }
      return { stored, held };
    });
  }
}
