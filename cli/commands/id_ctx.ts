/**
 * `veen id principal`, `veen id profile set|show` and `veen id external link|unlink|show` (spec 001 ID §3, §4.1,
 * §6.1, §7.1, §10.2):
 * - principal: the identifiers of the client's principal (principal_pk defaults to the client's id_sign_public)
 *   and, per `--realm`, its ctx_id and streams; with `--hub` the principal stream's folded record, with
 *   `--publish` an id.principal.v1 record on stream_id_principal first (what starts a principal stream);
 * - profile: id.ctx.profile.v1 on stream_id_ctx, an LWW register per (ctx_id, realm_id) ordered by (updated_at,
 *   stream_seq, origin msg_id). `set` sends the whole profile: fields not given are taken from the current winner
 *   unless `--replace`;
 * - external: id.external.v1 on the ctx stream (or the org stream with `--org-id`). `link` is the gateway: it
 *   validates a JWT of a trusted provider (cli/jwt_gateway.ts) and links the token's `sub`; `unlink` sends an
 *   unlink record (attributes `"veen:unlinked": true`); per (provider, external_sub) one LWW register, so at most
 *   one target is active (overlays/identity_external.ts).
 * Every read folds the verified stream (items checked as `stream --with-proof` does) from the client's summary,
 * counting bridged copies once.
 */
import { type CborValue, decodeCbor, fromHex, toHex, VeenError } from "../../core/mod.ts";
import {
  activeLink,
  ctxFold,
  ctxIdFor,
  type CtxState,
  ctxStreamId,
  encodeIdBody,
  type ExternalCell,
  type ExternalLinks,
  handleStreamId,
  ID_CTX_PROFILE,
  ID_EXTERNAL,
  ID_PRINCIPAL,
  linkList,
  mergeLinks,
  orgFold,
  orgStreamId,
  principalFold,
  principalIdFor,
  principalStreamId,
  UNLINKED_ATTRIBUTE,
} from "../../overlays/mod.ts";
import { type FlagSpec, usageError } from "../../cmd/mod.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  hubGiven,
  loadKeys,
  nowSec,
  recipientOf,
} from "../context.ts";
import { sendAndSave } from "../sender.ts";
import { cborToJson, jsonToCbor, parseJsonFlag } from "../body.ts";
import { readInputFile } from "../files.ts";
import { parseJwks, verifyJwt } from "../jwt_gateway.ts";
import { foldJson, READ_TAIL, WRITE_TAIL, writeOp } from "./crdt.ts";
import {
  COMMON,
  hex32,
  PRINCIPAL_FLAG,
  principalOf,
  readIdFold,
  REALM_FLAG,
  realmIdArg,
} from "./id_layer.ts";

/** A JSON object flag as a CBOR map (`--info-json`, `--prefs-json`, `--metadata-json`). */
export function mapFlag(ctx: CommandContext, name: string): Map<string, CborValue> | undefined {
  const text = ctx.flags.str(name);
  if (text === undefined) return undefined;
  const v = parseJsonFlag(text, `--${name}`);
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw usageError(`--${name} must be a JSON object`);
  }
  return jsonToCbor(v, `--${name}`) as Map<string, CborValue>;
}

// ---- principal ----

export const idPrincipal: Command = {
  path: ["id", "principal"],
  summary: "print the client's principal: principal_pk, principal_id, its streams and per realm its ctx_id",
  usage:
    "veen id principal --client DIR [--principal-pk HEX32] [--realm NAME|HEX32...] [--hub H [--publish [--info-json JSON]]]",
  details:
    "Without --hub nothing is sent or read. With --hub the principal stream is folded and its last id.principal.v1 " +
    "record and device count are printed; --publish first appends an id.principal.v1 record (created_at now), which " +
    "starts the stream.",
  flags: [
    CLIENT_FLAG,
    PRINCIPAL_FLAG,
    {
      name: "realm",
      multiple: true,
      metavar: "NAME|HEX32",
      help: "also print ctx_id and streams in this realm",
    },
    HUB_FLAG,
    {
      name: "publish",
      arity: 0,
      help: "append an id.principal.v1 record to stream_id_principal (needs --hub)",
    },
    { name: "info-json", metavar: "JSON", help: "the record's info map (a JSON object)" },
    { name: "created-at", metavar: "N", help: "Unix seconds (default: now)" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const { pk, keys } = await principalOf(ctx);
    const stream = toHex(principalStreamId(pk));
    const realms = ctx.flags.list("realm").map((r) => {
      const realmId = realmIdArg(r);
      const ctxId = ctxIdFor(pk, realmId);
      return {
        realm_id: toHex(realmId),
        ctx_id: toHex(ctxId),
        stream_id_ctx: toHex(ctxStreamId(ctxId, realmId)),
        stream_id_handle_ns: toHex(handleStreamId(realmId)),
      };
    });
    const out: Record<string, unknown> = {
      principal_pk: toHex(pk),
      principal_id: toHex(principalIdFor(pk)),
      stream_id_principal: stream,
      realms,
    };
    const lines = [
      `principal_pk: ${out.principal_pk}`,
      `principal_id: ${out.principal_id}`,
      `stream_id_principal: ${stream}`,
      ...realms.flatMap((r) => [`realm ${r.realm_id}: ctx_id ${r.ctx_id} stream_id_ctx ${r.stream_id_ctx}`]),
    ];
    const publish = ctx.flags.bool("publish");
    if (!hubGiven(ctx)) {
      if (publish) throw usageError("--publish needs --hub");
      ctx.out.result(out, lines);
      return 0;
    }
    out.published = null;
    if (publish) {
      const body = encodeIdBody(ID_PRINCIPAL, {
        principal_pk: pk,
        created_at: ctx.flags.int("created-at") ?? nowSec(ctx),
        info: mapFlag(ctx, "info-json"),
      });
      const { res } = await sendAndSave(ctx, clientDir(ctx), keys, stream, {
        hdr: { schema: ID_PRINCIPAL.schemaId },
        bodyBytes: body,
        recipientPk: (await recipientOf(ctx, keys)).hpkePk,
      });
      out.published = { stream_seq: res.receipt.streamSeq, msg_id: toHex(res.msgId) };
      lines.push(`published: stream_seq ${res.receipt.streamSeq}`);
    }
    const { cursor, state } = await readIdFold(ctx, principalFold(pk), stream);
    out.principal_record = state.principal === undefined ? null : {
      created_at: state.principal.created_at,
      info: state.principal.info === undefined
        ? null
        : cborToJson(decodeCbor(fromHex(state.principal.info), "info")),
    };
    out.devices = state.devices.size;
    Object.assign(out, foldJson(cursor));
    lines.push(
      state.principal === undefined
        ? "principal record: none (veen id principal --publish starts one)"
        : `principal record: created_at ${state.principal.created_at}`,
      `devices: ${state.devices.size}`,
    );
    ctx.out.result(out, lines);
    return 0;
  },
};

// ---- ctx profile ----

/** The ctx a command names: `--ctx-id` (with `--realm`) or the principal's ctx_id in `--realm`. */
async function ctxOf(
  ctx: CommandContext,
): Promise<{ ctxId: Uint8Array; realmId: Uint8Array; stream: string }> {
  const realmId = realmIdArg(ctx.flags.req("realm"));
  const given = hex32(ctx, "ctx-id");
  const ctxId = given ?? ctxIdFor((await principalOf(ctx)).pk, realmId);
  return { ctxId, realmId, stream: toHex(ctxStreamId(ctxId, realmId)) };
}

const CTX_FLAG: FlagSpec = {
  name: "ctx-id",
  metavar: "HEX32",
  help: "the ctx_id (default: the principal's ctx_id in --realm)",
};

/** What the CLI prints of a folded ctx profile (no stream positions: the same on every hub holding it). */
export function profileView(s: CtxState): Record<string, unknown> | null {
  const p = s.profile;
  if (p === undefined) return null;
  return {
    display_name: p.display_name ?? null,
    avatar_coid: p.avatar_coid ?? null,
    prefs: p.prefs === undefined ? null : cborToJson(decodeCbor(fromHex(p.prefs), "prefs")),
    updated_at: p.ts,
    msg_id: p.leaf,
  };
}

/** What the CLI prints of a link table. */
export function linksView(links: ExternalLinks): Record<string, unknown>[] {
  return linkList(links).map((c: ExternalCell) => ({
    provider: c.provider,
    external_sub: c.external_sub,
    target_type: c.target_type,
    target_id: c.target_id,
    active: c.active,
    ts: c.ts,
    msg_id: c.leaf,
  }));
}

export const idProfileSet: Command = {
  path: ["id", "profile", "set"],
  summary: "set a ctx's profile in a realm (id.ctx.profile.v1 on stream_id_ctx, LWW by updated_at)",
  usage:
    "veen id profile set --hub H --client DIR --realm NAME|HEX32 [--display-name T] [--avatar-coid HEX32] [--prefs-json JSON] [--updated-at N] [--replace]",
  flags: [
    ...COMMON,
    REALM_FLAG,
    PRINCIPAL_FLAG,
    CTX_FLAG,
    { name: "display-name", metavar: "TEXT", help: "display name (not unique)" },
    { name: "avatar-coid", metavar: "HEX32", help: "content object id of the avatar" },
    { name: "prefs-json", metavar: "JSON", help: "preferences (a JSON object)" },
    { name: "updated-at", metavar: "N", help: "Unix seconds (default: now)" },
    { name: "replace", arity: 0, help: "send only the fields given (others become unset)" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const { ctxId, realmId, stream } = await ctxOf(ctx);
    const keys = await loadKeys(ctx, clientDir(ctx));
    let cur: CtxState["profile"];
    if (!ctx.flags.bool("replace")) {
      cur = (await readIdFold(ctx, ctxFold(ctxId, realmId), stream)).state.profile;
    }
    const name = ctx.flags.str("display-name") ?? cur?.display_name;
    const avatar = hex32(ctx, "avatar-coid") ??
      (cur?.avatar_coid === undefined ? undefined : fromHex(cur.avatar_coid, 32));
    const prefs = mapFlag(ctx, "prefs-json") ??
      (cur?.prefs === undefined ? undefined : decodeCbor(fromHex(cur.prefs), "prefs"));
    const updatedAt = ctx.flags.int("updated-at") ?? nowSec(ctx);
    const body = encodeIdBody(ID_CTX_PROFILE, {
      ctx_id: ctxId,
      realm_id: realmId,
      display_name: name,
      avatar_coid: avatar,
      prefs,
      updated_at: updatedAt,
    });
    return await writeOp(
      ctx,
      ID_CTX_PROFILE.schemaId,
      body,
      { ctx_id: toHex(ctxId), realm_id: toHex(realmId), display_name: name ?? null, updated_at: updatedAt },
      [`ctx_id: ${toHex(ctxId)}`],
      keys,
      stream,
    );
  },
};

export const idProfileShow: Command = {
  path: ["id", "profile", "show"],
  summary: "print a ctx's folded profile in a realm (the LWW winner) or unset",
  usage:
    "veen id profile show --hub H --client DIR --realm NAME|HEX32 [--principal-pk HEX32 | --ctx-id HEX32]",
  flags: [...COMMON, REALM_FLAG, PRINCIPAL_FLAG, CTX_FLAG, ...READ_TAIL],
  async run(ctx) {
    const { ctxId, realmId, stream } = await ctxOf(ctx);
    const { cursor, state } = await readIdFold(ctx, ctxFold(ctxId, realmId), stream);
    const profile = profileView(state);
    ctx.out.result(
      { ctx_id: toHex(ctxId), realm_id: toHex(realmId), profile, ...foldJson(cursor) },
      profile === null ? ["unset"] : [
        `display_name: ${profile.display_name ?? "(unset)"}`,
        `avatar_coid: ${profile.avatar_coid ?? "(unset)"}`,
        `updated_at: ${profile.updated_at}`,
      ],
    );
    return 0;
  },
};

// ---- external links ----

const PROVIDER_FLAG: FlagSpec = {
  name: "provider",
  required: true,
  metavar: "NAME",
  help: 'provider name stored in the link, e.g. "google"',
};
const ORG_TARGET_FLAG: FlagSpec = {
  name: "org-id",
  metavar: "HEX32",
  help: "link the org (on stream_id_org) instead of the ctx",
};

/** The link's target and stream, and the link table folded there now. */
async function linkTarget(ctx: CommandContext) {
  const realmId = realmIdArg(ctx.flags.req("realm"));
  const orgId = hex32(ctx, "org-id");
  if (orgId !== undefined) {
    const stream = toHex(orgStreamId(orgId));
    const { state } = await readIdFold(ctx, orgFold(orgId), stream);
    return { realmId, ctxId: undefined, orgId, stream, links: state.links, target: toHex(orgId) };
  }
  const { ctxId, stream } = await ctxOf(ctx);
  const { state } = await readIdFold(ctx, ctxFold(ctxId, realmId), stream);
  return { realmId, ctxId, orgId: undefined, stream, links: state.links, target: toHex(ctxId) };
}

export const idExternalLink: Command = {
  path: ["id", "external", "link"],
  summary: "gateway: validate a provider's JWT and link its sub to the ctx (or org) (id.external.v1)",
  usage:
    "veen id external link --hub H --client DIR --realm NAME|HEX32 --provider NAME --token JWT --jwks FILE --issuer ISS --audience AUD [--leeway N] [--org-id HEX32]",
  details:
    "Trusted algorithms RS256, ES256 and EdDSA; iss must equal --issuer, aud include --audience, exp not reached " +
    "(refused at exp), nbf reached. The link binds the token's sub; a later link of the same (provider, sub) to " +
    "another target replaces it (one LWW register per (provider, sub)).",
  flags: [
    ...COMMON,
    REALM_FLAG,
    PRINCIPAL_FLAG,
    CTX_FLAG,
    ORG_TARGET_FLAG,
    PROVIDER_FLAG,
    {
      name: "token",
      required: true,
      metavar: "JWT",
      help: "the provider's ID token (compact JWS), or @FILE",
    },
    { name: "jwks", required: true, metavar: "FILE", help: "the provider's public keys (JWKS JSON)" },
    { name: "issuer", required: true, metavar: "ISS", help: "the trusted issuer (the token's iss)" },
    {
      name: "audience",
      required: true,
      metavar: "AUD",
      help: "this application's client id (in the token's aud)",
    },
    { name: "leeway", metavar: "SEC", help: "clock leeway for exp and nbf (default 0)" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const tokenArg = ctx.flags.req("token");
    const token = tokenArg.startsWith("@")
      ? new TextDecoder().decode(await readInputFile(tokenArg.slice(1), "token")).trim()
      : tokenArg;
    const keys = parseJwks(new TextDecoder().decode(await readInputFile(ctx.flags.req("jwks"), "JWKS")));
    const provider = ctx.flags.req("provider");
    const now = nowSec(ctx);
    const jwt = verifyJwt(token, keys, {
      issuer: ctx.flags.req("issuer"),
      audience: ctx.flags.req("audience"),
      now,
      leewaySec: ctx.flags.int("leeway", { min: 0, max: 3600 }) ?? 0,
    });
    const t = await linkTarget(ctx);
    const body = encodeIdBody(ID_EXTERNAL, {
      realm_id: t.realmId,
      ctx_id: t.ctxId,
      org_id: t.orgId,
      provider,
      external_sub: jwt.sub,
      attributes: new Map([["iss", jwt.iss]]),
      ts: now,
    });
    const replaced = activeLink(t.links, provider, jwt.sub);
    return await writeOp(
      ctx,
      ID_EXTERNAL.schemaId,
      body,
      {
        provider,
        external_sub: jwt.sub,
        target_type: t.ctxId === undefined ? "org" : "ctx",
        target_id: t.target,
        alg: jwt.alg,
        replaced_target_id: replaced !== undefined && replaced.target_id !== t.target
          ? replaced.target_id
          : null,
      },
      [`linked: ${provider} ${jwt.sub} -> ${t.target}`],
      undefined,
      t.stream,
    );
  },
};

export const idExternalUnlink: Command = {
  path: ["id", "external", "unlink"],
  summary: "unlink an external id from the ctx (or org) (id.external.v1 with attributes veen:unlinked)",
  usage:
    "veen id external unlink --hub H --client DIR --realm NAME|HEX32 --provider NAME --external-sub SUB [--org-id HEX32]",
  flags: [
    ...COMMON,
    REALM_FLAG,
    PRINCIPAL_FLAG,
    CTX_FLAG,
    ORG_TARGET_FLAG,
    PROVIDER_FLAG,
    { name: "external-sub", required: true, metavar: "SUB", help: "the linked subject" },
    { name: "ts", metavar: "N", help: "Unix seconds (default: now)" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const provider = ctx.flags.req("provider");
    const sub = ctx.flags.req("external-sub");
    const t = await linkTarget(ctx);
    const cur = activeLink(t.links, provider, sub);
    if (cur === undefined || cur.target_id !== t.target) {
      throw new VeenError(
        "E.NOT_FOUND",
        `No active link of "${provider}" "${sub}" to ${t.target}`,
      );
    }
    const body = encodeIdBody(ID_EXTERNAL, {
      realm_id: t.realmId,
      ctx_id: t.ctxId,
      org_id: t.orgId,
      provider,
      external_sub: sub,
      attributes: new Map([[UNLINKED_ATTRIBUTE, true]]),
      ts: Math.max(ctx.flags.int("ts") ?? nowSec(ctx), cur.ts),
    });
    return await writeOp(
      ctx,
      ID_EXTERNAL.schemaId,
      body,
      { provider, external_sub: sub, target_id: t.target },
      [`unlinked: ${provider} ${sub}`],
      undefined,
      t.stream,
    );
  },
};

export const idExternalShow: Command = {
  path: ["id", "external", "show"],
  summary: "list the external links of a ctx and/or orgs (one active target per (provider, sub))",
  usage:
    "veen id external show --hub H --client DIR --realm NAME|HEX32 [--principal-pk HEX32 | --ctx-id HEX32] [--org-id HEX32...] [--provider P --external-sub S]",
  flags: [
    ...COMMON,
    REALM_FLAG,
    PRINCIPAL_FLAG,
    CTX_FLAG,
    { name: "org-id", multiple: true, metavar: "HEX32", help: "also fold this org's links (repeatable)" },
    { name: "provider", metavar: "NAME", help: "only this provider" },
    { name: "external-sub", metavar: "SUB", help: "only this subject (with --provider)" },
    ...READ_TAIL,
  ],
  async run(ctx) {
    const { ctxId, realmId, stream } = await ctxOf(ctx);
    const { cursor, state } = await readIdFold(ctx, ctxFold(ctxId, realmId), stream);
    let links = state.links;
    for (const o of ctx.flags.list("org-id")) {
      const orgId = fromHex(o, 32, "--org-id");
      links = mergeLinks(
        links,
        (await readIdFold(ctx, orgFold(orgId), toHex(orgStreamId(orgId)))).state.links,
      );
    }
    const provider = ctx.flags.str("provider");
    const sub = ctx.flags.str("external-sub");
    if (sub !== undefined && provider === undefined) throw usageError("--external-sub needs --provider");
    const view = linksView(links).filter((l) =>
      (provider === undefined || l.provider === provider) && (sub === undefined || l.external_sub === sub)
    );
    ctx.out.result(
      { ctx_id: toHex(ctxId), realm_id: toHex(realmId), links: view, ...foldJson(cursor) },
      view.length === 0
        ? ["no links"]
        : view.map((l) =>
          `${l.provider} ${l.external_sub}: ${
            l.active ? "->" : "unlinked from"
          } ${l.target_type} ${l.target_id}`
        ),
    );
    return 0;
  },
};

export const ID_CTX_COMMANDS: readonly Command[] = [
  idPrincipal,
  idProfileSet,
  idProfileShow,
  idExternalLink,
  idExternalUnlink,
  idExternalShow,
];
