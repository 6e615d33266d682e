/**
 * The admin source of a tenant hub (overlay decisions "Realm and admin records", spec 001 L3631-3641: one authority
 * hub is the root of trust for schemas, label classes, authorities and revocations of its tenants). With
 * `admin_source = URL` this hub's admin labels are replicas of that hub's: they are taken only through
 * `POST /replicate` from the source's key, and local admin submits are refused with E.AUTH naming the source.
 *
 * The source's hub key is `admin_source_key` when set; else it is pinned at first contact: the hub reads
 * `URL/info` and records `{url, hub_pk}` in `DIR/admin_source.json`, and uses that key from then on (also when the
 * source's /info later presents another one). A pin taken for another URL is replaced at the next contact.
 */
import { bytesEqual, fromHex, hubIdFor, toHex, VeenError } from "../core/mod.ts";
import { writeFileAtomic } from "./files.ts";
import type { Logger } from "./logger.ts";

export const ADMIN_SOURCE_FILE = "admin_source.json";
const INFO_TIMEOUT_MS = 10_000;

export interface AdminSourceOptions {
  /** `admin_source`: the authority hub's base URL. */
  url: string;
  /** `admin_source_key`: the authority hub's key; undefined pins it at first contact. */
  key?: Uint8Array;
  dataDir: string;
  log: Logger;
}

export class AdminSource {
  readonly url: string;
  #key: Uint8Array | undefined;
  #pinning: Promise<Uint8Array> | undefined;

  constructor(private readonly o: AdminSourceOptions) {
    this.url = o.url.replace(/\/+$/, "");
    this.#key = o.key;
  }

  /** The source's key when known without asking it (configured or pinned already). */
  known(): Uint8Array | undefined {
    return this.#key;
  }

  /** The source's key: configured, pinned in DIR/admin_source.json, or read from its /info now and pinned. */
  key(): Promise<Uint8Array> {
    if (this.#key !== undefined) return Promise.resolve(this.#key);
    this.#pinning ??= this.#pin().finally(() => this.#pinning = undefined);
    return this.#pinning;
  }

  async #pin(): Promise<Uint8Array> {
    const pinned = await this.#readPin();
    if (pinned !== undefined) return this.#key = pinned;
    let pk: Uint8Array;
    try {
      const r = await fetch(`${this.url}/info`, { signal: AbortSignal.timeout(INFO_TIMEOUT_MS) });
      const info = await r.json() as { hub_pk?: unknown };
      pk = fromHex(String(info.hub_pk), 32, "hub_pk");
    } catch (e) {
      throw new VeenError(
        "E.UNAVAILABLE",
        `The admin source "${this.url}" cannot be asked for its hub key: ${(e as Error).message}`,
      );
    }
    const text = JSON.stringify({ url: this.url, hub_pk: toHex(pk) }) + "\n";
    await writeFileAtomic(this.o.dataDir, ADMIN_SOURCE_FILE, new TextEncoder().encode(text));
    this.o.log.info("pinned the admin source's hub key", { url: this.url, hub_id: toHex(hubIdFor(pk)) });
    return this.#key = pk;
  }

  /** The key pinned for this URL, if any (a pin of another URL is ignored and replaced at the next contact). */
  async #readPin(): Promise<Uint8Array | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(`${this.o.dataDir}/${ADMIN_SOURCE_FILE}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw new VeenError("E.UNAVAILABLE", `Cannot read ${ADMIN_SOURCE_FILE}: ${(e as Error).message}`);
    }
    let pin: { url?: unknown; hub_pk?: unknown };
    try {
      pin = JSON.parse(text);
    } catch (e) {
      throw new VeenError("E.UNAVAILABLE", `Malformed ${ADMIN_SOURCE_FILE}: ${(e as Error).message}`);
    }
    if (pin.url !== this.url) {
      this.o.log.warn("admin_source changed: the key pinned for another URL is replaced", {
        pinned_url: String(pin.url),
        url: this.url,
      });
      return undefined;
    }
    return fromHex(String(pin.hub_pk), 32, `${ADMIN_SOURCE_FILE} hub_pk`);
  }

  /**
   * Replication of an admin label is taken only from the source (E.AUTH otherwise); E.UNAVAILABLE while its key is
   * not known (call `key()` first).
   */
  checkSender(primaryId: Uint8Array): void {
    const key = this.#key;
    if (key === undefined) {
      throw new VeenError(
        "E.UNAVAILABLE",
        `The admin source "${this.url}" has not been asked for its hub key yet`,
      );
    }
    const sourceId = hubIdFor(key);
    if (bytesEqual(sourceId, primaryId)) return;
    throw new VeenError(
      "E.AUTH",
      `Admin records of this realm are written at "${this.url}" (hub ${toHex(sourceId)}); hub ${
        toHex(primaryId)
      } is not the admin source`,
    );
  }

  /** A local admin submit on a tenant: E.AUTH naming the source. */
  refuseSubmit(): never {
    throw new VeenError(
      "E.AUTH",
      `Admin records of this realm are written at "${this.url}" (admin_source); this hub replicates them`,
    );
  }
}
