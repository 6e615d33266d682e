/**
 * Caps a hub holds (overlay decisions; 001 §8): `installCap` authorizes a cap_token (POST /authorize answers
 * the same auth_ref for a cap it already holds) so that the hub serves it to readers at `GET /cap?auth_ref=HEX`;
 * `fetchCapToken` reads one back, and the answer must be a cap_token whose auth_ref is the one asked for (a hub that
 * answers another token is malformed, exit 3). {@link CapCache} fetches each auth_ref once per command, for folds
 * that check who was authorized.
 */
import { authRef, bytesEqual, type CapToken, decodeCapToken, toHex, VeenError } from "../core/mod.ts";
import { malformedError } from "../cmd/mod.ts";
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

/** The caps of a hub by auth_ref, each fetched once; an auth_ref the hub has no cap for is remembered as none. */
export class CapCache {
  readonly #known = new Map<string, CapToken | undefined>();
  constructor(private readonly http: HubHttp) {}

  /** Fetches `ref` unless already known (other hub errors propagate: a fold must not guess). */
  async load(ref: Uint8Array): Promise<void> {
    const k = toHex(ref);
    if (this.#known.has(k)) return;
    try {
      this.#known.set(k, (await fetchCapToken(this.http, ref)).token);
    } catch (e) {
      if (!(e instanceof VeenError && e.code === "E.NOT_FOUND")) throw e;
      this.#known.set(k, undefined);
    }
  }

  /** The token of a loaded `ref`, undefined when the hub has none (or it was not loaded). */
  get(ref: Uint8Array): CapToken | undefined {
    return this.#known.get(toHex(ref));
  }

  /** How many distinct auth_refs were asked for. */
  get size(): number {
    return this.#known.size;
  }
}
