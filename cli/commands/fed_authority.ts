/**
 * Federation authority from the CLI (FED1/AUTH1; CLI-GOALS-2 §2.2, §3.1-3.3; docs/federation.md). Every answer
 * comes from the hub's `GET /authority` (the CLI never guesses a policy locally); a hub without the route does not
 * implement AUTH1: E.PROFILE, exit 4.
 * - `hub role [--realm] [--stream]`: the hub's coarse role, and label_authority of the stream's label;
 * - `fed authority publish` (alias `authority set`): a `veen.fed.authority.v1` record on stream_fed_admin, then
 *   the record the hub chose for the stream (after tie-breaking);
 * - `fed authority show`: the deciding record, or policy unspecified with null fields;
 * - `label authority --label`: label_authority(L) and whether this hub would accept a write now.
 */
import { fromHex, streamIdFor, toHex, VeenError } from "../../core/mod.ts";
import { parseHex32, parseUint, usageError } from "../../cmd/mod.ts";
import { FED_AUTHORITY } from "../../overlays/mod.ts";
import {
  ADMIN_CAP_FLAG,
  ADMIN_FLAG,
  adminDir,
  checkRealmFlag,
  publishAdminRecord,
  REALM_FLAG,
  realmDescriptor,
} from "../admin.ts";
import {
  type Command,
  type CommandContext,
  connectFromFlags,
  HUB_FLAG,
  HUB_KEY_FLAG,
  nowSec,
  PASSPHRASE_FLAG,
} from "../context.ts";
import type { HubSession } from "../hub_session.ts";

const STREAM_FLAG = {
  name: "stream",
  metavar: "NAME",
  help: "stream name (or 64 hex stream_id), as for send",
};
/** `authority set` (CORE-GOALS) uses these when --policy and --ttl are not given. */
const DEFAULT_POLICY = "single-primary";
const DEFAULT_TTL = 86400;

/** GET /authority with `query`; E.PROFILE when the hub does not serve it (no AUTH1). */
async function authority(
  session: HubSession,
  query: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  try {
    return await session.http.json("/authority", query);
  } catch (e) {
    if (e instanceof VeenError && e.code === "E.NOT_FOUND") {
      throw new VeenError(
        "E.PROFILE",
        `Hub at ${session.address.url} does not implement AUTH1 (no /authority)`,
      );
    }
    throw e;
  }
}

/** Connects, checks `--realm` against the hub's realm descriptor, and returns the session and realm_id. */
async function realmSession(ctx: CommandContext): Promise<{ session: HubSession; realmId: Uint8Array }> {
  const session = await connectFromFlags(ctx);
  const d = await realmDescriptor(session);
  checkRealmFlag(ctx, d);
  return { session, realmId: d.realmId };
}

/** The hub's time from a GET /authority answer, else this machine's. */
const hubTime = (ctx: CommandContext, a: Record<string, unknown>) =>
  typeof a.now === "number" ? a.now : nowSec(ctx);

const hexOrNone = (v: unknown) => typeof v === "string" ? v : "none";

/** The JSON fields of `fed authority show` (CLI-GOALS-2 §3.2): nulls when unspecified. */
function chosen(realmId: Uint8Array, a: Record<string, unknown>) {
  return {
    realm_id: toHex(realmId),
    stream_id: a.stream_id,
    primary_hub: a.primary_hub ?? null,
    replica_hubs: Array.isArray(a.replica_hubs) ? a.replica_hubs as string[] : [],
    policy: a.policy,
    ts: a.ts ?? null,
    ttl: a.ttl ?? null,
    expires_at: a.expires_at ?? null,
    active_now: a.active_now === true,
  };
}

/** `fed authority show|publish` output: the record deciding for the stream; "none" and 0 in text when unspecified. */
function printAuthority(
  ctx: CommandContext,
  realmId: Uint8Array,
  a: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): void {
  const json = chosen(realmId, a);
  ctx.out.result({ ...json, ...extra }, [
    `realm_id: ${json.realm_id}`,
    `stream_id: ${json.stream_id}`,
    `primary_hub: ${hexOrNone(json.primary_hub)}`,
    `replica_hubs: [${json.replica_hubs.join(",")}]`,
    `policy: ${json.policy}`,
    `ts: ${json.ts ?? 0}`,
    `ttl: ${json.ttl ?? 0}`,
    `expires_at: ${json.expires_at ?? 0}`,
    `active_now: ${json.active_now}`,
  ]);
}

export const hubRole: Command = {
  path: ["hub", "role"],
  summary: "show the hub's role, and with --stream the stream's label authority (AUTH1)",
  usage: "veen hub role --hub H [--realm HEX32|NAME] [--stream NAME]",
  flags: [HUB_FLAG, REALM_FLAG, STREAM_FLAG, HUB_KEY_FLAG],
  async run(ctx) {
    const name = ctx.flags.str("stream");
    const { session, realmId } = await realmSession(ctx);
    if (name === undefined) {
      const a = await authority(session);
      ctx.out.result({ hub_id: a.hub_id, role: a.role }, [`hub_id: ${a.hub_id}`, `role: ${a.role}`]);
      return 0;
    }
    const a = await authority(session, { stream_id: toHex(streamIdFor(name)) });
    const stream = {
      realm_id: toHex(realmId),
      stream_id: a.stream_id,
      label: a.label,
      policy: a.policy,
      primary_hub: a.primary_hub ?? null,
      local_is_primary: a.local_is_primary === true,
    };
    ctx.out.result({ hub_id: a.hub_id, role: a.role, stream }, [
      `hub_id: ${a.hub_id}`,
      `role: ${a.role}`,
      `realm_id: ${stream.realm_id}`,
      `stream_id: ${stream.stream_id}`,
      `label: ${stream.label}`,
      `policy: ${stream.policy}`,
      `primary_hub: ${hexOrNone(stream.primary_hub)}`,
      `local_is_primary: ${stream.local_is_primary}`,
    ]);
    return 0;
  },
};

export const fedAuthorityShow: Command = {
  path: ["fed", "authority", "show"],
  summary: "show the authority record deciding a stream now (FED1), or policy unspecified",
  usage: "veen fed authority show --hub H [--realm HEX32|NAME] --stream NAME",
  flags: [HUB_FLAG, REALM_FLAG, { ...STREAM_FLAG, required: true }, HUB_KEY_FLAG],
  async run(ctx) {
    const { session, realmId } = await realmSession(ctx);
    const a = await authority(session, { stream_id: toHex(streamIdFor(ctx.flags.req("stream"))) });
    printAuthority(ctx, realmId, a);
    return 0;
  },
};

export const fedAuthorityPublish: Command = {
  path: ["fed", "authority", "publish"],
  aliases: [["authority", "set"]],
  summary: "publish a veen.fed.authority.v1 record, then show the record the hub chose",
  usage: "veen fed authority publish --hub H [--realm HEX32|NAME] --stream NAME --primary-hub HEX32 " +
    "[--replica-hub HEX32 ...] [--policy single-primary|multi-primary] [--ttl SEC] [--ts UNIX] --admin DIR " +
    "[--cap FILE]",
  details:
    `The record goes to the realm's stream_fed_admin, sealed to the realm admin key, as the admin client
(--admin, else $VEEN_ADMIN). --policy defaults to ${DEFAULT_POLICY} and --ttl to ${DEFAULT_TTL} (CORE-GOALS
\`authority set\`). What is printed is the record deciding for the stream after the hub folded this one: a record
with an older ts than the one in force does not change it.`,
  flags: [
    HUB_FLAG,
    REALM_FLAG,
    { ...STREAM_FLAG, required: true },
    { name: "primary-hub", metavar: "HEX32", required: true, help: "hub_id of the primary (veen hub-id)" },
    { name: "replica-hub", metavar: "HEX32", multiple: true, help: "hub_id of a replica (repeatable)" },
    {
      name: "policy",
      metavar: "POLICY",
      help: `single-primary or multi-primary (default ${DEFAULT_POLICY})`,
    },
    { name: "ttl", metavar: "SEC", help: `validity in seconds (default ${DEFAULT_TTL})` },
    { name: "ts", metavar: "UNIX_SEC", help: "issued_at (default: the hub's time now)" },
    ADMIN_FLAG,
    ADMIN_CAP_FLAG,
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const policy = ctx.flags.str("policy") ?? DEFAULT_POLICY;
    if (policy !== "single-primary" && policy !== "multi-primary") {
      throw usageError(`--policy must be single-primary or multi-primary, got "${policy}"`);
    }
    const ttlFlag = ctx.flags.str("ttl");
    const tsFlag = ctx.flags.str("ts");
    const streamId = streamIdFor(ctx.flags.req("stream"));
    const { session: s0, realmId } = await realmSession(ctx);
    // Without --ts the record starts at the hub's time, so a client clock ahead of the hub's cannot postpone it.
    const hubNow = tsFlag === undefined ? await authority(s0) : undefined;
    const body = {
      realm_id: realmId,
      stream_id: streamId,
      primary_hub: parseHex32(ctx.flags.req("primary-hub"), "--primary-hub"),
      replica_hubs: ctx.flags.list("replica-hub").map((h) => parseHex32(h, "--replica-hub")),
      policy,
      ts: tsFlag === undefined ? hubTime(ctx, hubNow!) : parseUint(tsFlag, "--ts"),
      ttl: ttlFlag === undefined ? DEFAULT_TTL : parseUint(ttlFlag, "--ttl"),
    };
    const { res, descriptor, session } = await publishAdminRecord(
      ctx,
      adminDir(ctx),
      "fed_admin",
      FED_AUTHORITY,
      body,
    );
    const a = await authority(session, { stream_id: toHex(streamId) });
    printAuthority(ctx, descriptor.realmId, a, {
      published: { stream_seq: res.receipt.streamSeq, msg_id: toHex(res.msgId), ts: body.ts, ttl: body.ttl },
    });
    return 0;
  },
};

export const labelAuthority: Command = {
  path: ["label", "authority"],
  summary: "show label_authority(L) at the hub and whether it would accept a write now (AUTH1)",
  usage: "veen label authority --hub H --label HEX32",
  flags: [HUB_FLAG, { name: "label", metavar: "HEX32", required: true, help: "the label" }, HUB_KEY_FLAG],
  async run(ctx) {
    const label = toHex(fromHex(ctx.flags.req("label"), 32, "--label"));
    const session = await connectFromFlags(ctx);
    const a = await authority(session, { label });
    const known = a.stream_id !== null;
    const json = {
      label,
      realm_id: known ? a.realm_id : null,
      stream_id: a.stream_id ?? null,
      policy: a.policy,
      primary_hub: a.primary_hub ?? null,
      replica_hubs: Array.isArray(a.replica_hubs) ? a.replica_hubs : [],
      local_hub_id: a.hub_id,
      locally_authorized: a.locally_authorized === true,
    };
    ctx.out.result(json, [
      `label: ${label}`,
      `realm_id: ${json.realm_id ?? "unspecified"}`,
      `stream_id: ${json.stream_id ?? "unknown"}`,
      `policy: ${json.policy}`,
      `primary_hub: ${hexOrNone(json.primary_hub)}`,
      `local_hub_id: ${json.local_hub_id}`,
      `locally_authorized: ${json.locally_authorized}`,
    ]);
    return 0;
  },
};

export const FED_AUTHORITY_COMMANDS: readonly Command[] = [
  hubRole,
  fedAuthorityPublish,
  fedAuthorityShow,
  labelAuthority,
];
