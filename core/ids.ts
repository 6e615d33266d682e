/** Identifiers derived from names and keys (spec 004 §4, wire decisions "Hashing and identifiers"). */
import { fromHex, u64be, utf8 } from "./bytes.ts";
import { H, Ht } from "./hash.ts";

/** stream_id for a stream name: 64 hex characters are taken as the bytes, else `Ht("cli/stream", utf8(name))`. */
export function streamIdFor(name: string): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(name)) return fromHex(name, 32);
  return Ht("cli/stream", utf8(name));
}

/** `label = Ht("veen/label", routing_key || stream_id || u64be(epoch))`; epoch 0 unless label rotation is enabled. */
export function labelFor(
  streamId: Uint8Array,
  routingKey: Uint8Array = new Uint8Array(0),
  epoch: number | bigint = 0,
): Uint8Array {
  return Ht("veen/label", routingKey, streamId, u64be(epoch));
}

/** `hub_id = Ht("veen/hub-id", hub_pk)`. */
export function hubIdFor(hubPk: Uint8Array): Uint8Array {
  return Ht("veen/hub-id", hubPk);
}

/**
 * Name prefixes of the schemas the spec hashes plainly (spec 002 and RPC0/CRDT0: `veen.revocation.v1`, `rpc.v1`,
 * `crdt.lww.v1`, ...): their schema id is `H(utf8(name))` (overlay decisions, "Schema ids").
 */
export const PLAIN_SCHEMA_PREFIXES: readonly string[] = [
  "veen.",
  "id.",
  "wallet.",
  "disc.",
  "rpc.",
  "crdt.",
  "record.",
];

/**
 * The one schema-id table, used by `veen schema-id`, `--schema NAME` and every overlay: `H(utf8(name))` for a name
 * with one of {@link PLAIN_SCHEMA_PREFIXES}, else `H(utf8("veen/schema:" || name))` (the spec-3 operation schemas,
 * `paid.operation.v1`, `access.grant.v1`, ...).
 */
export function schemaIdFor(name: string): Uint8Array {
  if (PLAIN_SCHEMA_PREFIXES.some((p) => name.startsWith(p))) return H(utf8(name));
  return H(utf8("veen/schema:" + name));
}

/** `realm_id = Ht("id/realm", utf8(name))`. */
export function realmIdFor(name: string): Uint8Array {
  return Ht("id/realm", utf8(name));
}

export type AdminStream = "veen/admin" | "veen/revocation" | "veen/label-class" | "veen/meta-schema";

/** Admin stream ids per realm: `Ht(kind, realm_id)`. */
export function adminStreamId(kind: AdminStream, realmId: Uint8Array): Uint8Array {
  return Ht(kind, realmId);
}
