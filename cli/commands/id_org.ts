/**
 * `veen id org create|show` (spec 001 ID §3.5, §8): an org's profile is id.org.profile.v1 on stream_id_org, an LWW
 * register per org_id ordered by (updated_at, stream_seq, origin msg_id); `create` writes the whole profile
 * (created_at kept from the current winner when there is one) and can be re-run to update it. `show` prints the
 * folded org: profile, groups with their members, roles and external links.
 */
import { type CborValue, decodeCbor, fromHex, toHex } from "../../core/mod.ts";
import {
  encodeIdBody,
  groupMembers,
  ID_ORG_PROFILE,
  orgFold,
  orgIdFor,
  type OrgState,
  orgStreamId,
} from "../../overlays/mod.ts";
import { usageError } from "../../cmd/mod.ts";
import { type Command, type CommandContext, nowSec } from "../context.ts";
import { foldJson, READ_TAIL, WRITE_TAIL, writeOp } from "./crdt.ts";
import { linksView, mapFlag } from "./id_ctx.ts";
import { COMMON, hex32, principalOf, readIdFold } from "./id_layer.ts";
import { cborToJson } from "../body.ts";

/** `--org-id`, or the org_id of `--org-pk` (default: the client's id_sign_public with `keysPk`). */
function orgOf(ctx: CommandContext, defaultPk?: Uint8Array): Uint8Array {
  const id = hex32(ctx, "org-id");
  if (id !== undefined) return id;
  const pk = hex32(ctx, "org-pk") ?? defaultPk;
  if (pk === undefined) throw usageError("Give --org-id or --org-pk");
  return orgIdFor(pk);
}

/** What the CLI prints of a folded org (no stream positions: the same on every hub holding it). */
export function orgView(s: OrgState, orgId: Uint8Array): Record<string, unknown> {
  const p = s.profile;
  const org = toHex(orgId);
  return {
    profile: p === undefined ? null : {
      display_name: p.display_name ?? null,
      metadata: p.metadata === undefined ? null : cborToJson(decodeCbor(fromHex(p.metadata), "metadata")),
      created_at: p.created_at,
      updated_at: p.ts,
      msg_id: p.leaf,
    },
    groups: [...s.groups].filter(([k]) => k.startsWith(`${org}/`)).sort(([a], [b]) => a < b ? -1 : 1).map((
      [k, g],
    ) => ({
      group_id: k.split("/")[1]!,
      name: g.name.name,
      members: groupMembers(s, orgId, fromHex(k.split("/")[1]!, 32)),
    })),
    roles: [...s.roles].sort(([a], [b]) => a < b ? -1 : 1).map(([k, r]) => ({
      target: k,
      roles: [...r].sort(),
    })),
    links: linksView(s.links),
  };
}

const ORG_FLAGS = [
  { name: "org-id", metavar: "HEX32", help: "the org_id" },
  { name: "org-pk", metavar: "HEX32", help: "the org's Ed25519 key (org_id = Ht(id/org, org_pk))" },
];

export const idOrgCreate: Command = {
  path: ["id", "org", "create"],
  summary: "create or update an org's profile (id.org.profile.v1 on stream_id_org, LWW by updated_at)",
  usage:
    "veen id org create --hub H --client DIR [--org-pk HEX32 | --org-id HEX32] [--display-name T] [--metadata-json JSON] [--created-at N] [--updated-at N]",
  details:
    "The org key defaults to the client's id_sign_public. The record is the whole profile: fields not given are unset.",
  flags: [
    ...COMMON,
    ...ORG_FLAGS,
    { name: "display-name", metavar: "TEXT", help: "the org's display name" },
    { name: "metadata-json", metavar: "JSON", help: "metadata (a JSON object)" },
    { name: "created-at", metavar: "N", help: "Unix seconds (default: the current profile's, else now)" },
    { name: "updated-at", metavar: "N", help: "Unix seconds (default: now)" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const { keys } = await principalOf(ctx);
    const orgId = orgOf(ctx, keys.idSign.public);
    const stream = toHex(orgStreamId(orgId));
    const { state } = await readIdFold(ctx, orgFold(orgId), stream);
    const now = nowSec(ctx);
    const createdAt = ctx.flags.int("created-at") ?? state.profile?.created_at ?? now;
    const updatedAt = ctx.flags.int("updated-at") ?? now;
    const metadata: CborValue | undefined = mapFlag(ctx, "metadata-json");
    const body = encodeIdBody(ID_ORG_PROFILE, {
      org_id: orgId,
      display_name: ctx.flags.str("display-name"),
      metadata,
      created_at: createdAt,
      updated_at: updatedAt,
    });
    return await writeOp(
      ctx,
      ID_ORG_PROFILE.schemaId,
      body,
      {
        org_id: toHex(orgId),
        stream_id_org: stream,
        display_name: ctx.flags.str("display-name") ?? null,
        created_at: createdAt,
        updated_at: updatedAt,
      },
      [`org_id: ${toHex(orgId)}`, `stream_id_org: ${stream}`],
      keys,
      stream,
    );
  },
};

export const idOrgShow: Command = {
  path: ["id", "org", "show"],
  summary: "print an org's folded state: profile, groups and members, roles, external links",
  usage: "veen id org show --hub H --client DIR --org-id HEX32|--org-pk HEX32 [--refold]",
  flags: [...COMMON, ...ORG_FLAGS, ...READ_TAIL],
  async run(ctx) {
    const orgId = orgOf(ctx);
    const { cursor, state } = await readIdFold(ctx, orgFold(orgId), toHex(orgStreamId(orgId)));
    const view = orgView(state, orgId);
    const p = view.profile as { display_name: string | null; metadata: unknown } | null;
    ctx.out.result(
      { org_id: toHex(orgId), ...view, ...foldJson(cursor) },
      [
        `org_id: ${toHex(orgId)}`,
        p === null ? "profile: unset" : `display_name: ${p.display_name ?? "(unset)"}`,
        ...(p === null || p.metadata === null ? [] : [`metadata: ${JSON.stringify(p.metadata)}`]),
        ...(view.groups as { name: string; members: string[] }[]).map((g) =>
          `group ${g.name}: ${g.members.length} member(s)`
        ),
        `links: ${(view.links as unknown[]).length}`,
      ],
    );
    return 0;
  },
};

export const ID_ORG_COMMANDS: readonly Command[] = [idOrgCreate, idOrgShow];
