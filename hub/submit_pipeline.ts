/**
 * POST /submit, stage by stage in the spec's processing order (OP0.1, SH0.4 bounds first):
 *
 * 1. bounds: the body is read only up to max_msg_bytes (E.SIZE);
 * 2. structure: canonical MSG, profile_id, ciphertext framing within MAX_HDR_BYTES and MAX_BODY_BYTES, I1 (E.SIZE,
 *    E.PROFILE);
 * 3. signature: MSG.sig under client_id (E.SIG);
 * 4. capability: the admission record named by auth_ref, when admission is on (E.AUTH, E.CAP, E.TIME), and the
 *    revocations in force (KEX1+ §4.3: client_id, auth_ref, cap token; E.AUTH);
 * 4a. admin records, for a MSG on one of the realm's admin streams (hub/admin_plane.ts): author, open with the realm
 *    admin key, schema admitted on the stream, body, realm (E.AUTH, E.SIZE);
 * 5. sequence and rate: client_seq and prev_ack against the cursors (E.DUP, E.SEQ), then one token from the
 *    label's class bucket when `class_rates` names its class (hub/label_policy.ts) and one from the record's bucket
 *    (E.RATE), then the MMR append; a MSG refused for its sequence takes no token;
 * 6. commit: the RECEIPT once the entry is durable (E.UNAVAILABLE when storage fails); an admin record is folded
 *    into the admin views before its RECEIPT leaves.
 *
 * Every stage refuses with its spec code before a later (costlier) one runs; a new stage (such as an admin-record
 * stage) is one more named call in `submit`. routes.ts keeps only HTTP; docs/protocol.md lists the checks.
 */
import {
  asVeenError,
  bytesEqual,
  ctHashMatches,
  decodeMsg,
  type Limits,
  type Msg,
  msgSigningDigest,
  readU32be,
  toHex,
  VeenError,
} from "../core/mod.ts";
import type { Admission } from "./admission.ts";
import type { AdminPlane, AdmittedRecord } from "./admin_plane.ts";
import type { BodyLimits } from "./body_limits.ts";
import type { CryptoPool } from "./crypto_pool.ts";
import { ClientGoneError } from "./http.ts";
import type { LabelPolicy } from "./label_policy.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
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
  bodies: BodyLimits;
  crypto: CryptoPool;
  admission: Admission;
  admin: AdminPlane;
  /** Label classes (LCLASS0): the class rate gate and the per-class submit counts. */
  labels?: LabelPolicy;
  sequencer: Sequencer;
  metrics: Metrics;
  log: Logger;
  isReady: () => boolean;
  /** Hub clock in milliseconds. */
  now: () => number;
}

export class SubmitPipeline {
  /** max_msg_bytes, unless the test-only `unsafe_disable_size_bounds` key switched the bound off. */
  readonly maxMsgBytes: number;

  constructor(private readonly c: SubmitPipelineContext) {
    this.maxMsgBytes = c.unsafeDisableSizeBounds === true ? UNSAFE_SUBMIT_CAP : c.limits.maxMsgBytes;
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
    try {
      this.ready();
      const body = await this.bounds(req, peer);
      bytesIn = body.length;
      msg = this.structure(body);
      await this.signature(msg);
      const t1 = performance.now();
      this.c.metrics.verifyLatency.observe(t1 - t0);
      const capGate = this.c.admission.required ? await this.capability(msg) : undefined;
      if (this.c.admin.revocations.size > 0) await this.revocation(msg);
      const adminStream = this.c.admin.adminStreamOf(msg.label);
      const adminRecord = adminStream === undefined ? undefined : await this.adminRecord(msg, adminStream);
      const cls = this.c.labels?.classOf(msg.label);
      const gate = this.c.labels === undefined ? capGate : this.c.labels.gate(cls, capGate);
      const sequenced = await this.sequenceAndRate(msg, body, gate);
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
      if (e instanceof ClientGoneError) throw e;
      const err = asVeenError(e, "E.UNAVAILABLE", "Internal error");
      if (!(e instanceof VeenError)) this.c.log.error("submit failed", { error: String(e) });
      this.c.metrics.countError(err.code);
      this.logSubmit(msg, null, err.code, bytesIn, 0, performance.now() - t0, 0);
      throw err;
    }
  }

  /** E.UNAVAILABLE (Retry-After 1) while the hub is starting, stopping or poisoned. */
  private ready(): void {
    if (!this.c.isReady()) throw new VeenError("E.UNAVAILABLE", "Hub is not ready", { retryAfter: 1 });
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
    if (!(await this.c.crypto.verify(msg.clientId, msgSigningDigest(msg), msg.sig))) {
      throw new VeenError("E.SIG", "MSG.sig does not verify under client_id");
    }
  }

  /** Stage 4, capability (E.AUTH, E.CAP, E.TIME): hub/admission.ts; resolves with the record's rate gate. */
  private capability(msg: Msg): Promise<RateGate | undefined> {
    return this.c.admission.check(msg, Math.floor(this.c.now() / 1000));
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
