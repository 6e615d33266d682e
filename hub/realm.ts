/**
 * The hub's realm (overlay decisions, "Realm and admin records"): one realm per hub, `realm_id = Ht("id/realm",
 * utf8(name))`, its four admin streams, and the realm admin key, an X25519 key pair every hub of the realm holds
 * (like a CA key) so each can open the admin records sealed to it.
 *
 * The key lives in `DIR/realm_admin_key` (0600), created at first start unless the `realm_admin_key` setting names
 * a file to use instead; it is never regenerated and belongs in backups. The file is CBOR `{1: ver=1, 2: current
 * secret (32), 3: [earlier secrets]}`: secrets kept after a rotation still open the records sealed to them.
 */
import {
  decodeCbor,
  encodeCbor,
  encodeRealmDescriptor,
  expectBytes,
  expectIntMap,
  generateHpkeKeyPair,
  hpkePublicFromSecret,
  realmIdFor,
  type SigningKey,
  signRealmDescriptor,
  toHex,
  VeenError,
} from "../core/mod.ts";
import { type AdminStreamIds, adminStreamsOf } from "../overlays/mod.ts";
import { writeFileAtomic } from "./files.ts";

export const REALM_ADMIN_KEY_FILE = "realm_admin_key";

export interface RealmAdminKey {
  public: Uint8Array;
  /** The current secret first, then earlier ones. */
  secrets: Uint8Array[];
}

export interface Realm {
  name: string;
  realmId: Uint8Array;
  adminKey: RealmAdminKey;
  streams: AdminStreamIds[];
  /** The hub's routing key (labels of the streams access grants allow: hub/access_grants.ts). */
  routingKey: Uint8Array;
  /** The signed realm descriptor served at GET /realm. */
  descriptor: Uint8Array;
  /** The admin stream a label belongs to, if it is one of this realm's admin labels. */
  adminStreamOf(label: Uint8Array): AdminStreamIds | undefined;
}

export function encodeRealmAdminKey(secrets: Uint8Array[]): Uint8Array {
  return encodeCbor(
    new Map<number, number | Uint8Array | Uint8Array[]>([[1, 1], [2, secrets[0]!], [3, secrets.slice(1)]]),
  );
}

/** Decodes a realm admin key file; E.UNAVAILABLE naming `path` when it is not one. */
export function parseRealmAdminKey(bytes: Uint8Array, path: string): RealmAdminKey {
  try {
    const m = expectIntMap(decodeCbor(bytes, path), [1, 2, 3], [1, 2, 3], path);
    if (m.get(1) !== 1) throw new VeenError("E.SIZE", `${path} has an unknown version`);
    const old = m.get(3);
    if (!Array.isArray(old)) throw new VeenError("E.SIZE", `${path} key 3 must be an array`);
    const secrets = [
      expectBytes(m.get(2), 32, "realm admin secret"),
      ...old.map((s) => expectBytes(s, 32, "secret")),
    ];
    return { public: hpkePublicFromSecret(secrets[0]!), secrets };
  } catch (e) {
    throw new VeenError("E.UNAVAILABLE", `Realm admin key ${path} is not readable: ${(e as Error).message}`);
  }
}

/**
 * Loads the realm admin key: from `configured` when set (it must exist), else `DIR/realm_admin_key`, created on
 * first start.
 */
export async function loadOrCreateRealmAdminKey(
  dataDir: string,
  configured: string,
): Promise<{ key: RealmAdminKey; created: boolean }> {
  const path = configured !== "" ? configured : `${dataDir}/${REALM_ADMIN_KEY_FILE}`;
  try {
    return { key: parseRealmAdminKey(await Deno.readFile(path), path), created: false };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      if (e instanceof VeenError) throw e;
      throw new VeenError("E.UNAVAILABLE", `Cannot read realm admin key ${path}: ${(e as Error).message}`);
    }
    if (configured !== "") throw new VeenError("E.UNAVAILABLE", `Realm admin key ${path} does not exist`);
  }
  const pair = generateHpkeKeyPair();
  await writeFileAtomic(dataDir, REALM_ADMIN_KEY_FILE, encodeRealmAdminKey([pair.secret]));
  return { key: { public: pair.public, secrets: [pair.secret] }, created: true };
}

/** The realm `name` of a hub with this key, routing key and admin key. */
export function realmOf(
  name: string,
  hubKey: SigningKey,
  routingKey: Uint8Array,
  adminKey: RealmAdminKey,
): Realm {
  const realmId = realmIdFor(name);
  const streams = adminStreamsOf(realmId, routingKey);
  const byLabel = new Map(streams.map((s) => [toHex(s.label), s]));
  const descriptor = encodeRealmDescriptor(signRealmDescriptor({
    realmId,
    realmName: name,
    adminPk: adminKey.public,
    adminLabels: streams.map((s) => s.label),
  }, hubKey.secret));
  return {
    name,
    realmId,
    adminKey,
    streams,
    routingKey,
    descriptor,
    adminStreamOf: (label) => byLabel.get(toHex(label)),
  };
}
