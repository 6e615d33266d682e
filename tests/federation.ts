/**
 * Test helpers for federation: hubs of one realm (shared realm admin key, one admin key) and their
 * `veen.fed.authority.v1` records, published on each hub's stream_fed_admin as an admin would.
 */
import {
  decodeRealmDescriptor,
  DEFAULT_PROFILE,
  DEFAULT_PROFILE_ID,
  hubIdFor,
  type Msg,
  realmIdFor,
  sealPayload,
  type SigningKey,
  signingKeyFromSeed,
  signMsg,
  streamIdFor,
  toHex,
} from "../core/mod.ts";
import { adminStreamsOf, FED_AUTHORITY } from "../overlays/mod.ts";
import type { RunningHub, StartOptions } from "../hub/mod.ts";
import { type ConfigOverrides, errorCode, http, startTestHub, submit } from "./fixture.ts";

/** The realm admin of the test hubs (its key is in every hub's admin_keys). */
export const FED_ADMIN = signingKeyFromSeed(new Uint8Array(32).fill(61));

/** Config of a hub of the test realm; `realmKeyOf` is the data dir whose realm admin key the hubs share. */
export function realmConfig(realmKeyOf?: string): ConfigOverrides {
  return {
    adminKeys: [toHex(FED_ADMIN.public)],
    ...(realmKeyOf === undefined ? {} : { realmAdminKey: `${realmKeyOf}/realm_admin_key` }),
  };
}

/** Starts a hub of the test realm on `dir` (the first one creates the realm admin key, the others share it). */
export function startRealmHub(
  dir: string,
  realmKeyOf?: string,
  o: ConfigOverrides = {},
  extra: StartOptions = {},
): Promise<RunningHub> {
  return startTestHub(dir, { ...realmConfig(realmKeyOf), ...o }, extra);
}

export interface AuthorityOpts {
  stream: string;
  primary: RunningHub | Uint8Array;
  replicas: (RunningHub | Uint8Array)[];
  policy?: "single-primary" | "multi-primary";
  ts?: number;
  ttl?: number;
}

const idOf = (h: RunningHub | Uint8Array) => h instanceof Uint8Array ? h : hubIdFor(h.hubKey.public);

/** Publishes an authority record on `hub`'s stream_fed_admin as FED_ADMIN's record number `seq`; throws unless 200. */
export async function publishAuthority(hub: RunningHub, seq: number, o: AuthorityOpts): Promise<void> {
  const realmId = realmIdFor(hub.config.realm);
  const fed = adminStreamsOf(realmId, new Uint8Array(0))[0]!;
  const adminPk = decodeRealmDescriptor((await http(hub.url + "/realm")).body, hub.hubKey.public).adminPk;
  const now = Math.floor(Date.now() / 1000);
  const body = FED_AUTHORITY.encode({
    realm_id: realmId,
    stream_id: streamIdFor(o.stream),
    primary_hub: idOf(o.primary),
    replica_hubs: o.replicas.map(idOf),
    policy: o.policy ?? "single-primary",
    ts: o.ts ?? now - 3600,
    ttl: o.ttl ?? 86_400,
  });
  const m = await adminRecordMsg({
    key: FED_ADMIN,
    label: fed.label,
    seq,
    recipientPk: adminPk,
    schema: FED_AUTHORITY.schemaId,
    body,
  });
  const r = await submit(hub.url, m);
  if (r.status !== 200) throw new Error(`authority record refused by ${hub.url}: ${errorCode(r)}`);
}

/** An admin record: `body` under `schema`, sealed to the realm admin key `recipientPk`, signed by `key`. */
export async function adminRecordMsg(o: {
  key: SigningKey;
  label: Uint8Array;
  seq: number;
  recipientPk: Uint8Array;
  schema: Uint8Array;
  body: Uint8Array;
  authRef?: Uint8Array;
}): Promise<Msg> {
  const ctx = {
    profileId: DEFAULT_PROFILE_ID,
    label: o.label,
    clientId: o.key.public,
    clientSeq: o.seq,
    prevAck: 0,
    authRef: o.authRef ?? null,
    padBlock: DEFAULT_PROFILE.padBlock,
  };
  const sealed = await sealPayload({
    ctx,
    recipientPk: o.recipientPk,
    hdr: { schema: o.schema },
    body: o.body,
  });
  return signMsg({ ver: 1, ...ctx, ctHash: sealed.ctHash, ciphertext: sealed.ciphertext }, o.key.secret);
}
