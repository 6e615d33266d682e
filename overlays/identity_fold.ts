/**
 * Folds of the ID layer (spec 001 ID §6-10), each a {@link Fold} whose summary merges adjacent ranges:
 * - principal: the stream of one principal_pk (§6, §11). Records naming another principal_pk are rejected
 *   (principal_pk is immutable and equals the stream key), as are devices whose device_id is not
 *   `Ht("id/device", device_pk)`. Per device_id the record with the highest stream_seq sets flags and expiry.
 *   A revocation (id.revoke.v1) is permanent: a revoked device stays INACTIVE whatever its flags say.
 * - handles: per (realm_id, handle) an LWW register (§10.1).
 * - org: the org profile (LWW), groups per (org_id, group_id) with the name LWW and the members an OR-set of ctx_id
 *   with re-add, additive roles (§8), and the org's external links (§10.2, overlays/identity_external.ts). A group
 *   or role record may name the org_id of the fold or, with realm_id, its scoped_org_id.
 * LWW fields are ordered by (time field, stream_seq, origin msg_id) (overlays/identity_lww.ts); every other field
 * by stream_seq. The ctx stream's fold is in identity_ctx.ts; the CLI wraps every ID fold in `originDedup`
 * (origin_dedup.ts) so that bridged copies count once.
 */
import { bytesEqual, encodeCbor, toHex } from "../core/mod.ts";
import type { BodyCodec, BodyRecord } from "./body_codec.ts";
import {
  type ApplyResult,
  damaged,
  decodeEntry,
  type Fold,
  jsonArray,
  jsonHex,
  jsonObject,
  jsonUint,
  type OverlayEntry,
  sortedEntries,
} from "./fold.ts";
import {
  decodeIdBody,
  ID_DEVICE,
  ID_EXTERNAL,
  ID_GROUP,
  ID_HANDLEMAP,
  ID_ORG_PROFILE,
  ID_PRINCIPAL,
  ID_REVOKE,
  ID_ROLE,
} from "./identity_bodies.ts";
import { deviceIdFor, scopedOrgIdFor } from "./identity_ids.ts";
import { idLater, lwwFrom, type LwwPos, putLww } from "./identity_lww.ts";
import {
  type ExternalLinks,
  linkCell,
  linksFromJson,
  linksToJson,
  mergeLinks,
  putLink,
} from "./identity_external.ts";
import { originOf } from "./origin_dedup.ts";

const hex = (v: unknown) => toHex(v as Uint8Array);

function decodeAny(
  e: OverlayEntry,
  codecs: readonly BodyCodec[],
): { codec: BodyCodec; rec: BodyRecord } | "ignored" | "rejected" {
  for (const codec of codecs) {
    const r = decodeEntry(e, codec.schemaId, (b) => decodeIdBody(codec, b));
    if (r.kind === "op") return { codec, rec: r.op };
    if (r.kind === "rejected") return "rejected";
  }
  return "ignored";
}

// ---- principal stream: devices and revocations ----

/** The current record of one device (the one with the highest stream_seq). */
export interface DeviceCell {
  seq: number;
  device_pk: string;
  dh_pk: string;
  label?: string;
  created_at: number;
  expires_at?: number;
  disabled: boolean;
}

export interface PrincipalState {
  /** stream_seq and CBOR hex of `info` of the last id.principal.v1, if any. */
  principal?: { seq: number; created_at: number; info?: string };
  /** device_id hex → current record. */
  devices: Map<string, DeviceCell>;
  /** Revoked device_id, revoked_auth_ref and ctx_id (hex) → stream_seq of the first revocation. */
  revoked: { device: Map<string, number>; auth_ref: Map<string, number>; ctx: Map<string, number> };
}

/**
 * ACTIVE (§6.2, §11.1): the device exists, flags.disabled is not true, `now <= expires_at` when it expires (so a
 * device is still active at exactly `now == expires_at`), and no revocation names its device_id.
 */
export function deviceActive(s: PrincipalState, deviceId: Uint8Array, now: number): boolean {
  const id = toHex(deviceId);
  const d = s.devices.get(id);
  if (d === undefined || d.disabled || s.revoked.device.has(id)) return false;
  return d.expires_at === undefined || now <= d.expires_at;
}

function mergeFirst(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [k, seq] of from) if (!into.has(k) || into.get(k)! > seq) into.set(k, seq);
}

function seqMapJson(m: ReadonlyMap<string, number>): unknown {
  return sortedEntries(m);
}

function seqMapFrom(v: unknown, what: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const row of jsonArray(v, what)) {
    const r = jsonArray(row, what);
    m.set(jsonHex(r[0], what, 32), jsonUint(r[1], what));
  }
  return m;
}

/** The fold of stream_id_principal of `principalPk`. */
export function principalFold(principalPk: Uint8Array): Fold<PrincipalState> {
  const pk = toHex(principalPk);
  const empty = (): PrincipalState => ({
    devices: new Map(),
    revoked: { device: new Map(), auth_ref: new Map(), ctx: new Map() },
  });
  return {
    kind: `id.principal.v1-${pk}`,
    schema: ID_PRINCIPAL.schemaId,
    empty,
    merge(left, right) {
      const out = empty();
      const p = right.principal ?? left.principal;
      if (p !== undefined) out.principal = p;
      for (const src of [left, right]) {
        for (const [k, d] of src.devices) {
          const cur = out.devices.get(k);
          if (cur === undefined || d.seq > cur.seq) out.devices.set(k, d);
        }
        mergeFirst(out.revoked.device, src.revoked.device);
        mergeFirst(out.revoked.auth_ref, src.revoked.auth_ref);
        mergeFirst(out.revoked.ctx, src.revoked.ctx);
      }
      return out;
    },
    apply(s, e): ApplyResult {
      const got = decodeAny(e, [ID_PRINCIPAL, ID_DEVICE, ID_REVOKE]);
      if (typeof got === "string") return got;
      const { codec, rec } = got;
      if (rec.principal_pk !== undefined && hex(rec.principal_pk) !== pk) return "rejected";
      if (codec === ID_PRINCIPAL) {
        if (s.principal !== undefined && e.seq <= s.principal.seq) return "applied";
        s.principal = {
          seq: e.seq,
          created_at: rec.created_at as number,
          ...(rec.info === undefined ? {} : { info: toHex(encodeCbor(rec.info)) }),
        };
      } else if (codec === ID_DEVICE) {
        if (!bytesEqual(rec.device_id as Uint8Array, deviceIdFor(rec.device_pk as Uint8Array))) {
          return "rejected";
        }
        const flags = rec.flags as Map<string, boolean> | undefined;
        const id = hex(rec.device_id);
        const cur = s.devices.get(id);
        if (cur !== undefined && cur.seq >= e.seq) return "applied";
        s.devices.set(id, {
          seq: e.seq,
          device_pk: hex(rec.device_pk),
          dh_pk: hex(rec.dh_pk),
          ...(rec.label === undefined ? {} : { label: rec.label as string }),
          created_at: rec.created_at as number,
          ...(rec.expires_at === undefined ? {} : { expires_at: rec.expires_at as number }),
          disabled: flags?.get("disabled") === true,
        });
      } else {
        if (
          rec.org_id !== undefined && rec.device_id === undefined && rec.revoked_auth_ref === undefined &&
          rec.ctx_id === undefined
        ) {
          return "ignored"; // an org revocation belongs to the org stream
        }
        const first = (m: Map<string, number>, v: unknown) => {
          if (v !== undefined && !m.has(hex(v))) m.set(hex(v), e.seq);
        };
        first(s.revoked.device, rec.device_id);
        first(s.revoked.auth_ref, rec.revoked_auth_ref);
        first(s.revoked.ctx, rec.ctx_id);
      }
      return "applied";
    },
    toJson(s) {
      return {
        principal: s.principal ?? null,
        devices: sortedEntries(s.devices),
        revoked_device: seqMapJson(s.revoked.device),
        revoked_auth_ref: seqMapJson(s.revoked.auth_ref),
        revoked_ctx: seqMapJson(s.revoked.ctx),
      };
    },
    fromJson(v) {
      const o = jsonObject(v, "principal");
      const s = empty();
      if (o.principal !== null) {
        const p = jsonObject(o.principal, "principal record");
        s.principal = {
          seq: jsonUint(p.seq, "principal seq"),
          created_at: jsonUint(p.created_at, "principal created_at"),
          ...(p.info === undefined ? {} : { info: jsonHex(p.info, "principal info") }),
        };
      }
      for (const row of jsonArray(o.devices, "devices")) {
        const r = jsonArray(row, "device");
        const d = jsonObject(r[1], "device");
        jsonUint(d.seq, "device seq");
        jsonHex(d.device_pk, "device_pk", 32);
        if (typeof d.disabled !== "boolean") damaged("device disabled");
        s.devices.set(jsonHex(r[0], "device_id", 32), d as unknown as DeviceCell);
      }
      s.revoked.device = seqMapFrom(o.revoked_device, "revoked_device");
      s.revoked.auth_ref = seqMapFrom(o.revoked_auth_ref, "revoked_auth_ref");
      s.revoked.ctx = seqMapFrom(o.revoked_ctx, "revoked_ctx");
      return s;
    },
  };
}

// ---- handle namespace of one realm ----

/** The current mapping of one handle. */
export interface HandleCell extends LwwPos {
  target_type: "ctx" | "org";
  target_id: string;
}

/** handle → winning mapping. */
export type HandleState = Map<string, HandleCell>;

/** The fold of stream_id_handle_ns of `realmId` (§10.1): records of another realm are rejected. */
export function handleFold(realmId: Uint8Array): Fold<HandleState> {
  const realm = toHex(realmId);
  return {
    kind: `id.handlemap.v1-${realm}`,
    schema: ID_HANDLEMAP.schemaId,
    empty: () => new Map(),
    merge(left, right) {
      const out: HandleState = new Map(left);
      for (const [k, c] of right) putLww(out, k, c);
      return out;
    },
    apply(s, e) {
      const r = decodeEntry(e, ID_HANDLEMAP.schemaId, (b) => decodeIdBody(ID_HANDLEMAP, b));
      if (r.kind !== "op") return r.kind;
      if (hex(r.op.realm_id) !== realm) return "rejected";
      putLww(s, r.op.handle as string, {
        ts: r.op.ts as number,
        seq: e.seq,
        leaf: toHex(originOf(e)),
        target_type: r.op.target_type as "ctx" | "org",
        target_id: hex(r.op.target_id),
      });
      return "applied";
    },
    toJson: (s) => sortedEntries(s),
    fromJson(v) {
      const s: HandleState = new Map();
      for (const row of jsonArray(v, "handles")) {
        const r = jsonArray(row, "handle");
        if (typeof r[0] !== "string") damaged("handle is not text");
        const c = lwwFrom(r[1], "handle") as HandleCell;
        if (c.target_type !== "ctx" && c.target_type !== "org") damaged("handle target_type");
        jsonHex(c.target_id, "handle target_id", 32);
        s.set(r[0], c);
      }
      return s;
    },
  };
}

// ---- org stream: profile, groups, roles ----

/** One group: its name (LWW) and per ctx_id the stream_seq of the last add and of the last remove. */
export interface GroupCell {
  name: LwwPos & { name: string };
  members: Map<string, { add: number; remove: number }>;
}

/** The winning id.org.profile.v1 (§8.1); `metadata` is the CBOR of the map, in hex. */
export type OrgProfileCell = LwwPos & { display_name?: string; metadata?: string; created_at: number };

export interface OrgState {
  profile?: OrgProfileCell;
  /** `org_id/group_id` (hex, org_id as the record names it) → group. */
  groups: Map<string, GroupCell>;
  /** `org_id/ctx/ctx_id` or `org_id/group/group_id` → roles. */
  roles: Map<string, Set<string>>;
  /** External links of the org (id.external.v1 naming this org_id, §10.2). */
  links: ExternalLinks;
}

/** Members of a group: ctx_ids whose last add comes after their last remove (OR-set with re-add, §8.2). */
export function groupMembers(s: OrgState, orgId: Uint8Array, groupId: Uint8Array): string[] {
  const g = s.groups.get(`${toHex(orgId)}/${toHex(groupId)}`);
  if (g === undefined) return [];
  return sortedEntries(g.members).filter(([, m]) => m.add > m.remove).map(([k]) => k);
}

/** Roles of a ctx_id (§8.3): direct roles and the roles of every group it is a member of; sorted. */
export function ctxRoles(s: OrgState, orgId: Uint8Array, ctxId: Uint8Array): string[] {
  const org = toHex(orgId), ctx = toHex(ctxId);
  const out = new Set(s.roles.get(`${org}/ctx/${ctx}`) ?? []);
  for (const [key, g] of s.groups) {
    const [o, gid] = key.split("/");
    const m = g.members.get(ctx);
    if (o === org && m !== undefined && m.add > m.remove) {
      for (const r of s.roles.get(`${org}/group/${gid}`) ?? []) out.add(r);
    }
  }
  return [...out].sort();
}

function mergeGroup(a: GroupCell, b: GroupCell): GroupCell {
  const members = new Map(a.members);
  for (const [k, m] of b.members) {
    const cur = members.get(k);
    members.set(
      k,
      cur === undefined ? m : { add: Math.max(cur.add, m.add), remove: Math.max(cur.remove, m.remove) },
    );
  }
  return { name: idLater(b.name, a.name) ? b.name : a.name, members };
}

/** The fold of stream_id_org of `orgId` (§8): records of another org are rejected. */
export function orgFold(orgId: Uint8Array): Fold<OrgState> {
  const org = toHex(orgId);
  const empty = (): OrgState => ({ groups: new Map(), roles: new Map(), links: new Map() });
  const ownOrg = (rec: BodyRecord): boolean =>
    hex(rec.org_id) === org ||
    (rec.realm_id !== undefined &&
      hex(rec.org_id) === toHex(scopedOrgIdFor(orgId, rec.realm_id as Uint8Array)));
  const addRole = (s: OrgState, key: string, role: string) => {
    const set = s.roles.get(key) ?? new Set<string>();
    set.add(role);
    s.roles.set(key, set);
  };
  return {
    kind: `id.org.v1-${org}`,
    schema: ID_ORG_PROFILE.schemaId,
    empty,
    merge(left, right) {
      const out = empty();
      const prof = left.profile === undefined ||
          (right.profile !== undefined && idLater(right.profile, left.profile))
        ? right.profile
        : left.profile;
      if (prof !== undefined) out.profile = prof;
      out.links = mergeLinks(left.links, right.links);
      for (const src of [left, right]) {
        for (const [k, g] of src.groups) {
          const cur = out.groups.get(k);
          out.groups.set(
            k,
            cur === undefined ? mergeGroup(g, { name: g.name, members: new Map() }) : mergeGroup(cur, g),
          );
        }
        for (const [k, roles] of src.roles) for (const r of roles) addRole(out, k, r);
      }
      return out;
    },
    apply(s, e) {
      const got = decodeAny(e, [ID_ORG_PROFILE, ID_GROUP, ID_ROLE, ID_EXTERNAL]);
      if (typeof got === "string") return got;
      const { codec, rec } = got;
      const leaf = toHex(originOf(e));
      if (codec === ID_ORG_PROFILE) {
        if (hex(rec.org_id) !== org) return "rejected";
        const cell: OrgProfileCell = {
          ts: rec.updated_at as number,
          seq: e.seq,
          leaf,
          ...(rec.display_name === undefined ? {} : { display_name: rec.display_name as string }),
          ...(rec.metadata === undefined ? {} : { metadata: toHex(encodeCbor(rec.metadata)) }),
          created_at: rec.created_at as number,
        };
        if (s.profile === undefined || idLater(cell, s.profile)) s.profile = cell;
        return "applied";
      }
      if (codec === ID_EXTERNAL) {
        if (rec.ctx_id !== undefined || hex(rec.org_id) !== org) return "rejected";
        putLink(s.links, linkCell(rec, { ts: rec.ts as number, seq: e.seq, leaf }));
        return "applied";
      }
      if (!ownOrg(rec)) return "rejected";
      const recOrg = hex(rec.org_id);
      if (codec === ID_ROLE) {
        for (const c of (rec.targets_ctx ?? []) as Uint8Array[]) {
          addRole(s, `${recOrg}/ctx/${toHex(c)}`, rec.role as string);
        }
        for (const g of (rec.targets_group ?? []) as Uint8Array[]) {
          addRole(s, `${recOrg}/group/${toHex(g)}`, rec.role as string);
        }
        return "applied";
      }
      const adds = ((rec.members_add ?? []) as Uint8Array[]).map(toHex);
      const removes = ((rec.members_remove ?? []) as Uint8Array[]).map(toHex);
      if (adds.some((a) => removes.includes(a))) return "rejected";
      const key = `${recOrg}/${hex(rec.group_id)}`;
      const name = { ts: rec.updated_at as number, seq: e.seq, leaf, name: rec.name as string };
      const g = s.groups.get(key) ?? { name, members: new Map() };
      if (idLater(name, g.name)) g.name = name;
      for (const a of adds) g.members.set(a, { add: e.seq, remove: g.members.get(a)?.remove ?? 0 });
      for (const r of removes) g.members.set(r, { add: g.members.get(r)?.add ?? 0, remove: e.seq });
      s.groups.set(key, g);
      return "applied";
    },
    toJson(s) {
      return {
        profile: s.profile ?? null,
        groups: sortedEntries(s.groups).map(([k, g]) => [k, g.name, sortedEntries(g.members)]),
        roles: sortedEntries(s.roles).map(([k, r]) => [k, [...r].sort()]),
        links: linksToJson(s.links),
      };
    },
    fromJson(v) {
      const o = jsonObject(v, "org");
      const s = empty();
      if (o.profile !== null) {
        const p = lwwFrom(o.profile, "org profile") as OrgProfileCell;
        jsonUint(p.created_at, "org created_at");
        if (p.metadata !== undefined) jsonHex(p.metadata, "org metadata");
        s.profile = p;
      }
      s.links = linksFromJson(o.links);
      for (const row of jsonArray(o.groups, "groups")) {
        const r = jsonArray(row, "group");
        if (typeof r[0] !== "string") damaged("group key");
        const name = lwwFrom(r[1], "group name") as GroupCell["name"];
        if (typeof name.name !== "string") damaged("group name");
        const members = new Map<string, { add: number; remove: number }>();
        for (const mrow of jsonArray(r[2], "members")) {
          const m = jsonArray(mrow, "member");
          const c = jsonObject(m[1], "member");
          members.set(jsonHex(m[0], "member", 32), {
            add: jsonUint(c.add, "add"),
            remove: jsonUint(c.remove, "remove"),
          });
        }
        s.groups.set(r[0], { name, members });
      }
      for (const row of jsonArray(o.roles, "roles")) {
        const r = jsonArray(row, "role");
        if (typeof r[0] !== "string") damaged("role key");
        s.roles.set(
          r[0],
          new Set(jsonArray(r[1], "roles").map((x) => typeof x === "string" ? x : damaged("role"))),
        );
      }
      return s;
    },
  };
}
