/**
 * KEX0.3 client_id deny list: the `client_id_deny` setting (hex Ed25519 keys, docs/hub-config.md). A MSG whose
 * client_id is listed is refused at the capability stage of /submit with E.AUTH, whether or not admission is on.
 */
import { toHex, VeenError } from "../core/mod.ts";

export class ClientIdDenyList {
  readonly #denied: Set<string>;

  /** `keys`: 64 hex digits each (validated by hub/config.ts), any case. */
  constructor(keys: readonly string[]) {
    this.#denied = new Set(keys.map((k) => k.toLowerCase()));
  }

  get size(): number {
    return this.#denied.size;
  }

  /** Throws E.AUTH when `clientId` is on the list. */
  check(clientId: Uint8Array): void {
    if (this.#denied.size === 0) return;
    const hex = toHex(clientId);
    if (this.#denied.has(hex)) {
      throw new VeenError("E.AUTH", `client_id ${hex.slice(0, 16)}… is on this hub's client_id_deny list`);
    }
  }
}
