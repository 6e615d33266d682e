/**
 * The hub's proof-of-work gate (spec 002 §5.2, overlay decisions "SH1+ and PoW", docs/protocol.md "Proof of
 * work"). Challenges are stateless: 32 bytes
 *
 *     u64be(expires_at) || u8(difficulty) || 7 random bytes || Ht("veen/pow-challenge", secret || those 16 bytes)[0..16]
 *
 * where `secret` is 32 random bytes drawn when the hub starts (challenges do not survive a restart, and another
 * hub's challenges fail the tag). A cookie passes when the tag verifies, `now < expires_at`, the challenge's
 * difficulty is at least the hub's, the cookie solves that difficulty (core/pow.ts) and the (challenge, nonce)
 * pair was not used before. Used pairs are kept only until their challenge expires (at most
 * {@link POW_CHALLENGE_TTL_SEC}), in one bucket per expiry second, so memory is bounded by the solutions clients
 * paid for within five minutes (and by {@link USED_MAX}). Every refusal is E.AUTH with a detail naming the cause.
 */
import {
  bytesEqual,
  concat,
  formatPowCookie,
  Ht,
  parsePowCookie,
  POW_DIFFICULTY_MAX,
  POW_HEADER,
  powValid,
  toHex,
  u64be,
  VeenError,
} from "../core/mod.ts";

/** Lifetime of a challenge: at most five minutes (overlay decisions). */
export const POW_CHALLENGE_TTL_SEC = 300;
/** Used (challenge, nonce) pairs kept at most; beyond it cookies are refused with 503 until some expire. */
const USED_MAX = 1_000_000;
const TAG_LEN = 16;

export interface PowChallenge {
  challenge: Uint8Array;
  difficulty: number;
  /** Unix seconds; the challenge is valid while `now < expires_at`. */
  expiresAt: number;
}

export class PowGate {
  readonly #secret: Uint8Array;
  /** expiry second → keys of the pairs used with challenges expiring then. */
  readonly #buckets = new Map<number, string[]>();
  readonly #used = new Set<string>();
  /** Every bucket below this second has been swept. */
  #swept = 0;

  /**
   * `difficulty`: the hub's required difficulty (0: PoW off, `check` is never called); `now` is the hub clock in
   * milliseconds; `secret` defaults to 32 random bytes.
   */
  constructor(
    readonly difficulty: number,
    private readonly now: () => number,
    secret: Uint8Array = crypto.getRandomValues(new Uint8Array(32)),
  ) {
    this.#secret = secret;
  }

  /** Whether submits need a cookie. */
  get required(): boolean {
    return this.difficulty > 0;
  }

  /** Used pairs remembered now. */
  get usedCount(): number {
    return this.#used.size;
  }

  /** A fresh challenge of max(requested, the hub's difficulty) (E.SIZE beyond POW_DIFFICULTY_MAX). */
  issue(requested = 0): PowChallenge {
    if (requested > POW_DIFFICULTY_MAX) {
      throw new VeenError("E.SIZE", `PoW difficulty ${requested} exceeds ${POW_DIFFICULTY_MAX}`);
    }
    const difficulty = Math.max(requested, this.difficulty);
    const expiresAt = Math.floor(this.now() / 1000) + POW_CHALLENGE_TTL_SEC;
    const head = concat(
      u64be(expiresAt),
      new Uint8Array([difficulty]),
      crypto.getRandomValues(new Uint8Array(7)),
    );
    return { challenge: concat(head, this.#tag(head)), difficulty, expiresAt };
  }

  /** Checks and consumes the `Veen-PoW` header value of one request (403 E.AUTH when missing or bad). */
  check(header: string | null): void {
    if (header === null) {
      throw new VeenError(
        "E.AUTH",
        `This hub requires proof of work (difficulty ${this.difficulty}): send a ${POW_HEADER} header ` +
          "(GET /pow/challenge, then solve)",
      );
    }
    const cookie = parsePowCookie(header);
    const c = cookie.challenge;
    if (!bytesEqual(c.subarray(16), this.#tag(c.subarray(0, 16)))) {
      throw new VeenError("E.AUTH", "PoW challenge was not issued by this hub (or the hub restarted)");
    }
    const expiresAt = Number(new DataView(c.buffer, c.byteOffset).getBigUint64(0));
    const difficulty = c[8]!;
    const nowSec = Math.floor(this.now() / 1000);
    if (nowSec >= expiresAt) throw new VeenError("E.AUTH", `PoW challenge expired at ${expiresAt}`);
    if (difficulty < this.difficulty) {
      throw new VeenError(
        "E.AUTH",
        `PoW challenge difficulty ${difficulty} is below the hub's difficulty ${this.difficulty}`,
      );
    }
    if (!powValid(c, cookie.nonce, difficulty)) {
      throw new VeenError("E.AUTH", `PoW nonce ${cookie.nonce} does not solve difficulty ${difficulty}`);
    }
    this.#sweep(nowSec);
    const key = formatPowCookie(cookie);
    if (this.#used.has(key)) throw new VeenError("E.AUTH", "PoW (challenge, nonce) was already used");
    if (this.#used.size >= USED_MAX) {
      throw new VeenError("E.UNAVAILABLE", "Too many PoW cookies in use; retry later", { retryAfter: 1 });
    }
    this.#used.add(key);
    const bucket = this.#buckets.get(expiresAt);
    if (bucket === undefined) this.#buckets.set(expiresAt, [key]);
    else bucket.push(key);
  }

  #tag(head: Uint8Array): Uint8Array {
    return Ht("veen/pow-challenge", this.#secret, head).subarray(0, TAG_LEN);
  }

  /** Forgets the pairs of challenges expired by `nowSec` (at most POW_CHALLENGE_TTL_SEC buckets per call). */
  #sweep(nowSec: number): void {
    if (this.#swept === 0) this.#swept = nowSec - POW_CHALLENGE_TTL_SEC;
    const from = Math.max(this.#swept, nowSec - POW_CHALLENGE_TTL_SEC);
    for (let s = from; s <= nowSec; s++) {
      for (const k of this.#buckets.get(s) ?? []) this.#used.delete(k);
      this.#buckets.delete(s);
    }
    // Buckets older than the window (a clock jump) are dropped whole.
    if (this.#swept < from) {
      for (const s of this.#buckets.keys()) if (s < from) this.#dropBucket(s);
    }
    this.#swept = nowSec + 1;
  }

  #dropBucket(s: number): void {
    for (const k of this.#buckets.get(s) ?? []) this.#used.delete(k);
    this.#buckets.delete(s);
  }
}

/** The challenge as GET /pow/challenge answers it. */
export function challengeJson(
  c: PowChallenge,
): { challenge: string; difficulty: number; expires_at: number } {
  return { challenge: toHex(c.challenge), difficulty: c.difficulty, expires_at: c.expiresAt };
}
