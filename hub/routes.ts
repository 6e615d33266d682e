/**
 * The hub's HTTP routes (spec 004 §16, DR0, wire decisions "Error codes and HTTP", docs/protocol.md). /submit's
 * stages, in spec order, are hub/submit_pipeline.ts.
 */
import {
  asVeenError,
  type CborValue,
  concat,
  consistencyProof,
  decodeCbor,
  decodeCheckpoint,
  decodeEquivocationReport,
  encodeCbor,
  encodeConsistencyProof,
  encodeMmrProof,
  equivocation,
  fromHex,
  hubIdFor,
  inclusionProof,
  type Limits,
  mmrRoot,
  peaksAt,
  toHex,
  VeenError,
} from "../core/mod.ts";
import type { Admission } from "./admission.ts";
import type { AdminPlane } from "./admin_plane.ts";
import { adminRoute, revocationJson } from "./admin_routes.ts";
import type { Realm } from "./realm.ts";
import type { HubFeatures } from "./features.ts";
import type { LabelAuthority } from "./label_authority.ts";
import type { LabelPolicy } from "./label_policy.ts";
import type { BodyLimits } from "./body_limits.ts";
import { type KexPolicy, kexPolicyJson } from "./kex_policy.ts";
import type { Logger } from "./logger.ts";
import { ADMISSION_LOG_MAX } from "./admission_stages.ts";
import type { Metrics } from "./metrics.ts";
import { challengeJson, PowGate } from "./pow_gate.ts";
import type { Replication } from "./replication.ts";
import { replicationRoute, type ReplicationRoutesContext } from "./replication_routes.ts";
import type { HubStore } from "./store.ts";
import type { SubmitPipeline } from "./submit_pipeline.ts";
import type { EquivocationLog } from "./equivocation_log.ts";
import type { Witness } from "./witness.ts";
import type { Anchorer } from "./anchorer.ts";
import { BACKUP_PATH, type BackupService } from "./backup_route.ts";
import type { AuthorityProbe } from "./authority_probe.ts";
import type { ReadLimit } from "./read_limit.ts";
import { COSIGN_BODY_MAX, equivocationsPage, witnessCosign, witnessLast } from "./witness_routes.ts";
import {
  CBOR_SEQ,
  cborResponse,
  ClientGoneError,
  errorResponse,
  jsonResponse,
  Query,
  requestTarget,
  textResponse,
} from "./http.ts";

export const STREAM_PAGE_MAX = 256;
/** Items a /stream page reads from the store at once, at most (fewer when items are large). */
const STREAM_BATCH_MAX = 64;
/** Request header naming the auth_ref (64 hex) an attachment upload is charged to (docs/protocol.md). */
export const AUTH_REF_HEADER = "veen-auth-ref";
const CHECKPOINT_RANGE_MAX = 1024;

export interface RoutesContext {
  store: HubStore;
  /** POST /submit's stages. */
  submit: SubmitPipeline;
  admission: Admission;
  admin: AdminPlane;
  realm: Realm;
  /** Label classes in effect (GET /admin/label-class). */
  labels?: LabelPolicy;
  /** GET /profile/features (hub/features.ts). */
  features?: HubFeatures;
  /** AUTH1 label authority (GET /authority) and the role /info reports. */
  authority?: LabelAuthority;
  metrics: Metrics;
  log: Logger;
  limits: Limits;
  /** Bounds on reading request bodies (count, per peer, reserved bytes, idle and total time). */
  bodies: BodyLimits;
  /** A /stream page ends before the item that would take it beyond this many bytes; it always has one item. */
  streamPageBytes: number;
  hubPk: Uint8Array;
  profileId: Uint8Array;
  profileCbor: Uint8Array;
  routingKey: Uint8Array;
  /** GET /kex-policy (hub/kex_policy.ts). */
  kexPolicy: KexPolicy;
  version: string;
  dataDir: string;
  isReady: () => boolean;
  lastLabel: () => Uint8Array | undefined;
  now: () => number;
  /** The proof-of-work gate of /submit (GET /pow/challenge issues its challenges). */
  pow?: PowGate;
  /** The replication intake (hub/replication_routes.ts: /replicate, /replicate/checkpoint, /replication). */
  replication?: Replication;
  /** Proven equivocation, kept (hub/equivocation_log.ts); without it proofs are only logged and counted. */
  equivocations?: EquivocationLog;
  /** The witness role (hub/witness.ts, POST /witness/cosign). */
  witness?: Witness;
  /** Hub-side anchoring (hub/anchorer.ts, GET /anchor); absent when `anchor_backend` is not set. */
  anchors?: Anchorer;
  /** POST /admin/backup (hub/backup_route.ts); absent when the store cannot be backed up. */
  backup?: BackupService;
  /** POST /checkpoint/now (hub/checkpoint_now.ts): the CBOR answer to an admin's checkpoint request. */
  checkpointNow?: (body: Uint8Array) => Promise<Uint8Array>;
  /** COMP0.3 read rate limit of the unauthenticated export reads (hub/read_limit.ts). */
  reads?: ReadLimit;
  /** A tenant's authority hub, which /readyz asks (hub/authority_probe.ts). */
  authorityProbe?: AuthorityProbe;
  /** Gauges computed when /metrics is read (readiness, checkpoint age, replication lag). */
  gauges?: () => Record<string, number>;
}

/** Largest checkpoint request body: 64 labels and the fixed fields fit well within it. */
const CHECKPOINT_REQUEST_MAX = 4096;

export class Routes {
  private readonly hubIdHex: string;
  private readonly replication: ReplicationRoutesContext;

  constructor(private readonly c: RoutesContext) {
    this.hubIdHex = toHex(hubIdFor(c.hubPk));
    this.replication = {
      replication: c.replication,
      store: c.store,
      now: c.now,
      maxMsgBytes: c.limits.maxMsgBytes,
      body: (req, max, peer) => c.bodies.read(req, max, peer),
    };
  }

  /** Entry point for Deno.serve; `peer` is the client's address (body-read bounds per peer). Never throws. */
  async handle(req: Request, peer = ""): Promise<Response> {
    const { path, query } = requestTarget(req.url);
    try {
      return await this.route(req, path, query, peer);
    } catch (e) {
      if (e instanceof ClientGoneError) return this.clientGone(path, e);
      const err = asVeenError(e, "E.UNAVAILABLE", "Internal error");
      if (!(e instanceof VeenError)) {
        this.c.log.error("internal error", { path, error: String(e) });
      }
      return errorResponse(err);
    }
  }

  /** A client that went away mid-body: counted apart, logged at debug; the answer has nobody to reach. */
  private clientGone(path: string, e: ClientGoneError): Response {
    this.c.metrics.clientGone++;
    this.c.log.debug("client went away", { path, detail: e.message });
    return new Response(null, { status: 400 });
  }

  /** The request body, read within the body-read bounds (hub/body_limits.ts). */
  private body(req: Request, max: number, peer: string): Promise<Uint8Array> {
    return this.c.bodies.read(req, max, peer);
  }

  private route(req: Request, p: string, query: string, peer: string): Promise<Response> | Response {
    const m = req.method;
    if (p.startsWith("/replicat")) {
      const r = replicationRoute(this.replication, req, p, new Query(new URLSearchParams(query)), peer);
      if (r !== undefined) return r;
    }
    if (m === "POST") {
      switch (p) {
        case "/submit":
          return this.submit(req, peer);
        case "/submit_batch":
          return this.submitBatch(req, peer);
        case "/authorize":
          return this.authorize(req, peer);
        case "/report_equivocation":
          return this.reportEquivocation(req, peer);
        case "/attachments":
          return this.putAttachment(req, peer);
        case "/witness/cosign":
          return this.cosign(req, peer);
        case BACKUP_PATH:
          return this.need(this.c.backup, "backup route").handle(req);
        case "/checkpoint/now":
          return this.checkpointNow(req, peer);
      }
    } else if (m === "GET" || m === "HEAD") {
      this.c.reads?.check(p, peer);
      const q = new Query(new URLSearchParams(query));
      switch (p) {
        case "/stream":
          return this.stream(q);
        case "/receipt":
          return this.receipt(q);
        case "/proof":
          return this.proof(q);
        case "/consistency":
          return this.consistency(q);
        case "/checkpoint_latest":
          return this.checkpointLatest(q);
        case "/checkpoint_range":
          return this.checkpointRange(q);
        case "/anchor":
          return this.anchor(q);
        case "/healthz":
          return this.healthz(q);
        case "/readyz":
          return this.readyz();
        case "/metrics":
          return this.metricsText();
        case "/authorize":
          return this.authorizationStatus(q);
        case "/info":
          return this.info();
        case "/profile":
          return cborResponse(this.c.profileCbor);
        case "/pow/challenge":
          return this.powChallenge(q);
        case "/admission":
          return jsonResponse({ stages: this.c.submit.stageReports() });
        case "/admission/log":
          return this.admissionLog(q);
        case "/kex-policy":
          return jsonResponse(kexPolicyJson(this.c.kexPolicy));
        case "/cap":
          return this.capToken(q);
        case "/equivocations":
          return equivocationsPage(this.need(this.c.equivocations, "equivocation log"), q);
        case "/witness/last":
          return witnessLast(this.need(this.c.witness, "witness role"), q);
      }
      if (p.startsWith("/attachments/")) return this.getAttachment(p.slice("/attachments/".length));
      const admin = adminRoute(this.c, p, q);
      if (admin !== undefined) return admin;
    }
    throw new VeenError("E.NOT_FOUND", `No route ${m} ${p}`);
  }

  // ---- submit: hub/submit_pipeline.ts ----

  /** The RECEIPT, or the refusal of the first stage that refused (no async frame of its own: the hot path). */
  private submit(req: Request, peer: string): Promise<Response> {
    return this.c.submit.submit(req, peer).then(receiptResponse, this.submitRefused);
  }

  /** One CBOR(RECEIPT) or error body per MSG (200), or the refusal of the whole request. */
  private submitBatch(req: Request, peer: string): Promise<Response> {
    return this.c.submit.submitBatch(req, peer).then((b) => cborResponse(b, CBOR_SEQ), this.submitRefused);
  }

  private readonly submitRefused = (e: unknown): Response =>
    e instanceof ClientGoneError
      ? this.clientGone("/submit", e)
      : errorResponse(asVeenError(e, "E.UNAVAILABLE", "Internal error"));

  // ---- reads ----

  private head(label: Uint8Array) {
    const h = this.c.store.head(label);
    if (h === undefined) throw new VeenError("E.NOT_FOUND", `Label ${toHex(label)} has no entries`);
    return h;
  }

  /**
   * GET /stream: a CBOR sequence of [RECEIPT, MSG] (or [RECEIPT, MSG, mmr_proof]) from `from`, at most `limit`
   * items and at most streamPageBytes bytes (always at least one item). The page is read from the store in small
   * batches and streamed, so a page of large items is never built in memory; a page that fits in its first batch
   * is sent whole. A read failure after the first batch ends the page early (the client asks again from there).
   */
  private async stream(q: Query): Promise<Response> {
    const label = q.label();
    const from = Math.max(1, q.uint("from", 1));
    const head = this.c.store.head(label);
    const last = head?.seq ?? 0;
    const to = Math.min(q.uint("to", last), last);
    const limit = Math.min(Math.max(1, q.uint("limit", STREAM_PAGE_MAX)), STREAM_PAGE_MAX);
    if (from > to) return cborResponse(new Uint8Array(0), CBOR_SEQ);
    const page = new StreamPage(this.c.store, label, from, Math.min(to, from + limit - 1), {
      withProof: q.flag("with_proof"),
      maxBytes: this.c.streamPageBytes,
    });
    const first = await page.next();
    if (page.done) return cborResponse(first, CBOR_SEQ);
    const log = this.c.log;
    return new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(first);
        },
        async pull(c) {
          try {
            const chunk = await page.next();
            if (chunk.length > 0) c.enqueue(chunk);
          } catch (e) {
            log.warn("stream page ended early", { error: String(e) });
            page.done = true;
          }
          if (page.done) c.close();
        },
      }),
      { status: 200, headers: { "content-type": CBOR_SEQ } },
    );
  }

  private async receipt(q: Query): Promise<Response> {
    const label = q.label();
    const seq = q.uint("seq");
    const h = this.head(label);
    if (seq < 1 || seq > h.seq) {
      throw new VeenError("E.NOT_FOUND", `No stream_seq ${seq} (label has ${h.seq})`);
    }
    if (this.c.store.readReceipt) return cborResponse(await this.c.store.readReceipt(label, seq));
    const [it] = await this.c.store.readRange(label, seq, seq, 1);
    if (it === undefined) throw new VeenError("E.NOT_FOUND", `Entry ${seq} is not retained`);
    return cborResponse(it.receipt);
  }

  private async proof(q: Query): Promise<Response> {
    const label = q.label();
    const h = this.head(label);
    const seq = q.uint("seq");
    const size = q.uint("size", h.seq);
    if (size > h.seq) {
      throw new VeenError("E.NOT_FOUND", `Size ${size} is beyond the label's ${h.seq} entries`);
    }
    if (seq < 1 || seq > size) {
      throw new VeenError("E.NOT_FOUND", `No stream_seq ${seq} in an MMR of ${size}`);
    }
    const reader = this.c.store.nodeReader(label);
    const proof = await inclusionProof(reader, seq, size);
    const root = size === h.seq ? h.root : mmrRoot(await peaksAt(reader, size));
    return cborResponse(concat(ARRAY3, encodeMmrProof(proof), encodeCbor(size), encodeCbor(root)));
  }

  private async consistency(q: Query): Promise<Response> {
    const label = q.label();
    const h = this.head(label);
    const from = q.uint("from");
    const to = q.uint("to", h.seq);
    if (from < 1 || from > to || to > h.seq) {
      throw new VeenError("E.NOT_FOUND", `No consistency proof from ${from} to ${to} (label has ${h.seq})`);
    }
    const proof = await consistencyProof(this.c.store.nodeReader(label), from, to);
    return cborResponse(encodeConsistencyProof(proof));
  }

  private async checkpointLatest(q: Query): Promise<Response> {
    const label = q.label();
    const cp = await this.c.store.latestCheckpoint(label);
    if (cp === undefined) throw new VeenError("E.NOT_FOUND", `No checkpoint for label ${toHex(label)}`);
    return cborResponse(cp);
  }

  /** ANCHOR0.2: the label's latest anchor_ref with the CHECKPOINT it anchors. */
  private anchor(q: Query): Response {
    const label = q.label();
    const a = this.c.anchors?.latest(label);
    if (a === undefined) throw new VeenError("E.NOT_FOUND", `No anchor for label ${toHex(label)}`);
    const c = decodeCheckpoint(a.checkpoint);
    return jsonResponse({
      label: toHex(label),
      upto_seq: a.uptoSeq,
      epoch: c.epoch,
      mmr_root: toHex(c.mmrRoot),
      anchor_ref: toHex(a.anchorRef),
      anchored_at: a.anchoredAt,
      checkpoint: toHex(a.checkpoint),
    });
  }

  private async checkpointRange(q: Query): Promise<Response> {
    const label = q.label();
    const min = q.uint("epoch_min", 0);
    const max = q.uint("epoch_max", Number.MAX_SAFE_INTEGER);
    const cps = await this.c.store.checkpointsByEpoch(label, min, max, CHECKPOINT_RANGE_MAX);
    return cborResponse(concat(...cps), CBOR_SEQ);
  }

  // ---- control ----

  private async authorize(req: Request, peer: string): Promise<Response> {
    const body = await this.body(req, 64 * 1024, peer);
    const now = Math.floor(this.c.now() / 1000);
    const revoked = this.c.admin.tokenRevoked(body, now);
    if (revoked !== undefined) {
      throw new VeenError("E.AUTH", `Capability is revoked (${revoked.kind}, stream_seq ${revoked.seq})`);
    }
    const rec = await this.c.admission.authorize(body, now);
    this.c.log.info("authorize", { auth_ref: toHex(rec.authRef).slice(0, 8), expires_at: rec.expiresAt });
    return cborResponse(
      encodeCbor(new Map<string, CborValue>([["auth_ref", rec.authRef], ["expires_at", rec.expiresAt]])),
    );
  }

  /**
   * GET /authorize?auth_ref=HEX: the hub's view of an admission record (for `veen cap status`): known, currently
   * valid (unexpired and not revoked), and the revocation in force (of the auth_ref, its token or its subject).
   */
  private async authorizationStatus(q: Query): Promise<Response> {
    const ref = q.label("auth_ref");
    const rec = await this.c.admission.record(ref);
    if (rec === undefined) {
      throw new VeenError("E.NOT_FOUND", `No admission record for auth_ref ${toHex(ref)}`);
    }
    const now = Math.floor(this.c.now() / 1000);
    const r = await this.c.admin.revocationFor(rec.subjectPk, ref, now);
    const rj = r === undefined ? undefined : revocationJson(r, now);
    return cborResponse(encodeCbor(
      new Map<string, CborValue>([
        ["known", true],
        ["currently_valid", now <= rec.expiresAt && r === undefined],
        ["revoked", r !== undefined],
        ["issued_at", rec.issuedAt],
        ["expires_at", rec.expiresAt],
        ["revocation_kind", r?.kind ?? null],
        ["revocation_ts", r?.ts ?? null],
        ["reason", (rj?.reason as string | null | undefined) ?? null],
      ]),
    ));
  }

  /** GET /cap?auth_ref=HEX: the stored CBOR(cap_token) of an authorized cap (OVERLAY-DECISIONS, S:558). */
  private async capToken(q: Query): Promise<Response> {
    const ref = q.label("auth_ref");
    const rec = await this.c.admission.record(ref);
    if (rec === undefined) throw new VeenError("E.NOT_FOUND", `No authorized cap for auth_ref ${toHex(ref)}`);
    return cborResponse(rec.capToken);
  }

  /**
   * POST /report_equivocation `[statement, statement]` (RECEIPTs or CHECKPOINTs, core/equivocation.ts): answers
   * `{"ok": true, "equivocation": true, "label", "stream_seq", "stored"}` when they prove this hub forked a label
   * (logged at error level, counted in veen_equivocation_proven_total and, the first time for its position, stored
   * durably before the answer: `stored` is true then), else `{"ok": false, "equivocation": false}`.
   */
  private async reportEquivocation(req: Request, peer: string): Promise<Response> {
    const body = await this.body(req, 4096, peer);
    const report = decodeCbor(body, "equivocation report");
    const [a, b] = decodeEquivocationReport(report);
    this.c.metrics.equivocationReports++;
    const proven = equivocation(a, b, this.c.hubPk);
    const answer = new Map<string, CborValue>([["ok", proven !== undefined], [
      "equivocation",
      proven !== undefined,
    ]]);
    if (proven !== undefined) {
      this.c.metrics.equivocationProven++;
      this.c.log.error("equivocation proven", { label: toHex(proven.label), stream_seq: proven.seq });
      answer.set("label", proven.label);
      answer.set("stream_seq", proven.seq);
      const [ra, rb] = report as CborValue[];
      const stored = await this.c.equivocations?.record({
        label: proven.label,
        seq: proven.seq,
        a: encodeCbor(ra!),
        b: encodeCbor(rb!),
        reportedAt: Math.floor(this.c.now() / 1000),
      });
      answer.set("stored", stored === true);
    }
    return cborResponse(encodeCbor(answer));
  }

  /** POST /checkpoint/now (hub/checkpoint_now.ts). */
  private async checkpointNow(req: Request, peer: string): Promise<Response> {
    const f = this.c.checkpointNow;
    if (f === undefined) throw new VeenError("E.NOT_FOUND", "No route POST /checkpoint/now");
    return cborResponse(await f(await this.body(req, CHECKPOINT_REQUEST_MAX, peer)));
  }

  /** POST /witness/cosign (hub/witness_routes.ts). */
  private async cosign(req: Request, peer: string): Promise<Response> {
    const w = this.need(this.c.witness, "witness role");
    return witnessCosign(w, await this.body(req, COSIGN_BODY_MAX, peer));
  }

  private need<T>(v: T | undefined, what: string): T {
    if (v === undefined) throw new VeenError("E.NOT_FOUND", `This hub has no ${what}`);
    return v;
  }

  /**
   * POST /attachments (docs/protocol.md "Attachments"): the `veen-auth-ref` header is checked (admission) before
   * the body is read; the store charges the upload to it and collects it unless a MSG claims it in time.
   */
  private async putAttachment(req: Request, peer: string): Promise<Response> {
    const header = req.headers.get(AUTH_REF_HEADER);
    let owner: Uint8Array | null = null;
    if (header !== null) {
      if (!/^[0-9a-f]{64}$/.test(header)) {
        throw new VeenError("E.AUTH", `The ${AUTH_REF_HEADER} header must be 64 lower-case hex digits`);
      }
      owner = fromHex(header, 32, AUTH_REF_HEADER);
    }
    const nowMs = this.c.now();
    await this.c.admission.checkUpload(owner, Math.floor(nowMs / 1000), nowMs);
    const body = await this.body(req, this.c.limits.maxAttachmentBytes, peer);
    const coid = await this.c.store.putAttachment(body, { owner, nowSec: Math.floor(nowMs / 1000) });
    return cborResponse(encodeCbor(new Map<string, CborValue>([["coid", coid]])));
  }

  private async getAttachment(hex: string): Promise<Response> {
    const coid = fromHex(hex, 32, "coid");
    const bytes = await this.c.store.getAttachment(coid);
    if (bytes === undefined) throw new VeenError("E.NOT_FOUND", `No attachment ${hex}`);
    return cborResponse(bytes, "application/octet-stream");
  }

  private healthz(q: Query): Response {
    const label = q.has("label") ? q.label() : this.c.lastLabel();
    const h = label === undefined ? undefined : this.c.store.head(label);
    return jsonResponse(
      {
        ok: this.c.isReady(),
        profile_id: toHex(this.c.profileId),
        peaks_count: h?.peaks.length ?? 0,
        last_stream_seq: h?.seq ?? 0,
        last_mmr_root: toHex(h?.root ?? new Uint8Array(32)),
      },
      this.c.isReady() ? 200 : 503,
    );
  }

  private info(): Response {
    const st = this.c.store.stats();
    return jsonResponse({
      hub_pk: toHex(this.c.hubPk),
      hub_id: this.hubIdHex,
      profile_id: toHex(this.c.profileId),
      version: this.c.version,
      role: this.c.authority?.role ?? "standalone",
      max_msg_bytes: this.c.limits.maxMsgBytes,
      max_batch_items: this.c.submit.maxBatchItems,
      max_batch_bytes: this.c.submit.maxBatchBytes,
      admission: this.c.admission.required,
      pow_difficulty: this.c.pow?.difficulty ?? 0,
      routing_key_hex: toHex(this.c.routingKey),
      uptime_sec: Math.floor((Date.now() - this.c.metrics.startedAt) / 1000),
      data_dir: this.c.dataDir,
      labels: st.labels,
      entries: st.entries,
      equivocations: this.c.equivocations?.count ?? 0,
      ...(this.c.store.retentionStatus ? { retention: this.c.store.retentionStatus() } : {}),
      ...(this.c.store.attachmentStatus ? { attachments: this.c.store.attachmentStatus() } : {}),
    });
  }

  // ---- SH1+ (docs/protocol.md "Admission stages", "Proof of work") ----

  /** GET /pow/challenge[?difficulty=D]: `{challenge, difficulty, expires_at}` (hub/pow_gate.ts). */
  private powChallenge(q: Query): Response {
    const pow = this.c.pow ?? new PowGate(0, this.c.now);
    return jsonResponse(challengeJson(pow.issue(q.uint("difficulty", 0))));
  }

  /** GET /admission/log[?limit=N][&codes=E.X,E.Y]: `{events: [...]}`, the most recent refusals, oldest first. */
  private admissionLog(q: Query): Response {
    const limit = Math.min(Math.max(1, q.uint("limit", 100)), ADMISSION_LOG_MAX);
    const codes = q.str("codes");
    const set = codes === undefined || codes === ""
      ? undefined
      : new Set(codes.split(",").map((c) => c.trim()));
    return jsonResponse({ events: this.c.submit.stats.log(limit, set) });
  }

  /** GET /readyz: 200 when this hub serves and, with `authority_url`, its authority answers (spec 000 §10.1). */
  private async readyz(): Promise<Response> {
    if (!this.c.isReady()) return errorResponse(new VeenError("E.UNAVAILABLE", "Not ready"));
    const problem = await this.c.authorityProbe?.problem();
    if (problem !== undefined) {
      return errorResponse(new VeenError("E.UNAVAILABLE", problem, { retryAfter: 2 }));
    }
    return textResponse("ready\n");
  }

  private metricsText(): Response {
    const st = this.c.store.stats();
    return textResponse(
      this.c.metrics.render({
        veen_labels: st.labels,
        veen_log_entries: st.entries,
        veen_log_bytes: st.logBytes,
        veen_equivocation_stored: this.c.equivocations?.count ?? 0,
        ...this.c.gauges?.(),
      }),
      200,
      "text/plain; version=0.0.4",
    );
  }
}

/** The items of one /stream page, encoded batch by batch within the page's byte bound. */
class StreamPage {
  done = false;
  #next: number;
  #bytes = 0;
  readonly #reader;

  constructor(
    private readonly store: HubStore,
    private readonly label: Uint8Array,
    from: number,
    private readonly to: number,
    private readonly o: { withProof: boolean; maxBytes: number },
  ) {
    this.#next = from;
    this.#reader = store.nodeReader(label);
  }

  /** The next batch's bytes; sets `done` when the page is complete. */
  async next(): Promise<Uint8Array> {
    // The store stops the batch at the bytes left (judged before reading), so a batch never holds more than that.
    const left = Math.max(1, this.o.maxBytes - this.#bytes);
    const n = Math.min(this.to - this.#next + 1, STREAM_BATCH_MAX);
    const items = await this.store.readRange(this.label, this.#next, this.#next + n - 1, n, left);
    const parts: Uint8Array[] = [];
    for (const it of items) {
      const proof = this.o.withProof
        ? encodeMmrProof(await inclusionProof(this.#reader, it.streamSeq, it.streamSeq))
        : undefined;
      const size = 1 + it.receipt.length + it.msg.length + (proof?.length ?? 0);
      if (this.#bytes > 0 && this.#bytes + size > this.o.maxBytes) {
        this.done = true;
        break;
      }
      if (proof === undefined) parts.push(ARRAY2, it.receipt, it.msg);
      else parts.push(ARRAY3, it.receipt, it.msg, proof);
      this.#bytes += size;
      this.#next++;
    }
    if (items.length === 0 || this.#next > this.to || this.#bytes >= this.o.maxBytes) this.done = true;
    return concat(...parts);
  }
}

const receiptResponse = (receipt: Uint8Array): Response => cborResponse(receipt);
const ARRAY2 = new Uint8Array([0x82]);
const ARRAY3 = new Uint8Array([0x83]);
