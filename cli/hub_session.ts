/**
 * A connection to one hub for one command: the resolved address, `GET /info`, the hub-key pin (TOFU: pinned in
 * state.json on first contact; a different key later is E.SIG, exit 4, unless a CHECKPOINT signed by both keys
 * moves the pin (cli/hub_rotation.ts); `--hub-key` pins explicitly, KEX0.1), the
 * profile, and the stream-name → stream_id → label mapping (empty routing key and epoch 0 unless /info names one).
 */
import {
  bytesEqual,
  DEFAULT_PROFILE,
  DEFAULT_PROFILE_ID,
  fromHex,
  labelFor,
  type Profile,
  profileId,
  streamIdFor,
  toHex,
  VeenError,
} from "../core/mod.ts";
import { malformedError, parseHex32, usageError } from "../cmd/mod.ts";
import type { ClientState } from "./client_state.ts";
import { type HubAddress, resolveHub } from "./hub_address.ts";
import { HubHttp, type HubInfo } from "./http_client.ts";
import type { PowPolicy } from "./pow_client.ts";
import { replicaReadInfo } from "./replica_read.ts";
import { acceptRotation } from "./hub_rotation.ts";
import type { ItemContext } from "./client_view.ts";

export interface HubSession {
  address: HubAddress;
  http: HubHttp;
  info: HubInfo;
  hubPk: Uint8Array;
  hubId: Uint8Array;
  profile: Profile;
  profileId: Uint8Array;
  /**
   * The keys of the other hubs this client has pinned (state.json): a label whose authority moved from one of
   * them to this hub holds RECEIPTs signed by it (docs/replication.md "Clients after a flip").
   */
  peerKeys: Uint8Array[];
  /** Keys this hub rotated away from, with their per-label bounds (state.json `previous_keys`, KEX0.1). */
  previousKeys: { key: Uint8Array; uptoSeq: Record<string, number> }[];
}

export interface StreamTarget {
  stream: string;
  streamId: Uint8Array;
  label: Uint8Array;
}

/**
 * Connects: resolves `--hub`, fetches /info and the profile, and checks the pin. With `state`, the pin for this
 * address is checked and recorded, and the hub entry for label state is created (the caller saves the state).
 */
export async function connectHub(opts: {
  hub: string | undefined;
  env: (k: string) => string | undefined;
  timeoutMs: number;
  hubKey?: string | undefined;
  /** `--profile-id`: the profile_id the hub must serve (E.PROFILE otherwise, before anything is sent). */
  profileId?: string | undefined;
  state?: ClientState;
  /** The Veen-PoW policy of send-like commands (cli/pow_client.ts); the hub's difficulty is set from /info. */
  pow?: PowPolicy;
}): Promise<HubSession> {
  const wantProfile = opts.profileId === undefined ? undefined : parseHex32(opts.profileId, "--profile-id");
  const address = await resolveHub(opts.hub, opts.env);
  const http = new HubHttp(address.url, opts.timeoutMs);
  const pinned = opts.state?.pins[address.key]?.hub_pk;
  const expected = opts.hubKey ?? pinned;
  const info = await replicaReadInfo(
    http,
    await http.info(),
    expected === undefined ? undefined : parseHex32(expected, "--hub-key"),
  );
  if (opts.pow !== undefined) http.pow = opts.pow;
  const powDifficulty = info.raw.pow_difficulty;
  if (typeof powDifficulty === "number" && Number.isInteger(powDifficulty)) {
    http.pow.hubDifficulty = powDifficulty;
  }
  if (opts.hubKey !== undefined) {
    const want = parseHex32(opts.hubKey, "--hub-key");
    if (!bytesEqual(want, info.hubPk)) {
      throw new VeenError(
        "E.SIG",
        `Hub at ${address.url} presents key ${toHex(info.hubPk)}, not the --hub-key given`,
      );
    }
  }
  if (wantProfile !== undefined && !bytesEqual(wantProfile, info.profileId)) {
    throw new VeenError(
      "E.PROFILE",
      `Hub at ${address.url} serves profile_id ${toHex(info.profileId)}, not the --profile-id given`,
    );
  }
  const pin = opts.state?.pins[address.key];
  if (
    pin !== undefined && pin.hub_pk !== toHex(info.hubPk) && opts.hubKey === undefined &&
    (await acceptRotation(http, opts.state!, address.key, info.hubPk)) === undefined
  ) {
    throw new VeenError(
      "E.SIG",
      `Hub key changed for ${address.key}: pinned ${pin.hub_pk}, hub presents ${
        toHex(info.hubPk)
      } and no CHECKPOINT signed by both keys (KEX0.1) (pass --hub-key to re-pin)`,
    );
  }
  let profile: Profile = DEFAULT_PROFILE;
  if (!bytesEqual(info.profileId, DEFAULT_PROFILE_ID)) {
    profile = await http.profile();
    if (!bytesEqual(profileId(profile), info.profileId)) {
      throw malformedError("Hub /profile does not hash to the profile_id in /info");
    }
  }
  if (opts.state !== undefined) {
    const s = opts.state;
    const hubIdHex = toHex(info.hubId);
    s.pins[address.key] = { hub_pk: toHex(info.hubPk), hub_id: hubIdHex };
    const h = s.hubs[hubIdHex];
    if (h === undefined) {
      s.hubs[hubIdHex] = {
        hub_pk: toHex(info.hubPk),
        profile_id: toHex(info.profileId),
        routing_key_hex: toHex(info.routingKey),
        labels: {},
      };
    } else {
      h.profile_id = toHex(info.profileId);
      h.routing_key_hex = toHex(info.routingKey);
    }
  }
  const peerKeys = Object.values(opts.state?.hubs ?? {})
    .map((h) => h.hub_pk)
    .filter((k) => /^[0-9a-f]{64}$/.test(k) && k !== toHex(info.hubPk))
    .map((k) => fromHex(k, 32, "pinned hub key"));
  const previousKeys = (opts.state?.hubs[toHex(info.hubId)]?.previous_keys ?? []).map((p) => ({
    key: fromHex(p.hub_pk, 32, "previous hub key"),
    uptoSeq: p.upto_seq,
  }));
  return {
    address,
    http,
    info,
    hubPk: info.hubPk,
    hubId: info.hubId,
    profile,
    profileId: info.profileId,
    peerKeys,
    previousKeys,
  };
}

/**
 * How items of `label` read from `session` are checked: its hub key, the keys of the other pinned hubs, and the
 * keys it rotated away from within their bounds for this label.
 */
export function itemContext(session: HubSession, label: Uint8Array): ItemContext {
  const hex = toHex(label);
  const previousKeys = session.previousKeys.flatMap((p) => {
    const uptoSeq = p.uptoSeq[hex];
    return uptoSeq === undefined ? [] : [{ key: p.key, uptoSeq }];
  });
  return {
    label,
    hubPk: session.hubPk,
    profileId: session.profileId,
    peerKeys: session.peerKeys,
    previousKeys,
  };
}

/** Maps a stream name to its stream_id and label for this hub (routing key from /info, epoch 0). */
export function streamTarget(session: Pick<HubSession, "info">, stream: string): StreamTarget {
  if (stream === "") throw usageError("--stream must not be empty");
  const streamId = streamIdFor(stream);
  return { stream, streamId, label: labelFor(streamId, session.info.routingKey, 0) };
}
