/** OBS0.1 metrics in Prometheus text format: counters, gauges and fixed-bucket histograms (milliseconds). */

const BUCKETS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 5000];

class Histogram {
  readonly counts = new Array<number>(BUCKETS_MS.length + 1).fill(0);
  sum = 0;
  n = 0;
  observe(v: number): void {
    let i = 0;
    while (i < BUCKETS_MS.length && v > BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.n++;
  }
}

export class Metrics {
  submitOk = 0;
  /** POST /submit_batch requests admitted past their whole-request checks (their MSGs count one by one). */
  submitBatches = 0;
  readonly submitErr = new Map<string, number>();
  rateLimited = 0;
  anchorFail = 0;
  /** CHECKPOINT roots anchored by the hub (hub/anchorer.ts, ANCHOR0.2). */
  anchored = 0;
  /** POST /report_equivocation bodies received, and those that proved equivocation. */
  equivocationReports = 0;
  equivocationProven = 0;
  /** Witnesses that did not cosign a CHECKPOINT of this hub (hub/witness_client.ts). */
  witnessFail = 0;
  queueDepth = 0;
  /** Request bodies refused unread because the body-read bounds were reached (hub/body_limits.ts). */
  bodyBusy = 0;
  /** Request bodies abandoned because they stalled or took too long. */
  bodyTimeouts = 0;
  /** Clients that went away before their request body was complete (not a hub failure). */
  clientGone = 0;
  /** Admin-record payloads the hub tried to open (only ever for authors: hub/admin_plane.ts). */
  adminRecordOpens = 0;
  /** AUTH1: submissions refused because this hub may not order the label (hub/label_authority.ts). */
  authorityRefused = 0;
  /** AUTH1: submissions accepted on a multi-primary label (spec 002 §3.3: recorded for monitoring). */
  multiPrimaryAccepted = 0;
  /** MSG signature verifications started (SH1+ bounds first: input refused by stages 0-1 never moves it). */
  sigVerifyAttempts = 0;
  readonly verifyLatency = new Histogram();
  readonly commitLatency = new Histogram();
  readonly endToEndLatency = new Histogram();
  readonly checkpointInterval = new Histogram();
  readonly startedAt = Date.now();
  /** COMP0.3: reads refused by the read rate limit (hub/read_limit.ts). */
  readRateLimited = 0;
  /** Spec 000 §10.2: capability checks of /submit's stage 4 that passed and that failed (E.AUTH, E.CAP, E.TIME). */
  capOk = 0;
  capFail = 0;
  /** Spec 000 §10.2: entries appended per label (first 16 hex digits), at most {@link MAX_CLASS_SERIES} series. */
  readonly appends = new Map<string, number>();
  /** Spec 000 §10.2 revocation view update lag: from a revocation's `ts` to its fold into the view, in ms. */
  readonly revocationLag = new Histogram();
  /** Commits that failed and stopped the hub (the sequencer's fatal path), and repairs made when opening storage. */
  storageFailures = 0;
  storageRepairs = 0;
  /** Per label (hex): when its oldest entry without a CHECKPOINT was committed (ms); deleted by a CHECKPOINT. */
  readonly #uncheckpointed = new Map<string, number>();

  /** Accepted submissions per label class (LCLASS0), at most {@link MAX_CLASS_SERIES} series. */
  readonly submitClass = new Map<string, number>();

  /**
   * Counts an accepted submission of a label of class `cls` (`unset` when unclassified). Class names are admin text:
   * one that is not a short plain name, or beyond the first {@link MAX_CLASS_SERIES}, is counted as `other`.
   */
  countClass(cls: string | undefined): void {
    let k = cls ?? "unset";
    if (!this.submitClass.has(k) && (!CLASS_NAME_RE.test(k) || this.submitClass.size >= MAX_CLASS_SERIES)) {
      k = "other";
    }
    this.submitClass.set(k, (this.submitClass.get(k) ?? 0) + 1);
  }

  /** Counts entries appended to `labelHex` (beyond the first {@link MAX_CLASS_SERIES} labels: `other`). */
  countAppends(labelHex: string, n = 1): void {
    let k = labelHex.slice(0, 16);
    if (!this.appends.has(k) && this.appends.size >= MAX_CLASS_SERIES) k = "other";
    this.appends.set(k, (this.appends.get(k) ?? 0) + n);
  }

  /** `n` entries of `labelHex` committed at `atMs`: counted, and waiting for a CHECKPOINT. */
  committed(labelHex: string, atMs: number, n = 1): void {
    this.countAppends(labelHex, n);
    if (!this.#uncheckpointed.has(labelHex)) this.#uncheckpointed.set(labelHex, atMs);
  }

  checkpointWritten(labelHex: string): void {
    this.#uncheckpointed.delete(labelHex);
  }

  /** Seconds the oldest committed entry without a CHECKPOINT has waited (0: every label is checkpointed). */
  checkpointAgeSec(nowMs: number): number {
    let oldest = nowMs;
    for (const at of this.#uncheckpointed.values()) if (at < oldest) oldest = at;
    return Math.max(0, Math.floor((nowMs - oldest) / 1000));
  }

  countError(code: string): void {
    this.submitErr.set(code, (this.submitErr.get(code) ?? 0) + 1);
    if (code === "E.RATE") this.rateLimited++;
  }

  /** Prometheus text exposition (version 0.0.4). */
  render(extra: Record<string, number> = {}): string {
    const out: string[] = [];
    const counter = (name: string, help: string, v: number) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${v}`);
    const gauge = (name: string, help: string, v: number) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
    const hist = (name: string, help: string, h: Histogram) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      let cum = 0;
      BUCKETS_MS.forEach((b, i) => {
        cum += h.counts[i]!;
        out.push(`${name}_bucket{le="${b}"} ${cum}`);
      });
      out.push(`${name}_bucket{le="+Inf"} ${h.n}`, `${name}_sum ${round(h.sum)}`, `${name}_count ${h.n}`);
    };
    counter("veen_submit_ok_total", "Accepted submissions (receipts issued).", this.submitOk);
    counter(
      "veen_submit_batch_total",
      "POST /submit_batch requests whose MSGs went through admission.",
      this.submitBatches,
    );
    out.push(
      "# HELP veen_submit_err_total Refused submissions by error code.",
      "# TYPE veen_submit_err_total counter",
    );
    for (const [code, v] of [...this.submitErr].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`veen_submit_err_total{code="${code}"} ${v}`);
    }
    out.push(
      "# HELP veen_submit_class_total Accepted submissions by label class (unset: unclassified).",
      "# TYPE veen_submit_class_total counter",
    );
    for (const [cls, v] of [...this.submitClass].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`veen_submit_class_total{class="${cls}"} ${v}`);
    }
    hist(
      "veen_verify_latency_ms",
      "Decode, bounds and signature verification time per submission.",
      this.verifyLatency,
    );
    hist(
      "veen_commit_latency_ms",
      "Group commit time (log write, fdatasync, index) per batch.",
      this.commitLatency,
    );
    hist("veen_end_to_end_latency_ms", "Time from request body read to receipt sent.", this.endToEndLatency);
    gauge("veen_queue_depth", "Submissions waiting for the sequencer or the disk.", this.queueDepth);
    counter("veen_rate_limited_total", "Submissions refused with E.RATE.", this.rateLimited);
    hist("veen_checkpoint_interval", "Milliseconds between checkpoints of a label.", this.checkpointInterval);
    counter("veen_anchor_fail_total", "Failed anchor publications.", this.anchorFail);
    counter("veen_anchor_total", "CHECKPOINT roots anchored (ANCHOR0.2).", this.anchored);
    counter("veen_equivocation_reports_total", "Equivocation reports received.", this.equivocationReports);
    counter(
      "veen_equivocation_proven_total",
      "Equivocation reports that proved this hub signed two views of one position.",
      this.equivocationProven,
    );
    counter("veen_witness_fail_total", "Witness cosignatures asked for and not obtained.", this.witnessFail);
    counter(
      "veen_http_body_busy_total",
      "Request bodies refused unread (503) because the body-read bounds were reached.",
      this.bodyBusy,
    );
    counter(
      "veen_http_body_timeout_total",
      "Request bodies abandoned (503) because they stalled or took too long.",
      this.bodyTimeouts,
    );
    counter(
      "veen_http_client_gone_total",
      "Clients that went away before their request body was complete.",
      this.clientGone,
    );
    counter(
      "veen_admin_record_opens_total",
      "Admin-record payloads opened with the realm admin key (authors only; never before the author check).",
      this.adminRecordOpens,
    );
    counter(
      "veen_authority_refused_total",
      "Submissions refused by AUTH1 (not primary for label, or no authority record on a replica).",
      this.authorityRefused,
    );
    counter(
      "veen_multi_primary_accepted_total",
      "Submissions accepted on labels whose authority policy is multi-primary (AUTH1).",
      this.multiPrimaryAccepted,
    );
    counter(
      "veen_sig_verify_attempts_total",
      "MSG signature verifications started (submissions that passed stages 0 and 1).",
      this.sigVerifyAttempts,
    );
    counter(
      "veen_read_rate_limited_total",
      "Unauthenticated reads refused by the read rate limit (COMP0.3, 429).",
      this.readRateLimited,
    );
    out.push(
      "# HELP veen_cap_checks_total Capability checks of /submit by result (spec 000 §10.2).",
      "# TYPE veen_cap_checks_total counter",
      `veen_cap_checks_total{result="ok"} ${this.capOk}`,
      `veen_cap_checks_total{result="fail"} ${this.capFail}`,
      "# HELP veen_appends_total Entries appended per label (first 16 hex digits; other beyond 64 labels).",
      "# TYPE veen_appends_total counter",
    );
    for (const [label, v] of [...this.appends].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`veen_appends_total{label="${label}"} ${v}`);
    }
    counter(
      "veen_storage_failures_total",
      "Commits that failed on storage and stopped the hub (a supervisor restarts it).",
      this.storageFailures,
    );
    counter(
      "veen_storage_repairs_total",
      "Repairs made when opening storage (torn tails after an unclean stop).",
      this.storageRepairs,
    );
    hist(
      "veen_revocation_lag_ms",
      "Time from a revocation's ts to its fold into the revocation view (spec 000 §10.2).",
      this.revocationLag,
    );
    for (const [name, v] of Object.entries(extra)) gauge(name, name.replaceAll("_", " ") + ".", v);
    return out.join("\n") + "\n";
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** Series of veen_submit_class_total before every further class is counted as `other`. */
export const MAX_CLASS_SERIES = 64;
const CLASS_NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
