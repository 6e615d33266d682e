/**
 * The signed realm descriptor (overlay decisions, "Realm and admin records"): what a client needs to write admin
 * records, signed by the hub key like CHECKPOINT and RECEIPT so that a client checks it against its pinned hub key.
 *
 * `REALM_DESCRIPTOR = [ver=1, realm_id, realm_name, admin_pk, admin_labels, hub_sig]`, with `admin_labels` the
 * epoch-0 labels of `[stream_fed_admin, stream_revocation, stream_label_class, stream_schema_meta]` and
 * `hub_sig = Ed25519(Ht("veen/sig", CBOR(the array without hub_sig)))`.
 */
import {
  type CborValue,
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBytes,
  expectText,
  expectUint,
} from "./cbor.ts";
import { ed25519Sign, ed25519Verify } from "./ed25519.ts";
import { VeenError } from "./errors.ts";
import { Ht } from "./hash.ts";

export interface RealmDescriptor {
  realmId: Uint8Array;
  realmName: string;
  /** The realm admin key's X25519 public key: admin records are sealed to it. */
  adminPk: Uint8Array;
  /** Labels of stream_fed_admin, stream_revocation, stream_label_class, stream_schema_meta, in that order. */
  adminLabels: Uint8Array[];
  hubSig: Uint8Array;
}

function unsignedArray(d: Omit<RealmDescriptor, "hubSig">): CborValue[] {
  return [1, d.realmId, d.realmName, d.adminPk, d.adminLabels];
}

export function signRealmDescriptor(
  d: Omit<RealmDescriptor, "hubSig">,
  hubSecret: Uint8Array,
): RealmDescriptor {
  return { ...d, hubSig: ed25519Sign(hubSecret, Ht("veen/sig", encodeCbor(unsignedArray(d)))) };
}

export function encodeRealmDescriptor(d: RealmDescriptor): Uint8Array {
  return encodeCbor([...unsignedArray(d), d.hubSig]);
}

/** Decodes a descriptor and checks hub_sig under `hubPk` (E.SIG when it does not verify; E.SIZE when malformed). */
export function decodeRealmDescriptor(bytes: Uint8Array, hubPk: Uint8Array): RealmDescriptor {
  const a = expectArray(decodeCbor(bytes, "realm descriptor"), 6, "realm descriptor");
  if (expectUint(a[0], "realm descriptor ver") !== 1) {
    throw new VeenError("E.SIZE", "realm descriptor ver must be 1");
  }
  const labels = expectArray(a[4]!, 4, "realm descriptor admin_labels").map((l, i) =>
    expectBytes(l, 32, `realm descriptor admin_labels[${i}]`)
  );
  const d: RealmDescriptor = {
    realmId: expectBytes(a[1], 32, "realm descriptor realm_id"),
    realmName: expectText(a[2], "realm descriptor realm_name"),
    adminPk: expectBytes(a[3], 32, "realm descriptor admin_pk"),
    adminLabels: labels,
    hubSig: expectBytes(a[5], 64, "realm descriptor hub_sig"),
  };
  if (!ed25519Verify(hubPk, Ht("veen/sig", encodeCbor(unsignedArray(d))), d.hubSig)) {
    throw new VeenError("E.SIG", "Realm descriptor hub_sig does not verify under the pinned hub key");
  }
  return d;
}
