/**
 * `veen id status` (spec 001 ID §6-11): the folded identity state of a principal, read from the verified streams
 * (every item checked as `stream --with-proof` does; bridged copies counted once):
 * - the principal stream: each device with its ACTIVE state at `--now` (§6.2: not disabled, `now <= expires_at`,
 *   not revoked), the principal record, revoked auth_refs and ctx_ids;
 * - per `--realm`: the principal's ctx_id there, its profile (§7.1) and external links (§10.2), and whether the
 *   ctx_id is revoked;
 * - per `--org-id`: the org's profile, groups, roles and external links (§8);
 * - per `--handle` (with `--realm`): the handle's current mapping (§10.1).
 * The printed state holds no stream positions, so the same records give the same output on every hub.
 */
import { cborToJson } from "../body.ts";
import { decodeCbor, fromHex, toHex } from "../../core/mod.ts";
import {
  ctxFold,
  ctxIdFor,
  ctxStreamId,
  deviceActive,
  handleFold,
  handleStreamId,
  orgFold,
  orgStreamId,
  principalFold,
  principalIdFor,
  principalStreamId,
} from "../../overlays/mod.ts";
import { usageError } from "../../cmd/mod.ts";
import { type Command, nowSec } from "../context.ts";
import { foldJson, READ_TAIL } from "./crdt.ts";
import { linksView, profileView } from "./id_ctx.ts";
import { checkHandle, COMMON, PRINCIPAL_FLAG, principalOf, readIdFold, realmIdArg } from "./id_layer.ts";
import { orgView } from "./id_org.ts";

export const idStatus: Command = {
  path: ["id", "status"],
  summary:
    "print the folded identity of a principal: devices (ACTIVE now?), and per realm, org or handle their state",
  usage:
    "veen id status --hub H --client DIR [--principal-pk HEX32] [--now N] [--realm NAME|HEX32...] [--org-id HEX32...] [--handle H...] [--refold]",
  flags: [
    ...COMMON,
    PRINCIPAL_FLAG,
    { name: "now", metavar: "N", help: "Unix seconds (default: now)" },
    {
      name: "realm",
      multiple: true,
      metavar: "NAME|HEX32",
      help: "print the ctx in this realm (repeatable)",
    },
    { name: "org-id", multiple: true, metavar: "HEX32", help: "print this org (repeatable)" },
    {
      name: "handle",
      multiple: true,
      metavar: "HANDLE",
      help: "resolve this handle in each --realm (repeatable)",
    },
    ...READ_TAIL,
  ],
  async run(ctx) {
    const realms = ctx.flags.list("realm").map(realmIdArg);
    const handles = ctx.flags.list("handle").map(checkHandle);
    if (handles.length > 0 && realms.length === 0) throw usageError("--handle needs --realm");
    const { pk } = await principalOf(ctx);
    const now = ctx.flags.int("now") ?? nowSec(ctx);
    const { cursor, state: s } = await readIdFold(ctx, principalFold(pk), toHex(principalStreamId(pk)));
    const devices = [...s.devices].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, d]) => ({
      device_id: id,
      device_pk: d.device_pk,
      label: d.label ?? null,
      active: deviceActive(s, fromHex(id), now),
      disabled: d.disabled,
      expires_at: d.expires_at ?? null,
      revoked: s.revoked.device.has(id),
    }));
    const lines = [
      `principal_id: ${toHex(principalIdFor(pk))}`,
      ...devices.map((d) => `device ${d.device_id}: ${d.active ? "ACTIVE" : "inactive"}`),
    ];
    const ctxs = [];
    for (const realmId of realms) {
      const ctxId = ctxIdFor(pk, realmId);
      const { state } = await readIdFold(ctx, ctxFold(ctxId, realmId), toHex(ctxStreamId(ctxId, realmId)));
      const profile = profileView(state);
      const links = linksView(state.links);
      ctxs.push({
        realm_id: toHex(realmId),
        ctx_id: toHex(ctxId),
        revoked: s.revoked.ctx.has(toHex(ctxId)),
        profile,
        links,
      });
      lines.push(
        `ctx ${toHex(ctxId)}: ${
          profile === null ? "no profile" : `display_name ${profile.display_name ?? "(unset)"}`
        }` +
          `, ${links.filter((l) => l.active).length} active link(s)`,
      );
    }
    const orgs = [];
    for (const o of ctx.flags.list("org-id")) {
      const orgId = fromHex(o, 32, "--org-id");
      const { state } = await readIdFold(ctx, orgFold(orgId), toHex(orgStreamId(orgId)));
      orgs.push({ org_id: toHex(orgId), ...orgView(state, orgId) });
      lines.push(`org ${toHex(orgId)}: ${state.profile?.display_name ?? "(no profile)"}`);
    }
    const handleRows = [];
    for (const realmId of handles.length === 0 ? [] : realms) {
      const { state } = await readIdFold(ctx, handleFold(realmId), toHex(handleStreamId(realmId)));
      for (const h of handles) {
        const c = state.get(h);
        handleRows.push({
          realm_id: toHex(realmId),
          handle: h,
          target_type: c?.target_type ?? null,
          target_id: c?.target_id ?? null,
          ts: c?.ts ?? null,
        });
        lines.push(`handle ${h}: ${c === undefined ? "unset" : `${c.target_type} ${c.target_id}`}`);
      }
    }
    ctx.out.result(
      {
        principal_pk: toHex(pk),
        principal_id: toHex(principalIdFor(pk)),
        now,
        principal_record: s.principal === undefined ? null : {
          created_at: s.principal.created_at,
          info: s.principal.info === undefined
            ? null
            : cborToJson(decodeCbor(fromHex(s.principal.info), "info")),
        },
        devices,
        revoked_auth_refs: [...s.revoked.auth_ref.keys()].sort(),
        revoked_ctx_ids: [...s.revoked.ctx.keys()].sort(),
        ctxs,
        orgs,
        handles: handleRows,
        ...foldJson(cursor),
      },
      lines,
    );
    return 0;
  },
};
