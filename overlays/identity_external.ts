/**
 * External ID links (spec 001 ID §10.2, id.external.v1): "for each (provider, external_sub) there SHOULD be at most
 * one active linkage across trusted streams" and deployments "MUST define ... how conflicts are resolved". This
 * implementation's rule:
 * - Per (provider, external_sub) the linkage is one **LWW register**, ordered like the spec's other LWW fields by
 *   (ts, stream_seq, origin msg_id) (overlay decisions, "Bodies and identifiers"). Its value is the target (ctx_id
 *   or org_id) of the winning record, so at most one target is linked at a time: a later link of the same
 *   (provider, external_sub) to another target replaces the earlier one (the gateway only writes a link after
 *   validating a token the provider issued for that external_sub, cli/jwt_gateway.ts).
 * - An **unlink** is an id.external.v1 record whose `attributes` hold `"veen:unlinked": true`; when it wins, the
 *   (provider, external_sub) has no active link.
 * - Links folded from several trusted streams (a ctx stream and an org stream) merge with the same register, so
 *   the rule holds across them too. Links are order-insensitive: any arrival order folds to the same table.
 */
import { type CborValue, toHex } from "../core/mod.ts";
import type { BodyRecord } from "./body_codec.ts";
import { damaged, jsonArray, jsonHex, jsonObject, jsonUint, sortedEntries } from "./fold.ts";
import { idLater, type LwwPos } from "./identity_lww.ts";

/** The attributes key that marks an id.external.v1 record as an unlink. */
export const UNLINKED_ATTRIBUTE = "veen:unlinked";

/** The winning record of one (provider, external_sub). */
export interface ExternalCell extends LwwPos {
  provider: string;
  external_sub: string;
  target_type: "ctx" | "org";
  target_id: string;
  /** False when the winning record is an unlink. */
  active: boolean;
}

/** `provider \0 external_sub` → the winning record. */
export type ExternalLinks = Map<string, ExternalCell>;

const keyOf = (provider: string, sub: string) => `${provider}\u0000${sub}`;

/** True when an id.external.v1 record is an unlink (attributes `"veen:unlinked": true`). */
export function isUnlink(rec: BodyRecord): boolean {
  const a = rec.attributes;
  return a instanceof Map && (a as Map<CborValue, CborValue>).get(UNLINKED_ATTRIBUTE) === true;
}

/** Puts `c` into `links` when it wins over the current record of its (provider, external_sub). */
export function putLink(links: ExternalLinks, c: ExternalCell): void {
  const k = keyOf(c.provider, c.external_sub);
  const cur = links.get(k);
  if (cur === undefined || idLater(c, cur)) links.set(k, c);
}

/** The cell of a decoded id.external.v1 record at `pos` (ctx_id wins over org_id as the target when both). */
export function linkCell(rec: BodyRecord, pos: LwwPos): ExternalCell {
  const ctx = rec.ctx_id as Uint8Array | undefined;
  return {
    ...pos,
    provider: rec.provider as string,
    external_sub: rec.external_sub as string,
    target_type: ctx === undefined ? "org" : "ctx",
    target_id: toHex(ctx ?? rec.org_id as Uint8Array),
    active: !isUnlink(rec),
  };
}

/** `a` with every record of `b` put in (the register's merge: commutative, associative, idempotent). */
export function mergeLinks(a: ExternalLinks, b: ExternalLinks): ExternalLinks {
  const out: ExternalLinks = new Map(a);
  for (const c of b.values()) putLink(out, c);
  return out;
}

/** The active link of (provider, external_sub), if any. */
export function activeLink(links: ExternalLinks, provider: string, sub: string): ExternalCell | undefined {
  const c = links.get(keyOf(provider, sub));
  return c?.active === true ? c : undefined;
}

/** Every cell, sorted by (provider, external_sub). */
export function linkList(links: ExternalLinks): ExternalCell[] {
  return sortedEntries(links).map(([, c]) => c);
}

export function linksToJson(links: ExternalLinks): unknown {
  return linkList(links);
}

export function linksFromJson(v: unknown): ExternalLinks {
  const out: ExternalLinks = new Map();
  for (const row of jsonArray(v, "external links")) {
    const o = jsonObject(row, "external link");
    jsonUint(o.ts, "link ts");
    jsonUint(o.seq, "link seq");
    jsonHex(o.leaf, "link leaf", 32);
    jsonHex(o.target_id, "link target_id", 32);
    if (typeof o.provider !== "string" || typeof o.external_sub !== "string") damaged("link provider or sub");
    if (o.target_type !== "ctx" && o.target_type !== "org") damaged("link target_type");
    if (typeof o.active !== "boolean") damaged("link active");
    putLink(out, o as unknown as ExternalCell);
  }
  return out;
}
