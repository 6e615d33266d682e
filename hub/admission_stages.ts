/**
 * What `GET /admission` and `GET /admission/log` report about the submit stages (spec 002 §5.1, CLI-GOALS-2
 * `hub admission`, `hub admission-log`; docs/protocol.md "Admission stages"): the four stage names and their
 * responsibilities, per stage and code the share of recent submissions refused there, and a bounded ring of
 * recent refusals without payloads.
 *
 * "Recent" is the last {@link RECENT_WINDOW_SEC} seconds of hub time, kept in one bucket per second: a stage's
 * rate for a code is (refusals with that code at that stage) / (submissions received), both over the window; null
 * when no submission was received in it. Memory is constant: 60 buckets and {@link ADMISSION_LOG_MAX} events.
 */
import { toHex } from "../core/mod.ts";

export const STAGE_NAMES = [
  "stage0-prefilter",
  "stage1-structure",
  "stage2-crypto-auth",
  "stage3-commit",
] as const;
export type StageName = typeof STAGE_NAMES[number];

/** What each stage checks, in order (the `responsibilities` of `hub admission`). */
export const STAGE_RESPONSIBILITIES: Readonly<Record<StageName, readonly string[]>> = {
  "stage0-prefilter": [
    "hub ready (E.UNAVAILABLE)",
    "declared Content-Length within max_msg_bytes (E.SIZE)",
    "peer address against ip_allow / ip_deny (E.AUTH)",
    "Veen-PoW cookie when pow_difficulty > 0 (E.AUTH)",
    "body read within max_msg_bytes and the body-read bounds (E.SIZE, E.UNAVAILABLE)",
  ],
  "stage1-structure": [
    "canonical CBOR(MSG), field types and sizes (E.SIZE)",
    "profile_id (E.PROFILE)",
    "ciphertext framing within MAX_HDR_BYTES and MAX_BODY_BYTES, ct_hash (I1) (E.SIZE)",
  ],
  "stage2-crypto-auth": [
    "MSG.sig under client_id (E.SIG)",
    "capability via auth_ref when admission is on (E.AUTH, E.CAP, E.TIME)",
    "label authority, AUTH1: not primary for label (E.AUTH)",
    "rate limit of the capability (E.RATE, taken at sequencing)",
  ],
  "stage3-commit": [
    "client_seq and prev_ack (E.SEQ, E.DUP)",
    "MMR append, RECEIPT signature, durable group commit (E.UNAVAILABLE)",
  ],
};

/** The codes `hub admission` reports a rate for, per stage. */
export const REPORTED_CODES = ["E.SIZE", "E.SIG", "E.AUTH", "E.CAP", "E.RATE"] as const;
export const RECENT_WINDOW_SEC = 60;
export const ADMISSION_LOG_MAX = 1024;
/** Longest detail kept per event. */
const DETAIL_MAX = 200;

/** One refused submission, as `GET /admission/log` lists it. */
export interface AdmissionEvent {
  /** Hub time, Unix seconds. */
  ts: number;
  code: string;
  stage: StageName;
  /** First 8 hex characters of MSG.label; null when the MSG was not decoded. */
  label_prefix: string | null;
  client_id_prefix: string | null;
  detail: string;
}

interface Bucket {
  sec: number;
  received: number;
  /** "stage code" → refusals. */
  refused: Map<string, number>;
}

export class AdmissionStats {
  readonly #buckets: Bucket[] = [];
  readonly #ring: (AdmissionEvent | undefined)[] = new Array(ADMISSION_LOG_MAX);
  #next = 0;
  #count = 0;

  /** `now`: hub clock in milliseconds. */
  constructor(private readonly now: () => number) {
    for (let i = 0; i < RECENT_WINDOW_SEC; i++) {
      this.#buckets.push({ sec: -1, received: 0, refused: new Map() });
    }
  }

  #bucket(sec: number): Bucket {
    const b = this.#buckets[sec % RECENT_WINDOW_SEC]!;
    if (b.sec !== sec) {
      b.sec = sec;
      b.received = 0;
      b.refused.clear();
    }
    return b;
  }

  /** One submission entered stage 0. */
  received(): void {
    this.#bucket(Math.floor(this.now() / 1000)).received++;
  }

  /** One submission refused at `stage` with `code`; `label`/`clientId` when the MSG was decoded. */
  refused(
    stage: StageName,
    code: string,
    detail: string,
    msg?: { label: Uint8Array; clientId: Uint8Array },
  ): void {
    const sec = Math.floor(this.now() / 1000);
    const b = this.#bucket(sec);
    const k = `${stage} ${code}`;
    b.refused.set(k, (b.refused.get(k) ?? 0) + 1);
    this.#ring[this.#next] = {
      ts: sec,
      code,
      stage,
      label_prefix: msg === undefined ? null : toHex(msg.label.subarray(0, 4)),
      client_id_prefix: msg === undefined ? null : toHex(msg.clientId.subarray(0, 4)),
      detail: detail.length > DETAIL_MAX ? detail.slice(0, DETAIL_MAX - 1) + "…" : detail,
    };
    this.#next = (this.#next + 1) % ADMISSION_LOG_MAX;
    this.#count = Math.min(this.#count + 1, ADMISSION_LOG_MAX);
  }

  /** Per code of REPORTED_CODES: the share of recent submissions refused with it at `stage` (null: none received). */
  errRates(stage: StageName): Record<string, number | null> {
    const from = Math.floor(this.now() / 1000) - RECENT_WINDOW_SEC + 1;
    let received = 0;
    const refused = new Map<string, number>();
    for (const b of this.#buckets) {
      if (b.sec < from) continue;
      received += b.received;
      for (const code of REPORTED_CODES) {
        refused.set(code, (refused.get(code) ?? 0) + (b.refused.get(`${stage} ${code}`) ?? 0));
      }
    }
    const out: Record<string, number | null> = {};
    for (const code of REPORTED_CODES) {
      out[code] = received === 0 ? null : Math.round((refused.get(code)! / received) * 1e6) / 1e6;
    }
    return out;
  }

  /** The most recent `limit` refusals (oldest first), only those with a code in `codes` when given. */
  log(limit: number, codes?: ReadonlySet<string>): AdmissionEvent[] {
    const out: AdmissionEvent[] = [];
    for (let i = 1; i <= this.#count && out.length < limit; i++) {
      const e = this.#ring[(this.#next - i + ADMISSION_LOG_MAX) % ADMISSION_LOG_MAX]!;
      if (codes === undefined || codes.has(e.code)) out.push(e);
    }
    return out.reverse();
  }
}
