/**
 * Authorization of the hub's operator routes (`POST /admin/backup`, docs/operations.md "Back up and restore"): the
 * request carries `veen-admin-auth: TS.NONCE.SIG` where TS is the caller's time (s), NONCE 16 random bytes (hex) and
 * SIG = Ed25519 under the hub's own key over `Ht("veen/admin-request", utf8("METHOD PATH"), u64be(TS), NONCE)`.
 * A backup holds the hub key, so only a caller that already holds that key (the operator, through `DIR/hub_key`)
 * may ask for one. Refused with E.AUTH: a missing or malformed header, a TS more than {@link ADMIN_AUTH_SKEW_SEC}
 * from the hub's clock, a nonce seen within the window (no replay), a signature that does not verify.
 */
import {
  ed25519Sign,
  ed25519Verify,
  fromHex,
  Ht,
  type SigningKey,
  toHex,
  u64be,
  utf8,
  VeenError,
} from "../core/mod.ts";

export const ADMIN_AUTH_HEADER = "veen-admin-auth";
/** Largest accepted distance between the request's TS and the hub's clock. */
export const ADMIN_AUTH_SKEW_SEC = 300;
/** Nonces remembered at once (a flood of signed requests is refused instead of growing the set). */
const NONCES_MAX = 4096;

function digest(method: string, path: string, ts: number, nonce: Uint8Array): Uint8Array {
  return Ht("veen/admin-request", utf8(`${method} ${path}`), u64be(ts), nonce);
}

/** The header value authorizing `METHOD PATH` at `nowSec` with `key` (the hub's key). */
export function signAdminRequest(key: SigningKey, method: string, path: string, nowSec: number): string {
  const nonce = crypto.getRandomValues(new Uint8Array(16));
  const sig = ed25519Sign(key.secret, digest(method, path, nowSec, nonce));
  return `${nowSec}.${toHex(nonce)}.${toHex(sig)}`;
}

/** Checks operator requests against the hub's public key. */
export class AdminAuth {
  readonly #nonces = new Map<string, number>();

  constructor(private readonly hubPk: Uint8Array, private readonly now: () => number) {}

  /** Throws E.AUTH unless `header` authorizes `METHOD PATH` now. */
  check(header: string | null, method: string, path: string): void {
    const refuse = (why: string) => new VeenError("E.AUTH", `Operator route ${path} refused: ${why}`);
    if (header === null) throw refuse(`no ${ADMIN_AUTH_HEADER} header (sign with the hub key)`);
    const m = /^([0-9]{1,15})\.([0-9a-f]{32})\.([0-9a-f]{128})$/.exec(header);
    if (m === null) throw refuse(`malformed ${ADMIN_AUTH_HEADER} header`);
    const ts = Number(m[1]);
    const nowSec = Math.floor(this.now() / 1000);
    if (Math.abs(nowSec - ts) > ADMIN_AUTH_SKEW_SEC) {
      throw refuse(`time ${ts} is more than ${ADMIN_AUTH_SKEW_SEC} s from the hub's ${nowSec}`);
    }
    const nonce = fromHex(m[2]!, 16, "nonce");
    if (!ed25519Verify(this.hubPk, digest(method, path, ts, nonce), fromHex(m[3]!, 64, "signature"))) {
      throw refuse("the signature does not verify under the hub key");
    }
    for (const [n, exp] of this.#nonces) if (exp < nowSec) this.#nonces.delete(n);
    if (this.#nonces.has(m[2]!)) throw refuse("the request was already used");
    if (this.#nonces.size >= NONCES_MAX) throw new VeenError("E.RATE", `Too many operator requests`);
    this.#nonces.set(m[2]!, ts + 2 * ADMIN_AUTH_SKEW_SEC);
  }
}
