/**
 * The fold of stream_id_ctx of one (ctx_id, realm_id) (spec 001 ID §7.1, §10.2):
 * - the context profile (id.ctx.profile.v1), an LWW register whose winner is the record greatest in (updated_at,
 *   stream_seq, origin msg_id) (overlays/identity_lww.ts); each record is the whole profile, so a field absent from
 *   the winner is unset;
 * - the ctx's external links (id.external.v1 naming this ctx_id), see identity_external.ts.
 * Records naming another ctx_id or realm_id are rejected ("realm_id MUST match the stream's realm_id").
 */
import { encodeCbor, toHex } from "../core/mod.ts";
import { damaged, type Fold, jsonHex, jsonObject, jsonUint } from "./fold.ts";
import { decodeIdBody, ID_CTX_PROFILE, ID_EXTERNAL } from "./identity_bodies.ts";
import {
  type ExternalLinks,
  linkCell,
  linksFromJson,
  linksToJson,
  mergeLinks,
  putLink,
} from "./identity_external.ts";
import { idLater, lwwFrom, type LwwPos } from "./identity_lww.ts";
import { originOf } from "./origin_dedup.ts";
import { decodeEntry } from "./fold.ts";

/** The winning id.ctx.profile.v1; `prefs` is the CBOR of the map, in hex. */
export type CtxProfileCell = LwwPos & { display_name?: string; avatar_coid?: string; prefs?: string };

export interface CtxState {
  profile?: CtxProfileCell;
  links: ExternalLinks;
}

/** The fold of stream_id_ctx of (`ctxId`, `realmId`). */
export function ctxFold(ctxId: Uint8Array, realmId: Uint8Array): Fold<CtxState> {
  const ctx = toHex(ctxId), realm = toHex(realmId);
  const empty = (): CtxState => ({ links: new Map() });
  return {
    kind: `id.ctx.v1-${ctx}`,
    schema: ID_CTX_PROFILE.schemaId,
    empty,
    merge(left, right) {
      const out: CtxState = { links: mergeLinks(left.links, right.links) };
      const p = left.profile === undefined ||
          (right.profile !== undefined && idLater(right.profile, left.profile))
        ? right.profile
        : left.profile;
      if (p !== undefined) out.profile = p;
      return out;
    },
    apply(s, e) {
      const leaf = toHex(originOf(e));
      const prof = decodeEntry(e, ID_CTX_PROFILE.schemaId, (b) => decodeIdBody(ID_CTX_PROFILE, b));
      if (prof.kind === "op") {
        const r = prof.op;
        if (toHex(r.ctx_id as Uint8Array) !== ctx || toHex(r.realm_id as Uint8Array) !== realm) {
          return "rejected";
        }
        const cell: CtxProfileCell = {
          ts: r.updated_at as number,
          seq: e.seq,
          leaf,
          ...(r.display_name === undefined ? {} : { display_name: r.display_name as string }),
          ...(r.avatar_coid === undefined ? {} : { avatar_coid: toHex(r.avatar_coid as Uint8Array) }),
          ...(r.prefs === undefined ? {} : { prefs: toHex(encodeCbor(r.prefs)) }),
        };
        if (s.profile === undefined || idLater(cell, s.profile)) s.profile = cell;
        return "applied";
      }
      if (prof.kind === "rejected") return "rejected";
      const link = decodeEntry(e, ID_EXTERNAL.schemaId, (b) => decodeIdBody(ID_EXTERNAL, b));
      if (link.kind !== "op") return link.kind;
      const r = link.op;
      if (
        r.ctx_id === undefined || toHex(r.ctx_id as Uint8Array) !== ctx ||
        toHex(r.realm_id as Uint8Array) !== realm
      ) return "rejected";
      putLink(s.links, linkCell(r, { ts: r.ts as number, seq: e.seq, leaf }));
      return "applied";
    },
    toJson: (s) => ({ profile: s.profile ?? null, links: linksToJson(s.links) }),
    fromJson(v) {
      const o = jsonObject(v, "ctx");
      const s: CtxState = { links: linksFromJson(o.links) };
      if (o.profile !== null) {
        const p = lwwFrom(o.profile, "ctx profile") as CtxProfileCell;
        if (p.display_name !== undefined && typeof p.display_name !== "string") damaged("ctx display_name");
        if (p.avatar_coid !== undefined) jsonHex(p.avatar_coid, "ctx avatar_coid", 32);
        if (p.prefs !== undefined) jsonHex(p.prefs, "ctx prefs");
        jsonUint(p.ts, "ctx updated_at");
        s.profile = p;
      }
      return s;
    },
  };
}
