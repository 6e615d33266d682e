/**
 * Caps a hub holds (overlay decisions; 001 §8): `installCap` authorizes a cap_token (POST /authorize answers
 * the same auth_ref for a cap it already holds) so that the hub serves it to readers at `GET /cap?auth_ref=HEX`;
 * `fetchCapToken` reads one back, and the answer must be a cap_token whose auth_ref is the one asked for (a hub that
 * answers another token is malformed, exit 3). {@link CapCache} fetches each auth_ref once per command, for folds
 * that check who was authorized.
 *
 * Access grants are caps too (overlay decisions: their auth_ref is `Ht("veen/cap", CBOR(grant body))`):
 * `fetchGrantBounds` reads a grant's body (`GET /admin/grant`), checks it hashes to the auth_ref asked for and
 * returns its bounds on paid operations; {@link grantCache} fetches each auth_ref once.
 */
import { authRef, bytesEqual, type CapToken, decodeCapToken, toHex, VeenError } from "../core/mod.ts";
import { malformedError } from "../cmd/mod.ts";
import { ACCESS_GRANT, grantAuthRef, type GrantBounds, grantBoundsOf } from "../overlays/mod.ts";
import { decodeAnswer, type HubHttp } from "./http_client.ts";

/** Installs CBOR(cap_token) `bytes` on the hub; returns the token and its auth_ref (checked against the answer). */
export async function installCap(
  http: HubHttp,
  bytes: Uint8Array,
): Promise<{ token: CapToken; ref: Uint8Array }> {
  const token = decodeCapToken(bytes);
  const ref = authRef(token);
  const res = await http.authorize(bytes);
  if (!bytesEqual(res.authRef, ref)) {
    throw malformedError(
      `Hub answered auth_ref ${toHex(res.authRef)}, but the token's auth_ref is ${toHex(ref)}`,
    );
  }
  return { token, ref };
}

/** The stored cap_token of `ref` and its bytes; E.NOT_FOUND when the hub has no authorized cap for it. */
export async function fetchCapToken(
  http: HubHttp,
  ref: Uint8Array,
): Promise<{ bytes: Uint8Array; token: CapToken }> {
  const bytes = await http.capToken(ref);
  const token = decodeAnswer("cap_token", () => decodeCapToken(bytes));
  if (!bytesEqual(authRef(token), ref)) {
    throw malformedError(
      `Hub answered a cap_token whose auth_ref is ${toHex(authRef(token))}, not ${toHex(ref)}`,
    );
  }
  return { bytes, token };
}

/** The bounds of the access grant whose derived auth_ref is `ref`; E.NOT_FOUND when the hub has no such grant. */
export async function fetchGrantBounds(http: HubHttp, ref: Uint8Array): Promise<GrantBounds> {
  const bytes = await http.grantBody(ref);
  if (!bytesEqual(grantAuthRef(bytes), ref)) {
    throw malformedError(
      `Hub answered an access grant whose auth_ref is ${toHex(grantAuthRef(bytes))}, not ${toHex(ref)}`,
    );
  }
  return grantBoundsOf(decodeAnswer("access.grant.v1", () => ACCESS_GRANT.decode(bytes)));
}

/** What a hub holds by auth_ref, each fetched once; an auth_ref the hub has nothing for is remembered as none. */
export class RefCache<T> {
  readonly #known = new Map<string, T | undefined>();
  constructor(private readonly fetch: (ref: Uint8Array) => Promise<T>) {}

  /** Fetches `ref` unless already known (other hub errors propagate: a fold must not guess). */
  async load(ref: Uint8Array): Promise<void> {
    const k = toHex(ref);
    if (this.#known.has(k)) return;
    try {
      this.#known.set(k, await this.fetch(ref));
    } catch (e) {
      if (!(e instanceof VeenError && e.code === "E.NOT_FOUND")) throw e;
      this.#known.set(k, undefined);
    }
  }

  /**
   * The value of a loaded `ref`, undefined when the hub has none. A `ref` never loaded throws: a fold that reads it
   * was handed an entry its `before` step did not see, and guessing "none" would apply it unchecked.
   */
  get(ref: Uint8Array): T | undefined {
    const k = toHex(ref);
    if (!this.#known.has(k)) throw new Error(`RefCache: auth_ref ${k} was read before it was loaded`);
    return this.#known.get(k);
  }

  /** How many distinct auth_refs were asked for. */
  get size(): number {
    return this.#known.size;
  }
}

/** The caps of a hub by auth_ref (`GET /cap`). */
export class CapCache extends RefCache<CapToken> {
  constructor(http: HubHttp) {
    super(async (ref) => (await fetchCapToken(http, ref)).token);
  }
}

/** The access grants' bounds of a hub by auth_ref (`GET /admin/grant`). */
export const grantCache = (http: HubHttp): RefCache<GrantBounds> =>
  new RefCache((ref) => fetchGrantBounds(http, ref));
