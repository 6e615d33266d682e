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
  bytesEqual,
  ctHashMatches,
  decodeMsg,
  type Limits,
  type Msg,
  msgSigningDigest,
  POW_HEADER,
  readU32be,
  toHex,
  VeenError,
} from "../core/mod.ts";
import type { Admission } from "./admission.ts";
import type { AdminPlane, AdmittedRecord } from "./admin_plane.ts";
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
  /** Submissions between the start of stage 2 and its end. */
  #inStage2 = 0;

  constructor(private readonly c: SubmitPipelineContext) {
    this.maxMsgBytes = c.unsafeDisableSizeBounds === true ? UNSAFE_SUBMIT_CAP : c.limits.maxMsgBytes;
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
      this.prefilter(req, peer);
      const body = await this.bounds(req, peer);
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
      this.c.denied?.check(msg.clientId); // stage 4 starts with the KEX0.3 deny list, admission on or off
      const adminStream = this.c.admin.adminStreamOf(msg.label);
      const gate = this.c.admission.required && !this.adminKeyRecord(msg, adminStream)
        ? await this.capability(msg)
        : undefined;
      if (this.c.admin.revocations.size > 0 && this.c.unsafeSkipRevocations !== true) {
        await this.revocation(msg);
      }
      const adminRecord = adminStream === undefined ? undefined : await this.adminRecord(msg, adminStream);
      if (adminStream === undefined) this.labelAuthority(msg);
      const cls = this.c.labels?.classOf(msg.label);
      const classGate = this.c.labels === undefined ? gate : this.c.labels.gate(cls, gate);
      inStage2 = this.leaveStage2(inStage2);
      stage = "stage3-commit";
      const sequenced = await this.sequenceAndRate(msg, body, classGate);
      const receipt = await sequenced.receipt; // the commit
      if (adminRecord !== undefined) {
        await this.c.admin.applyCommitted(adminStream!, sequenced.streamSeq, adminRecord);
      }
      const t2 = performance.now();
      this.c.metrics.submitOk++;
      this.c.metrics.countClass(cls?.class);
      this.c.metrics.endToEndLatency.observe(t2 - t0);
      this.logSubmit(msg, sequenced.streamSeq, undefined, bytesIn, receipt.length, t1 - t0, t2 - t1);
      return receipt;
    } catch (e) {
      inStage2 = this.leaveStage2(inStage2);
      if (!req.bodyUsed) void req.body?.cancel().catch(() => {});
      if (e instanceof ClientGoneError) throw e;
      const err = asVeenError(e, "E.UNAVAILABLE", "Internal error");
      if (!(e instanceof VeenError)) this.c.log.error("submit failed", { error: String(e) });
      this.c.metrics.countError(err.code);
      // The rate token is taken when the entry is sequenced, but rate limiting is stage 2's check (SH1+ §5.1).
      this.stats.refused(err.code === "E.RATE" ? "stage2-crypto-auth" : stage, err.code, err.detail, msg);
      this.logSubmit(msg, null, err.code, bytesIn, 0, performance.now() - t0, 0);
      throw err;
    }
  }

  /** E.UNAVAILABLE (Retry-After 1) while the hub is starting, stopping or poisoned. */
  private ready(): void {
    if (!this.c.isReady()) throw new VeenError("E.UNAVAILABLE", "Hub is not ready", { retryAfter: 1 });
  }

  /**
   * Stage 0, prefilter (SH1+ §5.1): from the request line and headers only, before a body byte is decoded: the
   * declared size (E.SIZE), the peer's address (E.AUTH), the proof-of-work cookie (E.AUTH, hub/pow_gate.ts).
   */
  private prefilter(req: Request, peer: string): void {
    const declared = req.headers.get("content-length");
    if (declared !== null && Number(declared) > this.maxMsgBytes) {
      throw new VeenError("E.SIZE", `Body of ${declared} bytes exceeds the ${this.maxMsgBytes}-byte limit`);
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

  /** Stage 1, bounds (SH0.4): the body, read only up to max_msg_bytes (E.SIZE beyond it). */
  private bounds(req: Request, peer: string): Promise<Uint8Array> {
    return this.c.bodies.read(req, this.maxMsgBytes, peer);
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
    if (this.c.unsafeSkipSigCheck === true) return;
    this.c.metrics.sigVerifyAttempts++;
    if (!(await this.c.crypto.verify(msg.clientId, msgSigningDigest(msg), msg.sig))) {
      throw new VeenError("E.SIG", "MSG.sig does not verify under client_id");
    }
  }

  /**
   * Stage 4, capability (E.AUTH, E.CAP, E.TIME): after the client_id deny list (hub/client_deny.ts, in `submit`),
   * an access grant named by auth_ref (hub/access_grants.ts), else hub/admission.ts; resolves with the rate gate.
   */
  private capability(msg: Msg): Promise<RateGate | undefined> {
    const now = Math.floor(this.c.now() / 1000);
    const granted = this.c.admin.accessGrants.check(msg, now);
    return granted === null ? this.c.admission.check(msg, now) : Promise.resolve(granted);
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
      client_id: msg ? toHex(msg.clientId).slice(0, 8) : null,
      stream_seq: streamSeq,
      code: code ?? null,
      bytes_in: bytesIn,
      bytes_out: bytesOut,
      verify_ms: round(verifyMs),
      commit_ms: round(commitMs),
    });
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;
