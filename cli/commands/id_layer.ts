/**
 * `veen id ...` commands of the ID layer (spec 001 ID, L229-738), beside `id show|rotate|usage`:
 * - derive: the identifiers of §3 from a realm and public keys, computed locally (no hub, no secrets);
 * - device add|disable|expire: id.device.v1 records on stream_id_principal (§6.2), sealed like every overlay write
 *   (to the client itself, or `--to CARD`); disable and expire re-send the device's current record from the fold;
 * - status: the folded principal stream: each device with its ACTIVE state at `--now` (§6.2, §11.1);
 * - handle set|resolve: id.handlemap.v1 on stream_id_handle_ns (§10.1), LWW per (realm, handle);
 * - group add|remove|members: id.group.v1 on stream_id_org (§8.2): the members of (org_id, group_id) are an OR-set
 *   of ctx_id with re-add, group_id = Ht("id/group", org_id || name);
 * - role add|list: id.role.v1 on stream_id_org (§8.3): roles are additive, given to ctx_ids directly or to groups;
 *   `role list` prints a ctx_id's roles, its own and its groups';
 * - revoke: id.revoke.v1 on stream_id_principal (§11.1) naming a device, an auth_ref and/or a ctx_id. A revoked
 *   auth_ref is first published as `veen.revocation.v1` (kind auth-ref) by the admin client `--admin`, so that the
 *   hub refuses it ("hubs SHOULD deny /submit for that auth_ref"); the ID record follows.
 * Reads fold the verified stream (every item checked as `stream --with-proof` does) from the client's summary.
 * Valid handles (§10.1 leaves the syntax to implementations): 1 to 64 bytes of UTF-8, no whitespace or control
 * characters; a later write reassigns a handle (LWW).
 */
import { fromHex, realmIdFor, toHex, utf8, VeenError } from "../../core/mod.ts";
import {
  ctxIdFor,
  ctxRoles,
  type DeviceCell,
  deviceIdFor,
  encodeIdBody,
  groupIdFor,
  groupMembers,
  handleFold,
  handleStreamId,
  ID_DEVICE,
  ID_GROUP,
  ID_HANDLEMAP,
  ID_REVOKE,
  ID_ROLE,
  orgFold,
  orgIdFor,
  orgStreamId,
  originDedup,
  principalFold,
  principalIdFor,
  principalStreamId,
  REVOCATION,
} from "../../overlays/mod.ts";
import type { Deduped, Fold } from "../../overlays/mod.ts";
import type { OverlayCursor } from "../overlay_cursor.ts";
import { type FlagSpec, usageError } from "../../cmd/mod.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  loadKeys,
  nowSec,
} from "../context.ts";
import type { ClientKeys } from "../keystore.ts";
import { ADMIN_FLAG, adminDir, publishAdminRecord } from "../admin.ts";
import { foldJson, READ_TAIL, readFold, WRITE_TAIL, writeOp } from "./crdt.ts";

/** `--realm NAME|HEX32`: 64 hex characters are the realm_id, anything else a realm name (`Ht("id/realm", name)`). */
export function realmIdArg(v: string): Uint8Array {
  return /^[0-9a-fA-F]{64}$/.test(v) ? fromHex(v, 32, "--realm") : realmIdFor(v);
}

export const idDerive: Command = {
  path: ["id", "derive"],
  summary: "derive realm_id, ctx_id, principal_id, device_id and org_id (spec 001 ID §3)",
  usage: "veen id derive --realm NAME|HEX32 --principal-pk HEX32 [--device-pk HEX32] [--org-pk HEX32]",
  flags: [
    { name: "realm", required: true, metavar: "NAME|HEX32", help: "realm name or realm_id" },
    { name: "principal-pk", required: true, metavar: "HEX32", help: "the principal's Ed25519 public key" },
    { name: "device-pk", metavar: "HEX32", help: "a device's Ed25519 public key (prints device_id)" },
    { name: "org-pk", metavar: "HEX32", help: "an organization's Ed25519 public key (prints org_id)" },
  ],
  run(ctx) {
    const f = ctx.flags;
    const realmId = realmIdArg(f.req("realm"));
    const principalPk = fromHex(f.req("principal-pk"), 32, "--principal-pk");
    const out: Record<string, string> = {
      realm_id: toHex(realmId),
      ctx_id: toHex(ctxIdFor(principalPk, realmId)),
      principal_id: toHex(principalIdFor(principalPk)),
    };
    const device = f.str("device-pk");
    if (device !== undefined) out.device_id = toHex(deviceIdFor(fromHex(device, 32, "--device-pk")));
    const org = f.str("org-pk");
    if (org !== undefined) out.org_id = toHex(orgIdFor(fromHex(org, 32, "--org-pk")));
    ctx.out.result(out, Object.entries(out).map(([k, v]) => `${k}: ${v}`));
    return Promise.resolve(0);
  },
};

/**
 * Brings an ID fold of `stream` up to date as `readFold` does, wrapped in `originDedup` so that records bridged
 * from another hub (parent_id = original msg_id) count once; `state` is the fold's own summary.
 */
export async function readIdFold<S>(
  ctx: CommandContext,
  fold: Fold<S>,
  stream: string,
): Promise<{ cursor: OverlayCursor<Deduped<S>>; state: S; keys: ClientKeys }> {
  const { cursor, keys } = await readFold(ctx, originDedup(fold), stream);
  return { cursor, state: cursor.state.state, keys };
}

export const hex32 = (ctx: CommandContext, name: string): Uint8Array | undefined => {
  const v = ctx.flags.str(name);
  return v === undefined ? undefined : fromHex(v, 32, `--${name}`);
};

export const PRINCIPAL_FLAG: FlagSpec = {
  name: "principal-pk",
  metavar: "HEX32",
  help: "the principal's Ed25519 public key (default: the client's id_sign_public)",
};
const DEVICE_FLAG: FlagSpec = {
  name: "device-pk",
  metavar: "HEX32",
  help: "the device's Ed25519 public key (default: the client's client_id)",
};
export const COMMON: FlagSpec[] = [HUB_FLAG, CLIENT_FLAG];

export async function principalOf(ctx: CommandContext): Promise<{ pk: Uint8Array; keys: ClientKeys }> {
  const keys = await loadKeys(ctx, clientDir(ctx));
  return { pk: hex32(ctx, "principal-pk") ?? keys.idSign.public, keys };
}

function deviceBody(principalPk: Uint8Array, devicePk: Uint8Array, d: Omit<DeviceCell, "seq" | "device_pk">) {
  return encodeIdBody(ID_DEVICE, {
    principal_pk: principalPk,
    device_id: deviceIdFor(devicePk),
    device_pk: devicePk,
    dh_pk: fromHex(d.dh_pk, 32),
    label: d.label,
    created_at: d.created_at,
    expires_at: d.expires_at,
    flags: d.disabled ? new Map([["disabled", true]]) : undefined,
  });
}

export const idDeviceAdd: Command = {
  path: ["id", "device", "add"],
  summary: "attach a device to a principal (id.device.v1 on stream_id_principal)",
  usage:
    "veen id device add --hub H --client DIR [--principal-pk HEX32] [--device-pk HEX32] [--dh-pk HEX32] [--label L] [--expires-at N]",
  flags: [
    ...COMMON,
    PRINCIPAL_FLAG,
    DEVICE_FLAG,
    { name: "dh-pk", metavar: "HEX32", help: "the device's X25519 key (default: the client's id_dh_public)" },
    { name: "label", metavar: "TEXT", help: 'e.g. "phone"' },
    { name: "created-at", metavar: "N", help: "Unix seconds (default: now)" },
    { name: "expires-at", metavar: "N", help: "Unix seconds; the device is ACTIVE while now <= N" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const { pk, keys } = await principalOf(ctx);
    const devicePk = hex32(ctx, "device-pk") ?? keys.client.public;
    const cell = {
      dh_pk: toHex(hex32(ctx, "dh-pk") ?? keys.idDh.public),
      ...(ctx.flags.str("label") === undefined ? {} : { label: ctx.flags.str("label")! }),
      created_at: ctx.flags.int("created-at") ?? nowSec(ctx),
      ...(ctx.flags.str("expires-at") === undefined ? {} : { expires_at: ctx.flags.int("expires-at")! }),
      disabled: false,
    };
    const deviceId = toHex(deviceIdFor(devicePk));
    return await writeOp(
      ctx,
      ID_DEVICE.schemaId,
      deviceBody(pk, devicePk, cell),
      { principal_pk: toHex(pk), device_id: deviceId },
      [`device_id: ${deviceId}`],
      keys,
      toHex(principalStreamId(pk)),
    );
  },
};

/** Re-sends a device's current record with `change` applied; E.NOT_FOUND when the principal has no such device. */
async function changeDevice(ctx: CommandContext, change: (d: DeviceCell) => DeviceCell): Promise<number> {
  const { pk, keys } = await principalOf(ctx);
  const devicePk = hex32(ctx, "device-pk") ?? keys.client.public;
  const stream = toHex(principalStreamId(pk));
  const { cursor, state } = await readIdFold(ctx, principalFold(pk), stream);
  await cursor.save();
  const cur = state.devices.get(toHex(deviceIdFor(devicePk)));
  if (cur === undefined) {
    throw new VeenError("E.NOT_FOUND", `Principal ${toHex(pk)} has no device ${toHex(devicePk)}`);
  }
  const next = change(cur);
  const deviceId = toHex(deviceIdFor(devicePk));
  return await writeOp(
    ctx,
    ID_DEVICE.schemaId,
    deviceBody(pk, devicePk, next),
    {
      principal_pk: toHex(pk),
      device_id: deviceId,
      disabled: next.disabled,
      expires_at: next.expires_at ?? null,
    },
    [`device_id: ${deviceId}`],
    keys,
    stream,
  );
}

export const idDeviceDisable: Command = {
  path: ["id", "device", "disable"],
  summary: "disable a device (its current id.device.v1 record with flags.disabled = true)",
  usage: "veen id device disable --hub H --client DIR [--principal-pk HEX32] [--device-pk HEX32]",
  flags: [...COMMON, PRINCIPAL_FLAG, DEVICE_FLAG, ...WRITE_TAIL],
  run: (ctx) => changeDevice(ctx, (d) => ({ ...d, disabled: true })),
};

export const idDeviceExpire: Command = {
  path: ["id", "device", "expire"],
  summary: "set a device's expires_at (its current id.device.v1 record with a new expiry)",
  usage:
    "veen id device expire --hub H --client DIR --expires-at N [--principal-pk HEX32] [--device-pk HEX32]",
  flags: [
    ...COMMON,
    PRINCIPAL_FLAG,
    DEVICE_FLAG,
    { name: "expires-at", metavar: "N", required: true, help: "Unix seconds (default: now)" },
    ...WRITE_TAIL,
  ],
  run: (ctx) => changeDevice(ctx, (d) => ({ ...d, expires_at: ctx.flags.int("expires-at")! })),
};

/** A valid handle: 1 to 64 bytes of UTF-8 without whitespace or control characters. */
export function checkHandle(h: string): string {
  const n = utf8(h).length;
  if (n === 0 || n > 64 || /[\s\p{Cc}]/u.test(h)) {
    throw usageError(`Handle "${h}" must be 1 to 64 bytes without whitespace or control characters`);
  }
  return h;
}

export const REALM_FLAG: FlagSpec = {
  name: "realm",
  required: true,
  metavar: "NAME|HEX32",
  help: "realm name or realm_id",
};
const HANDLE_FLAG: FlagSpec = { name: "handle", required: true, metavar: "HANDLE", help: 'e.g. "@alice"' };

export const idHandleSet: Command = {
  path: ["id", "handle", "set"],
  summary: "map a handle to a ctx_id or org_id in a realm (id.handlemap.v1, LWW per (realm, handle))",
  usage:
    "veen id handle set --hub H --client DIR --realm NAME|HEX32 --handle HANDLE --target-type ctx|org --target-id HEX32 [--ts N]",
  flags: [
    ...COMMON,
    REALM_FLAG,
    HANDLE_FLAG,
    { name: "target-type", required: true, metavar: "ctx|org", help: "what the handle names" },
    { name: "target-id", required: true, metavar: "HEX32", help: "the ctx_id or org_id" },
    { name: "ts", metavar: "N", help: "Unix seconds of the mapping (default: now)" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const realmId = realmIdArg(ctx.flags.req("realm"));
    const handle = checkHandle(ctx.flags.req("handle"));
    const targetType = ctx.flags.req("target-type");
    if (targetType !== "ctx" && targetType !== "org") throw usageError(`--target-type must be ctx or org`);
    const targetId = fromHex(ctx.flags.req("target-id"), 32, "--target-id");
    const ts = ctx.flags.int("ts") ?? nowSec(ctx);
    const body = encodeIdBody(ID_HANDLEMAP, {
      realm_id: realmId,
      handle,
      target_type: targetType,
      target_id: targetId,
      ts,
    });
    return await writeOp(
      ctx,
      ID_HANDLEMAP.schemaId,
      body,
      { realm_id: toHex(realmId), handle, target_type: targetType, target_id: toHex(targetId), ts },
      [`handle: ${handle}`],
      undefined,
      toHex(handleStreamId(realmId)),
    );
  },
};

export const idHandleResolve: Command = {
  path: ["id", "handle", "resolve"],
  summary: "resolve a handle in a realm: the mapping greatest in (ts, stream_seq, leaf_hash), or unset",
  usage: "veen id handle resolve --hub H --client DIR --realm NAME|HEX32 --handle HANDLE [--refold]",
  flags: [...COMMON, REALM_FLAG, HANDLE_FLAG, ...READ_TAIL],
  async run(ctx) {
    const realmId = realmIdArg(ctx.flags.req("realm"));
    const handle = checkHandle(ctx.flags.req("handle"));
    const { cursor, state } = await readIdFold(ctx, handleFold(realmId), toHex(handleStreamId(realmId)));
    const c = state.get(handle);
    if (c === undefined) {
      ctx.out.result({ realm_id: toHex(realmId), handle, set: false, ...foldJson(cursor) }, ["unset"]);
      return 0;
    }
    ctx.out.result(
      {
        realm_id: toHex(realmId),
        handle,
        set: true,
        target_type: c.target_type,
        target_id: c.target_id,
        ts: c.ts,
        stream_seq: c.seq,
        ...foldJson(cursor),
      },
      [`${c.target_type} ${c.target_id}`],
    );
    return 0;
  },
};

export const idRevoke: Command = {
  path: ["id", "revoke"],
  summary:
    "revoke a device, auth_ref or ctx_id of a principal (id.revoke.v1; an auth_ref also as veen.revocation.v1)",
  usage:
    "veen id revoke --hub H --client DIR [--principal-pk HEX32] [--device-pk HEX32] [--auth-ref HEX32 --admin DIR] [--ctx-id HEX32 --realm NAME|HEX32] [--reason TEXT] [--ts N]",
  flags: [
    ...COMMON,
    PRINCIPAL_FLAG,
    { name: "device-pk", metavar: "HEX32", help: "revoke this device (its device_id)" },
    { name: "auth-ref", metavar: "HEX32", help: "revoke this auth_ref; needs --admin" },
    { name: "ctx-id", metavar: "HEX32", help: "revoke this ctx_id in --realm" },
    { name: "realm", metavar: "NAME|HEX32", help: "realm of --ctx-id" },
    { name: "reason", metavar: "TEXT", help: "why (stored in the record)" },
    { name: "ts", metavar: "N", help: "Unix seconds (default: now)" },
    ADMIN_FLAG,
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const devicePk = hex32(ctx, "device-pk");
    const authRef = hex32(ctx, "auth-ref");
    const ctxId = hex32(ctx, "ctx-id");
    const realm = ctx.flags.str("realm");
    if (devicePk === undefined && authRef === undefined && ctxId === undefined) {
      throw usageError("Give --device-pk, --auth-ref or --ctx-id");
    }
    if (ctxId !== undefined && realm === undefined) throw usageError("--ctx-id needs --realm");
    const { pk, keys } = await principalOf(ctx);
    const ts = ctx.flags.int("ts") ?? nowSec(ctx);
    const reason = ctx.flags.str("reason");
    const body = encodeIdBody(ID_REVOKE, {
      principal_pk: pk,
      device_id: devicePk === undefined ? undefined : deviceIdFor(devicePk),
      revoked_auth_ref: authRef,
      realm_id: realm === undefined ? undefined : realmIdArg(realm),
      ctx_id: ctxId,
      reason,
      ts,
    });
    let hubRevocation: number | null = null;
    if (authRef !== undefined) {
      const rec = { kind: "auth-ref", target: authRef, reason, ts, ttl: undefined };
      hubRevocation =
        (await publishAdminRecord(ctx, adminDir(ctx), "revocation", REVOCATION, rec)).res.receipt
          .streamSeq;
    }
    return await writeOp(
      ctx,
      ID_REVOKE.schemaId,
      body,
      { principal_pk: toHex(pk), hub_revocation_stream_seq: hubRevocation },
      hubRevocation === null ? [] : [`hub revocation stream_seq: ${hubRevocation}`],
      keys,
      toHex(principalStreamId(pk)),
    );
  },
};

export const ORG_FLAG: FlagSpec = {
  name: "org-id",
  required: true,
  metavar: "HEX32",
  help: "the org_id (id derive --org-pk)",
};
const GROUP_FLAG: FlagSpec = {
  name: "group",
  required: true,
  metavar: "NAME",
  help: "the group's local name",
};

function groupOf(ctx: CommandContext): { orgId: Uint8Array; name: string; groupId: Uint8Array } {
  const orgId = fromHex(ctx.flags.req("org-id"), 32, "--org-id");
  const name = ctx.flags.req("group");
  return { orgId, name, groupId: groupIdFor(orgId, name) };
}

function groupChange(op: "add" | "remove"): Command {
  return {
    path: ["id", "group", op],
    summary: `${op} ctx_ids ${
      op === "add" ? "to" : "from"
    } a group of an org (id.group.v1, OR-set with re-add)`,
    usage: `veen id group ${op} --hub H --client DIR --org-id HEX32 --group NAME --ctx-id HEX32... [--ts N]`,
    flags: [
      ...COMMON,
      ORG_FLAG,
      GROUP_FLAG,
      {
        name: "ctx-id",
        required: true,
        multiple: true,
        metavar: "HEX32",
        help: "a member ctx_id (repeatable)",
      },
      { name: "ts", metavar: "N", help: "updated_at, Unix seconds (default: now)" },
      ...WRITE_TAIL,
    ],
    async run(ctx) {
      const { orgId, name, groupId } = groupOf(ctx);
      const ctxIds = ctx.flags.list("ctx-id").map((v) => fromHex(v, 32, "--ctx-id"));
      const body = encodeIdBody(ID_GROUP, {
        org_id: orgId,
        group_id: groupId,
        name,
        [op === "add" ? "members_add" : "members_remove"]: ctxIds,
        updated_at: ctx.flags.int("ts") ?? nowSec(ctx),
      });
      return await writeOp(
        ctx,
        ID_GROUP.schemaId,
        body,
        { org_id: toHex(orgId), group_id: toHex(groupId) },
        [`group_id: ${toHex(groupId)}`],
        undefined,
        toHex(orgStreamId(orgId)),
      );
    },
  };
}

export const idGroupAdd: Command = groupChange("add");
export const idGroupRemove: Command = groupChange("remove");

export const idGroupMembers: Command = {
  path: ["id", "group", "members"],
  summary: "list the member ctx_ids of a group of an org (the folded OR-set)",
  usage: "veen id group members --hub H --client DIR --org-id HEX32 --group NAME [--refold]",
  flags: [...COMMON, ORG_FLAG, GROUP_FLAG, ...READ_TAIL],
  async run(ctx) {
    const { orgId, groupId } = groupOf(ctx);
    const { cursor, state } = await readIdFold(ctx, orgFold(orgId), toHex(orgStreamId(orgId)));
    const members = groupMembers(state, orgId, groupId);
    ctx.out.result({ org_id: toHex(orgId), group_id: toHex(groupId), members, ...foldJson(cursor) }, members);
    return 0;
  },
};

export const idRoleAdd: Command = {
  path: ["id", "role", "add"],
  summary: "give a role to ctx_ids and groups of an org (id.role.v1; roles are additive)",
  usage:
    "veen id role add --hub H --client DIR --org-id HEX32 --role ROLE [--ctx-id HEX32...] [--group NAME...]",
  flags: [
    ...COMMON,
    ORG_FLAG,
    { name: "role", required: true, metavar: "ROLE", help: 'e.g. "admin"' },
    { name: "ctx-id", multiple: true, metavar: "HEX32", help: "a ctx_id given the role (repeatable)" },
    {
      name: "group",
      multiple: true,
      metavar: "NAME",
      help: "a group whose members get the role (repeatable)",
    },
    { name: "ts", metavar: "N", help: "Unix seconds (default: now)" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const orgId = fromHex(ctx.flags.req("org-id"), 32, "--org-id");
    const role = ctx.flags.req("role");
    const ctxIds = ctx.flags.list("ctx-id").map((v) => fromHex(v, 32, "--ctx-id"));
    const groups = ctx.flags.list("group").map((g) => groupIdFor(orgId, g));
    if (ctxIds.length === 0 && groups.length === 0) throw usageError("Give --ctx-id or --group");
    const body = encodeIdBody(ID_ROLE, {
      org_id: orgId,
      role,
      targets_ctx: ctxIds.length === 0 ? undefined : ctxIds,
      targets_group: groups.length === 0 ? undefined : groups,
      ts: ctx.flags.int("ts") ?? nowSec(ctx),
    });
    return await writeOp(
      ctx,
      ID_ROLE.schemaId,
      body,
      { org_id: toHex(orgId), role },
      [`role: ${role}`],
      undefined,
      toHex(orgStreamId(orgId)),
    );
  },
};

export const idRoleList: Command = {
  path: ["id", "role", "list"],
  summary: "list the roles of a ctx_id in an org: its own and those of its groups",
  usage: "veen id role list --hub H --client DIR --org-id HEX32 --ctx-id HEX32 [--refold]",
  flags: [
    ...COMMON,
    ORG_FLAG,
    { name: "ctx-id", required: true, metavar: "HEX32", help: "the ctx_id" },
    ...READ_TAIL,
  ],
  async run(ctx) {
    const orgId = fromHex(ctx.flags.req("org-id"), 32, "--org-id");
    const ctxId = fromHex(ctx.flags.req("ctx-id"), 32, "--ctx-id");
    const { cursor, state } = await readIdFold(ctx, orgFold(orgId), toHex(orgStreamId(orgId)));
    const roles = ctxRoles(state, orgId, ctxId);
    ctx.out.result({ org_id: toHex(orgId), ctx_id: toHex(ctxId), roles, ...foldJson(cursor) }, roles);
    return 0;
  },
};

/** Every ID-layer command, in help order. */
export const ID_LAYER_COMMANDS: readonly Command[] = [
  idDerive,
  idDeviceAdd,
  idDeviceDisable,
  idDeviceExpire,
  idHandleSet,
  idHandleResolve,
  idGroupAdd,
  idGroupRemove,
  idGroupMembers,
  idRoleAdd,
  idRoleList,
  idRevoke,
];
