/**
 * Writing and reading the admin plane from the CLI (overlay decisions, "Realm and admin records"): the realm
 * descriptor is fetched from `GET /realm` and checked against the pinned hub key; an admin record is a MSG on the
 * realm's admin stream, sealed to the realm admin key, sent by the admin client (`--admin DIR` or `--signer DIR`)
 * like any send (state.json transaction, RECEIPT verified).
 */
import {
  adminStreamId,
  bytesEqual,
  type CborValue,
  decodeRealmDescriptor,
  fromHex,
  labelFor,
  type RealmDescriptor,
  realmIdFor,
  toHex,
  VeenError,
} from "../core/mod.ts";
import { ADMIN_STREAM_NAMES, ADMIN_STREAMS, type AdminStreamName, type BodyCodec } from "../overlays/mod.ts";
import { type FlagSpec, usageError } from "../cmd/mod.ts";
import { decodeAnswer } from "./http_client.ts";
import type { CommandContext } from "./context.ts";
import { loadKeys } from "./context.ts";
import type { HubSession } from "./hub_session.ts";
import { pinnedSession } from "./overlay_io.ts";
import { sendAndSave, type SendResult } from "./sender.ts";
import { readCapAuthRef } from "./commands/send.ts";

export const ADMIN_FLAG: FlagSpec = {
  name: "admin",
  metavar: "DIR",
  help:
    "admin client directory (default $VEEN_ADMIN): its client_id is in the hub's admin_keys, or --cap roots in one",
};
export const SIGNER_FLAG: FlagSpec = { ...ADMIN_FLAG, name: "signer" };
export const REALM_FLAG: FlagSpec = {
  name: "realm",
  metavar: "HEX32|NAME",
  help: "realm_id or realm name; refused unless it is the hub's realm (default: the hub's)",
};
export const ADMIN_CAP_FLAG: FlagSpec = {
  name: "cap",
  metavar: "FILE",
  help: "cap_token of the admin client (MSG.auth_ref), rooted in an admin key or the hub key",
};

/** The hub's realm descriptor, checked against the session's (pinned) hub key. */
export async function realmDescriptor(session: HubSession): Promise<RealmDescriptor> {
  const bytes = await session.http.realm();
  try {
    return decodeRealmDescriptor(bytes, session.hubPk);
  } catch (e) {
    if (e instanceof VeenError && e.code === "E.SIG") throw e;
    return decodeAnswer("/realm", () => {
      throw e;
    });
  }
}

/** `--realm`, when given, must be the hub's realm (by id or by name): E.AUTH otherwise. */
export function checkRealmFlag(ctx: CommandContext, d: RealmDescriptor): void {
  const r = ctx.flags.str("realm");
  if (r === undefined) return;
  const id = /^[0-9a-fA-F]{64}$/.test(r) ? fromHex(r, 32, "--realm") : realmIdFor(r);
  if (!bytesEqual(id, d.realmId)) {
    throw new VeenError("E.AUTH", `Hub serves realm ${d.realmName} (${toHex(d.realmId)}), not ${r}`);
  }
}

/** The stream_id of admin stream `name` of the descriptor's realm, checked against the label the hub signed. */
export function adminStreamOf(d: RealmDescriptor, name: AdminStreamName, routingKey: Uint8Array): Uint8Array {
  const streamId = adminStreamId(ADMIN_STREAMS[name], d.realmId);
  if (!bytesEqual(labelFor(streamId, routingKey, 0), d.adminLabels[ADMIN_STREAM_NAMES.indexOf(name)]!)) {
    throw new VeenError("E.SIG", `Realm descriptor's ${name} label does not match the realm and routing key`);
  }
  return streamId;
}

/**
 * The admin client directory: `--admin` (or `--signer`), else `$VEEN_ADMIN`, so that the CORE-GOALS spellings
 * (`veen revoke --hub H --kind K --target T`, `veen label-class set --stream S --class C`) work with the hub from
 * `$VEEN_HUB` or `--env FILE --hub-name NAME` and the admin from the environment. Usage error when neither is set.
 */
export function adminDir(ctx: CommandContext, flag: "admin" | "signer" = "admin"): string {
  const d = ctx.flags.str(flag) ?? ctx.io.env("VEEN_ADMIN");
  if (d === undefined || d === "") throw usageError(`Missing required flag --${flag} (or set VEEN_ADMIN)`);
  return d;
}

export interface Published {
  res: SendResult;
  descriptor: RealmDescriptor;
  session: HubSession;
}

/** Seals `body` (schema `codec`) to the realm admin key and sends it on admin stream `stream` as client `dir`. */
export async function publishAdminRecord(
  ctx: CommandContext,
  dir: string,
  stream: AdminStreamName,
  codec: BodyCodec,
  body: Record<string, CborValue | undefined>,
): Promise<Published> {
  const bodyBytes = codec.encode(body);
  const keys = await loadKeys(ctx, dir);
  const session = await pinnedSession(ctx, dir);
  const descriptor = await realmDescriptor(session);
  checkRealmFlag(ctx, descriptor);
  const streamId = adminStreamOf(descriptor, stream, session.info.routingKey);
  const capPath = ctx.flags.str("cap");
  const ref = capPath === undefined ? undefined : await readCapAuthRef(capPath);
  const { res } = await sendAndSave(ctx, dir, keys, toHex(streamId), {
    recipientPk: descriptor.adminPk,
    hdr: { schema: codec.schemaId },
    bodyBytes,
    ...(ref === undefined ? {} : { authRef: ref }),
  });
  return { res, descriptor, session };
}
