/**
 * POST /submit, stage by stage in the spec's processing order (OP0.1, SH0.4 bounds first):
 *
 * 0. prefilter (SH1+ stage 0, before any CBOR decoding): declared Content-Length within max_msg_bytes (E.SIZE), the
 *    peer address against ip_allow / ip_deny (E.AUTH), the `Veen-PoW` cookie when pow_difficulty > 0 (E.AUTH);
 * 1. bounds: the body is read only up to max_msg_bytes (E.SIZE);
 * 2. structure: canonical MSG, profile_id, ciphertext framing within MAX_HDR_BYTES and MAX_BODY_BYTES, I1 (E.SIZE,
 *    E.PROFILE);
 * 3. signature: MSG.sig under client_id (E.SIG);
 * 4. capability: the KEX0.3 client_id deny list (E.AUTH), then the admission record named by auth_ref, when
 *    admission is on (E.AUTH, E.CAP, E.TIME), then the revocations in force (KEX1+ §4.3: client_id, auth_ref,
 *    cap token; E.AUTH);
 * 4a. admin records, for a MSG on one of the realm's admin streams (hub/admin_plane.ts): author, open with the realm
 *    admin key, schema admitted on the stream, body, realm (E.AUTH, E.SIZE);
 * 4b. label authority (AUTH1, spec 002 §3.3; hub/label_authority.ts), for every other MSG: single-primary and this
 *    hub not primary, or no record on a hub that rejects unspecified labels (E.AUTH); never for admin labels;
 * 5. sequence and rate: client_seq and prev_ack against the cursors (E.DUP, E.SEQ), then the KEX1+ client key
 *    bounds against the client's cursor (E.AUTH `rotate client key`, hub/client_key_bounds.ts), then one token from
 *    the label's class bucket when `class_rates` names its class (hub/label_policy.ts) and one from the record's
 *    bucket (E.RATE), then the MMR append; a MSG refused before the append takes no token and no seq;
 * 6. commit: the RECEIPT once the entry is durable (E.UNAVAILABLE when storage fails); an admin record is folded
 *    into the admin views before its RECEIPT leaves.
 *
 * Every stage refuses with its spec code before a later (costlier) one runs; a new stage (such as an admin-record
 * stage) is one more named call in `submit`. routes.ts keeps only HTTP; docs/protocol.md lists the checks.
 *
 * SH1+ groups these into four reported stages (hub/admission_stages.ts): stage0-prefilter (0-1), stage1-structure
 * (2), stage2-crypto-auth (3-4, and the rate token of 5), stage3-commit (5-6). Stage 2 admits at most
 * `stage2_queue_max` submissions at once (503 E.UNAVAILABLE beyond), stage 3 `queue_max` (the sequencer). Every
 * refusal is counted per stage and code and kept in the admission log; `veen_sig_verify_attempts_total` counts the
 * Ed25519 verifications started, so bounds-first is observable: garbage never moves it.
 */
import {
  asVeenError,
  type BatchResult,
  bytesEqual,
  ctHashMatches,
  decodeMsg,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_BATCH_ITEMS,
  encodeBatchResponse,
  leafHash,
  type Limits,
  type Msg,
  msgSigningDigest,
  POW_HEADER,
  readU32be,
  splitCborSeq,
  toHex,
  VeenError,
} from "../core/mod.ts";
import type { Admission } from "./admission.ts";
import type { AdminPlane, AdmittedRecord } from "./admin_plane.ts";
import { BatchOrder, type BatchTicket } from "./batch_order.ts";
import { AdmissionStats, STAGE_NAMES, STAGE_RESPONSIBILITIES, type StageName } from "./admission_stages.ts";
import type { BodyLimits } from "./body_limits.ts";
import type { ClientIdDenyList } from "./client_deny.ts";
import type { CryptoPool } from "./crypto_pool.ts";
import { ClientGoneError } from "./http.ts";
import type { LabelAuthority } from "./label_authority.ts";
import type { LabelPolicy } from "./label_policy.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { PeerFilter } from "./peer_filter.ts";
import type { PowGate } from "./pow_gate.ts";
import type { RateGate } from "./rate_limit.ts";
import type { Sequenced, Sequencer } from "./sequencer.ts";
import { clientKey } from "./store.ts";
import { Failed, Gather, One, type Slots } from "./slots.ts";

const HPKE_ENC_LEN = 32;
const AEAD_TAG_LEN = 16;
/** Body cap of /submit when the test-only `unsafe_disable_size_bounds` key is on (max_msg_bytes is skipped). */
const UNSAFE_SUBMIT_CAP = 64 * 1024 * 1024;

export interface SubmitPipelineContext {
  limits: Limits;
  profileId: Uint8Array;
  /** TEST-ONLY config key `unsafe_disable_size_bounds`: the bounds stage does not enforce max_msg_bytes. */
  unsafeDisableSizeBounds?: boolean;
  /** TEST-ONLY config key `unsafe_skip_sig_check`: the signature stage does not verify MSG.sig. */
  unsafeSkipSigCheck?: boolean;
  /** TEST-ONLY config key `unsafe_skip_revocations`: revocations are not checked. */
  unsafeSkipRevocations?: boolean;
  bodies: BodyLimits;
  crypto: CryptoPool;
  admission: Admission;
  admin: AdminPlane;
  /** KEX0.3 `client_id_deny`, checked first in the capability stage. */
  denied?: ClientIdDenyList;
  /** AUTH1: who may order each label (absent: every label is accepted). */
  authority?: LabelAuthority;
  /** Label classes (LCLASS0): the class rate gate and the per-class submit counts. */
  labels?: LabelPolicy;
  sequencer: Sequencer;
  /**
   * AUTH1 for replicas (hub/replication.ts): a label this hub replicates refuses client submits (E.AUTH); one it
   * became primary of by a flip answers 503 `catching up` until it holds the old primary's entries.
   */
  replication?: { checkClientSubmit(label: Uint8Array, nowSec: number): Promise<void> | undefined };
  metrics: Metrics;
  log: Logger;
  isReady: () => boolean;
  /** Hub clock in milliseconds. */
  now: () => number;
  /** Stage 0: the proof-of-work gate (absent or difficulty 0: no cookie needed). */
  pow?: PowGate;
  /** TEST-ONLY config key `unsafe_skip_pow_check`: stage 0 does not check Veen-PoW cookies. */
  unsafeSkipPowCheck?: boolean;
  /** Stage 0: the ip_allow / ip_deny lists. */
  peers?: PeerFilter;
  /** Submissions in stage 2 at once, at most (default: unbounded). */
  stage2QueueMax?: number;
  /** The bounds of stages 0 and 3 as configured (max_body_reads, queue_max), for the admission report. */
  stageQueueMax?: { stage0: number; stage3: number };
  /** Body reads in progress (stage 0's queue), for the admission report. */
  bodyReads?: () => number;
  /** /submit_batch bounds: max_batch_items and max_batch_bytes (default 256 and 4 MiB). */
  batch?: { maxItems: number; maxBytes: number };
}

/** What stage 4 found out about a MSG, for its commit. */
interface Authorized {
  adminStream: ReturnType<AdminPlane["adminStreamOf"]>;
  adminRecord: AdmittedRecord | undefined;
  /** The label's class (LCLASS0), for the per-class count. */
  cls: string | undefined;
  /** The rate gate the sequencer takes a token from. */
  gate: RateGate | undefined;
}

/** A batch item that passed stages 1-4, waiting to be sequenced with the items around it. */
interface Admitted {
  i: number;
  msg: Msg;
  body: Uint8Array;
  auth: Authorized;
  /** When its signature was verified. */
  t1: number;
}

/** One stage of `GET /admission`. */
export interface StageReport {
  name: StageName;
  enabled: boolean;
  responsibilities: readonly string[];
  queue_depth: number;
  max_queue_depth: number;
  recent_err_rates: Record<string, number | null>;
}

export class SubmitPipeline {
  /** max_msg_bytes, unless the test-only `unsafe_disable_size_bounds` key switched the bound off. */
  readonly maxMsgBytes: number;
  /** Refusals per stage and code, and the admission log (GET /admission, GET /admission/log). */
  readonly stats: AdmissionStats;
  /** max_batch_bytes and max_batch_items: the bounds of /submit_batch. */
  readonly maxBatchBytes: number;
  readonly maxBatchItems: number;
  /** Submissions between the start of stage 2 and its end. */
  #inStage2 = 0;
  /** Of those, MSGs of /submit_batch requests. */
  #batchItemsInStage2 = 0;
  /** One client's /submit_batch requests, kept in client_seq order at the sequencer when they overlap. */
  readonly #order = new BatchOrder();

  constructor(private readonly c: SubmitPipelineContext) {
    this.maxMsgBytes = c.unsafeDisableSizeBounds === true ? UNSAFE_SUBMIT_CAP : c.limits.maxMsgBytes;
    this.maxBatchBytes = c.batch?.maxBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.maxBatchItems = c.batch?.maxItems ?? DEFAULT_MAX_BATCH_ITEMS;
    this.stats = new AdmissionStats(c.now);
  }

  /**
   * Runs one submission through the stages and resolves with its RECEIPT bytes; rejects with the first stage's
   * VeenError (or ClientGoneError when the client left mid-body). Counts and logs every outcome: verify and
   * end-to-end latency, `veen_submit_ok_total` or the error code, and one `submit` log line with the stream_seq the
   * sequencer assigned. `peer` is the client's address (body-read bounds per peer).
   */
  async submit(req: Request, peer: string): Promise<Uint8Array> {
    const t0 = performance.now();
    let bytesIn = 0;
    let msg: Msg | undefined;
    let stage: StageName = "stage0-prefilter";
    let inStage2 = false;
    this.stats.received();
    try {
      this.ready();
      this.prefilter(req, peer, this.maxMsgBytes);
      const body = await this.bounds(req, peer, this.maxMsgBytes);
      bytesIn = body.length;
      stage = "stage1-structure";
      msg = this.structure(body);
      stage = "stage2-crypto-auth";
      const catchingUp = this.c.replication?.checkClientSubmit(msg.label, Math.floor(this.c.now() / 1000));
      if (catchingUp !== undefined) await catchingUp;
      inStage2 = this.enterStage2();
      await this.signature(msg);
      const t1 = performance.now();
      this.c.metrics.verifyLatency.observe(t1 - t0);
      const auth = await this.authorize(msg);
      inStage2 = this.leaveStage2(inStage2);
      stage = "stage3-commit";
      const sequenced = await this.sequenceAndRate(msg, body, auth.gate);
      return await this.committed(msg, auth, sequenced, t0, t1, bytesIn);
    } catch (e) {
      inStage2 = this.leaveStage2(inStage2);
      if (!req.bodyUsed) void req.body?.cancel().catch(() => {});
      if (e instanceof ClientGoneError) throw e;
      throw this.refused(e, stage, msg, t0, bytesIn);
    }
  }

  /**
   * POST /submit_batch (wire decisions "Bulk submit"): the answer body, one CBOR(RECEIPT) or error body per MSG in
   * order. The request as a whole is refused (VeenError, nothing admitted) when the hub is not ready, by stage 0,
   * when the body exceeds max_batch_bytes or does not split into at most max_batch_items CBOR items (E.SIZE), or
   * when proof of work is required (E.AUTH: a cookie pays for one MSG, so PoW clients use /submit). Each MSG then
   * goes through the stages of `submit`, in order; a refused MSG does not stop later ones. Every RECEIPT in the
   * answer is durable.
   */
  async submitBatch(req: Request, peer: string): Promise<Uint8Array> {
    const t0 = performance.now();
    let items: Uint8Array[];
    try {
      this.ready();
      this.prefilter(req, peer, this.maxBatchBytes);
      const pow = this.c.pow;
      if (pow !== undefined && pow.required && this.c.unsafeSkipPowCheck !== true) {
        throw new VeenError("E.AUTH", "Proof of work is paid per MSG: submit each MSG with /submit");
      }
      const body = await this.bounds(req, peer, this.maxBatchBytes);
      items = splitCborSeq(body, this.maxBatchItems);
    } catch (e) {
      if (!req.bodyUsed) void req.body?.cancel().catch(() => {});
      if (e instanceof ClientGoneError) throw e;
      this.stats.received();
      throw this.refused(e, "stage0-prefilter", undefined, t0, 0);
    }
    this.c.metrics.submitBatches++;
    return encodeBatchResponse(await this.admitBatch(items, t0));
  }

  /**
   * The stages of `submit` for each item of a batch, in order. Signatures are all handed to the crypto workers at
   * once, gathered into one promise (hub/slots.ts); stage 4 runs item by item; the items that pass are sequenced back
   * to back (hub/sequencer.ts `sequenceMany`), so they share group commits. A MSG on an admin stream is committed
   * and folded before the items after it are checked, as consecutive /submit calls would see it.
   */
  private async admitBatch(items: readonly Uint8Array[], t0: number): Promise<BatchResult[]> {
    const n = items.length;
    const results: BatchResult[] = new Array(n);
    const msgs: (Msg | undefined)[] = new Array(n);
    // One slot per item: its signature's verdict, or false for an item refused before (its result is set).
    const verified = new Gather<boolean>(n);
    const now = () => Math.floor(this.c.now() / 1000);
    for (let i = 0; i < n; i++) {
      this.stats.received();
      let stage: StageName = "stage1-structure";
      try {
        const msg = msgs[i] = this.structure(items[i]!);
        stage = "stage2-crypto-auth";
        const catchingUp = this.c.replication?.checkClientSubmit(msg.label, now());
        if (catchingUp !== undefined) await catchingUp;
        this.enterStage2();
        this.#batchItemsInStage2++;
        this.startVerify(msg, verified, i);
      } catch (e) {
        results[i] = this.refused(e, stage, msgs[i], t0, items[i]!.length);
        verified.put(i, false);
      }
    }
    const first = msgs.find((m, i) => m !== undefined && results[i] === undefined);
    const ticket = first === undefined
      ? undefined
      : this.#order.enter(clientKey(first.label, first.clientId), first.clientSeq);
    try {
      return await this.admitInOrder(items, msgs, await verified.done, results, ticket, t0);
    } finally {
      if (ticket !== undefined) this.#order.leave(ticket);
    }
  }

  /** Stages 4-6 of `admitBatch`, item by item (see there); `ticket` orders the client's requests (batch_order.ts). */
  private async admitInOrder(
    items: readonly Uint8Array[],
    msgs: readonly (Msg | undefined)[],
    verified: readonly (boolean | Failed)[],
    results: BatchResult[],
    ticket: BatchTicket | undefined,
    t0: number,
  ): Promise<BatchResult[]> {
    let run: Admitted[] = [];
    const commitRun = async () => {
      if (run.length === 0) return;
      if (ticket !== undefined) await this.#order.turn(ticket);
      // Once sequenced (not yet durable), the client's later requests may go.
      run = await this.commitRun(run, results, t0, () => ticket !== undefined && this.#order.leave(ticket));
    };
    const t1 = performance.now();
    for (let i = 0; i < items.length; i++) {
      const msg = msgs[i];
      if (results[i] !== undefined || msg === undefined) continue;
      const admin = this.c.admin.adminStreamOf(msg.label) !== undefined;
      if (admin) await commitRun();
      try {
        try {
          const ok = verified[i]!;
          if (ok instanceof Failed) throw ok.error;
          if (!ok) throw new VeenError("E.SIG", "MSG.sig does not verify under client_id");
          this.c.metrics.verifyLatency.observe(t1 - t0);
          const auth = this.authorize(msg);
          run.push({ i, msg, body: items[i]!, auth: auth instanceof Promise ? await auth : auth, t1 });
        } finally {
          this.leaveStage2(true);
          this.#batchItemsInStage2--;
        }
      } catch (e) {
        results[i] = this.refused(e, "stage2-crypto-auth", msg, t0, items[i]!.length);
      }
      if (admin) await commitRun();
    }
    await commitRun();
    return results;
  }

  /**
   * Sequences the items of `run` back to back (then calls `sequenced`) and waits for their commits; returns an
   * empty run.
   */
  private async commitRun(
    run: Admitted[],
    results: BatchResult[],
    t0: number,
    sequenced: () => void,
  ): Promise<Admitted[]> {
    const { streamSeqs, receipts } = await this.c.sequencer.sequenceMany(
      run.map((a) => ({ msg: a.msg, msgBytes: a.body, gate: a.auth.gate })),
      this.c.now(),
    );
    sequenced();
    const out = await receipts;
    for (let k = 0; k < run.length; k++) {
      const a = run[k]!;
      const r = out[k]!;
      try {
        if (r instanceof Failed) throw r.error;
        const folded = this.foldAdmin(a.auth, streamSeqs[k]!);
        if (folded !== undefined) await folded;
        results[a.i] = this.accepted(a.msg, a.auth, streamSeqs[k]!, r, t0, a.t1, a.body.length);
      } catch (e) {
        results[a.i] = this.refused(e, "stage3-commit", a.msg, t0, a.body.length);
      }
    }
    return [];
  }

  /**
   * Stage 4 for a MSG whose signature verified: the KEX0.3 deny list, the capability (admission on), revocations,
   * the admin-record checks or the label authority, and the class rate gate the commit takes a token from. Without
   * admission, revocations or an admin stream it runs synchronously (no promise per batch item).
   */
  private authorize(msg: Msg): Authorized | Promise<Authorized> {
    this.c.denied?.check(msg.clientId); // stage 4 starts with the KEX0.3 deny list, admission on or off
    const adminStream = this.c.admin.adminStreamOf(msg.label);
    const gate = this.c.admission.required && !this.adminKeyRecord(msg, adminStream)
      ? this.capability(msg)
      : undefined;
    if (gate instanceof Promise || this.checksRevocations() || adminStream !== undefined) {
      return this.authorizeAfter(msg, adminStream, gate);
    }
    return this.authorized(msg, undefined, undefined, gate);
  }

  /** The rest of `authorize` once a step needs to wait: the capability, revocations, the admin record. */
  private async authorizeAfter(
    msg: Msg,
    adminStream: ReturnType<AdminPlane["adminStreamOf"]>,
    capability: RateGate | undefined | Promise<RateGate | undefined>,
  ): Promise<Authorized> {
    const gate = await capability;
    if (this.checksRevocations()) await this.revocation(msg);
    const adminRecord = adminStream === undefined ? undefined : await this.adminRecord(msg, adminStream);
    return this.authorized(msg, adminStream, adminRecord, gate);
  }

  /** The end of stage 4: the label authority (not for admin streams), the label's class and its rate gate. */
  private authorized(
    msg: Msg,
    adminStream: ReturnType<AdminPlane["adminStreamOf"]>,
    adminRecord: AdmittedRecord | undefined,
    gate: RateGate | undefined,
  ): Authorized {
    if (adminStream === undefined) this.labelAuthority(msg);
    const cls = this.c.labels?.classOf(msg.label);
    return {
      adminStream,
      adminRecord,
      cls: cls?.class,
      gate: this.c.labels === undefined ? gate : this.c.labels.gate(cls, gate),
    };
  }

  /** Whether stage 4 checks revocations: some are in force, and the test-only switch is off. */
  private checksRevocations(): boolean {
    return this.c.admin.revocations.size > 0 && this.c.unsafeSkipRevocations !== true;
  }

  /** Stage 6 for a sequenced MSG: its RECEIPT once durable (an admin record folded first), counted and logged. */
  private async committed(
    msg: Msg,
    auth: Authorized,
    sequenced: Sequenced,
    t0: number,
    t1: number,
    bytesIn: number,
  ): Promise<Uint8Array> {
    const receipt = await sequenced.receipt; // the commit
    await this.foldAdmin(auth, sequenced.streamSeq);
    return this.accepted(msg, auth, sequenced.streamSeq, receipt, t0, t1, bytesIn);
  }

  /** An admin record folded into the admin views before its RECEIPT leaves (undefined: not an admin record). */
  private foldAdmin(auth: Authorized, streamSeq: number): Promise<void> | undefined {
    if (auth.adminRecord === undefined) return undefined;
    return this.c.admin.applyCommitted(auth.adminStream!, streamSeq, auth.adminRecord);
  }

  /** A durable MSG, counted and logged; returns its RECEIPT. */
  private accepted(
    msg: Msg,
    auth: Authorized,
    streamSeq: number,
    receipt: Uint8Array,
    t0: number,
    t1: number,
    bytesIn: number,
  ): Uint8Array {
    const t2 = performance.now();
    this.c.metrics.submitOk++;
    this.c.metrics.countClass(auth.cls);
    this.c.metrics.endToEndLatency.observe(t2 - t0);
    this.logSubmit(msg, streamSeq, undefined, bytesIn, receipt.length, t1 - t0, t2 - t1);
    return receipt;
  }

  /** Counts and logs a refusal at `stage`; returns its VeenError. */
  private refused(
    e: unknown,
    stage: StageName,
    msg: Msg | undefined,
    t0: number,
    bytesIn: number,
  ): VeenError {
    const err = asVeenError(e, "E.UNAVAILABLE", "Internal error");
    if (!(e instanceof VeenError)) this.c.log.error("submit failed", { error: String(e) });
    this.c.metrics.countError(err.code);
    // The rate token is taken when the entry is sequenced, but rate limiting is stage 2's check (SH1+ §5.1).
    this.stats.refused(err.code === "E.RATE" ? "stage2-crypto-auth" : stage, err.code, err.detail, msg);
    this.logSubmit(msg, null, err.code, bytesIn, 0, performance.now() - t0, 0);
    return err;
  }

  /** E.UNAVAILABLE (Retry-After 1) while the hub is starting, stopping or poisoned. */
  private ready(): void {
    if (!this.c.isReady()) throw new VeenError("E.UNAVAILABLE", "Hub is not ready", { retryAfter: 1 });
  }

  /**
   * Stage 0, prefilter (SH1+ §5.1): from the request line and headers only, before a body byte is decoded: the
   * declared size (E.SIZE), the peer's address (E.AUTH), the proof-of-work cookie (E.AUTH, hub/pow_gate.ts).
   */
  private prefilter(req: Request, peer: string, max: number): void {
    const declared = req.headers.get("content-length");
    if (declared !== null && Number(declared) > max) {
      throw new VeenError("E.SIZE", `Body of ${declared} bytes exceeds the ${max}-byte limit`);
    }
    this.c.peers?.check(peer);
    const pow = this.c.pow;
    if (pow !== undefined && pow.required && this.c.unsafeSkipPowCheck !== true) {
      pow.check(req.headers.get(POW_HEADER));
    }
  }

  /** Admits one more submission into stage 2, or 503 E.UNAVAILABLE when stage2_queue_max are in it. */
  private enterStage2(): true {
    if (this.#inStage2 >= (this.c.stage2QueueMax ?? Infinity)) {
      throw new VeenError(
        "E.UNAVAILABLE",
        `Stage 2 is full: ${this.#inStage2} submissions in signature and capability checks`,
        { retryAfter: 1 },
      );
    }
    this.#inStage2++;
    return true;
  }

  /** Leaves stage 2 when `held`; returns false (the caller no longer holds a place). */
  private leaveStage2(held: boolean): false {
    if (held) this.#inStage2--;
    return false;
  }

  /**
   * MSGs of /submit_batch requests in stage 2 (signature and capability checks): bulk on its way to the sequencer,
   * which its group commit delay waits for. /submit MSGs do not count: their clients mostly wait for each RECEIPT.
   */
  get batchItemsInStage2(): number {
    return this.#batchItemsInStage2;
  }

  /** The stages as `GET /admission` reports them (hub/admission_stages.ts). */
  stageReports(): StageReport[] {
    const depth: Record<StageName, number> = {
      "stage0-prefilter": this.c.bodyReads?.() ?? 0,
      "stage1-structure": 0,
      "stage2-crypto-auth": this.#inStage2,
      "stage3-commit": this.c.metrics.queueDepth,
    };
    const max: Record<StageName, number> = {
      "stage0-prefilter": this.c.stageQueueMax?.stage0 ?? 0,
      // Structure checks run inline on the body just read: stage 1 never queues.
      "stage1-structure": 0,
      "stage2-crypto-auth": Number.isFinite(this.c.stage2QueueMax ?? Infinity) ? this.c.stage2QueueMax! : 0,
      "stage3-commit": this.c.stageQueueMax?.stage3 ?? 0,
    };
    return STAGE_NAMES.map((name) => ({
      name,
      enabled: true,
      responsibilities: STAGE_RESPONSIBILITIES[name],
      queue_depth: depth[name],
      max_queue_depth: max[name],
      recent_err_rates: this.stats.errRates(name),
    }));
  }

  /** Stage 1, bounds (SH0.4): the body, read only up to `max` bytes (E.SIZE beyond it). */
  private bounds(req: Request, peer: string, max: number): Promise<Uint8Array> {
    return this.c.bodies.read(req, max, peer);
  }

  /** Stage 2, structure (E.SIZE, E.PROFILE): canonical MSG, exact sizes, ciphertext framing within limits, I1. */
  private structure(body: Uint8Array): Msg {
    const msg = decodeMsg(body, this.maxMsgBytes);
    if (!bytesEqual(msg.profileId, this.c.profileId)) {
      throw new VeenError("E.PROFILE", `Unsupported profile_id ${toHex(msg.profileId)}`);
    }
    const ct = msg.ciphertext;
    if (ct.length < HPKE_ENC_LEN + 8) throw new VeenError("E.SIZE", "Ciphertext is shorter than its framing");
    const hdrLen = readU32be(ct, HPKE_ENC_LEN);
    const bodyLen = readU32be(ct, HPKE_ENC_LEN + 4);
    if (hdrLen > this.c.limits.maxHdrBytes + AEAD_TAG_LEN) {
      throw new VeenError("E.SIZE", `Header ciphertext of ${hdrLen} bytes exceeds MAX_HDR_BYTES`);
    }
    if (bodyLen > this.c.limits.maxBodyBytes + AEAD_TAG_LEN) {
      throw new VeenError("E.SIZE", `Body ciphertext of ${bodyLen} bytes exceeds MAX_BODY_BYTES`);
    }
    if (HPKE_ENC_LEN + 8 + hdrLen + bodyLen > ct.length) {
      throw new VeenError("E.SIZE", "Ciphertext is shorter than its encoded lengths");
    }
    if (!ctHashMatches(msg)) throw new VeenError("E.SIZE", "ct_hash does not match H(ciphertext) (I1)");
    return msg;
  }

  /** Stage 3, signature (E.SIG): MSG.sig verifies under client_id (on the crypto worker). */
  private async signature(msg: Msg): Promise<void> {
    const one = new One<boolean>();
    this.startVerify(msg, one, 0);
    if (!(await one.done)) throw new VeenError("E.SIG", "MSG.sig does not verify under client_id");
  }

  /** Hands MSG.sig to the crypto workers; whether it verifies goes to slot `k` of `slots`. */
  private startVerify(msg: Msg, slots: Slots<boolean>, k: number): void {
    if (this.c.unsafeSkipSigCheck === true) return slots.put(k, true);
    this.c.metrics.sigVerifyAttempts++;
    this.c.crypto.verifyInto(msg.clientId, msgSigningDigest(msg), msg.sig, slots, k);
  }

  /**
   * Stage 4, capability (E.AUTH, E.CAP, E.TIME): after the client_id deny list (hub/client_deny.ts, in `submit`),
   * an access grant named by auth_ref (hub/access_grants.ts), else hub/admission.ts; resolves with the rate gate.
   */
  private capability(msg: Msg): RateGate | undefined | Promise<RateGate | undefined> {
    const now = Math.floor(this.c.now() / 1000);
    let granted: RateGate | undefined | null;
    try {
      granted = this.c.admin.accessGrants.check(msg, now);
    } catch (e) {
      this.c.metrics.capFail++;
      throw e;
    }
    if (granted === null) return this.admitted(msg, now);
    this.c.metrics.capOk++;
    return granted;
  }

  /** The capability from hub/admission.ts, counted. */
  private async admitted(msg: Msg, now: number): Promise<RateGate | undefined> {
    try {
      const gate = await this.c.admission.check(msg, now);
      this.c.metrics.capOk++;
      return gate;
    } catch (e) {
      this.c.metrics.capFail++;
      throw e;
    }
  }

  /**
   * An admin key's own record on an admin stream, without auth_ref, needs no capability: `admin_keys` is the
   * operator's grant (docs/admin.md). With an auth_ref the capability is checked as for any MSG.
   */
  private adminKeyRecord(msg: Msg, adminStream: unknown): boolean {
    return adminStream !== undefined && msg.authRef === null && this.c.admin.isAdminKey(msg.clientId);
  }

  /** Stage 4, revocations (KEX1+ §4.3, E.AUTH): of client_id, of auth_ref, of the capability token. */
  private async revocation(msg: Msg): Promise<void> {
    const r = await this.c.admin.revocationFor(msg.clientId, msg.authRef, Math.floor(this.c.now() / 1000));
    if (r !== undefined) {
      throw new VeenError("E.AUTH", `Revoked (${r.kind}${r.reason === undefined ? "" : `: ${r.reason}`})`);
    }
  }

  /** Stage 4a, admin records (E.AUTH, E.SIZE): hub/admin_plane.ts, for a MSG on an admin stream. */
  private adminRecord(
    msg: Msg,
    s: NonNullable<ReturnType<AdminPlane["adminStreamOf"]>>,
  ): Promise<AdmittedRecord> {
    return this.c.admin.admit(msg, s, Math.floor(this.c.now() / 1000));
  }

  /** Stage 4b, label authority (AUTH1, E.AUTH `not primary for label`): hub/label_authority.ts. */
  private labelAuthority(msg: Msg): void {
    this.c.authority?.check(msg.label, Math.floor(this.c.now() / 1000));
  }

  /** Stage 5, sequence and rate (E.DUP, E.SEQ, E.RATE): hub/sequencer.ts; the entry's commit is stage 6. */
  private sequenceAndRate(msg: Msg, body: Uint8Array, gate: RateGate | undefined): Promise<Sequenced> {
    return this.c.sequencer.sequence(msg, body, gate, this.c.now());
  }

  /** One line per submission; `streamSeq` is the one the sequencer assigned (null when refused). */
  private logSubmit(
    msg: Msg | undefined,
    streamSeq: number | null,
    code: string | undefined,
    bytesIn: number,
    bytesOut: number,
    verifyMs: number,
    commitMs: number,
  ): void {
    const level = code === undefined ? "info" : "warn";
    if (!this.c.log.enabled(level)) return;
    this.c.log.log(level, "submit", {
      label: msg ? toHex(msg.label).slice(0, 8) : null,
      client_id_prefix: msg ? toHex(msg.clientId).slice(0, 8) : null,
      stream_seq: streamSeq,
      leaf_hash_prefix: msg ? toHex(leafHash(msg)).slice(0, 8) : null,
      code: code ?? null,
      bytes_in: bytesIn,
      bytes_out: bytesOut,
      verify_ms: round(verifyMs),
      commit_ms: round(commitMs),
    });
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;
