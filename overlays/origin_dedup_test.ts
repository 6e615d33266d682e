/**
 * Deduplication by origin: a stream holding originals and any number of mirrored copies (parent_id = original
 * msg_id) folds like the originals alone, for every ID fold (spec 001 ID §12.1).
 */
import assert from "node:assert/strict";
import { Ht, schemaIdFor, toHex, u64be } from "../core/mod.ts";
import type { BodyCodec } from "./body_codec.ts";
import type { Fold, OverlayEntry } from "./fold.ts";
import {
  encodeIdBody,
  ID_CTX_PROFILE,
  ID_DEVICE,
  ID_EXTERNAL,
  ID_GROUP,
  ID_HANDLEMAP,
  ID_REVOKE,
  ID_ROLE,
} from "./identity_bodies.ts";
import { ctxFold } from "./identity_ctx.ts";
import { ctxRoles, deviceActive, groupMembers, handleFold, orgFold, principalFold } from "./identity_fold.ts";
import { activeLink } from "./identity_external.ts";
import { ctxIdFor, deviceIdFor, groupIdFor, orgIdFor } from "./identity_ids.ts";
import { originDedup, originOf } from "./origin_dedup.ts";
import { prng } from "../tests/util.ts";

const b = (x: number) => new Uint8Array(32).fill(x);
const P = b(1), REALM = b(8), CTX = ctxIdFor(P, REALM), ORG = orgIdFor(b(6)), G = groupIdFor(ORG, "eds");
const ATTEST = schemaIdFor("federation.mirror.v1");

const rec = (codec: BodyCodec, r: Record<string, unknown>) => ({
  codec,
  body: encodeIdBody(codec, r as never),
});
type Rec = ReturnType<typeof rec>;

/** Entries 1..n of `recs` as written on the origin hub (no parent_id). */
function originals(recs: Rec[], tag: string): OverlayEntry[] {
  return recs.map((x, i) => ({
    seq: i + 1,
    msgId: Ht(`test/${tag}`, u64be(i + 1)),
    clientId: b(9),
    hubTs: 0,
    hdr: { schema: x.codec.schemaId },
    body: x.body,
  }));
}

/**
 * What a bridge may leave on the target: copies in source order (parent_id = original msg_id, new msg_ids), each
 * followed by an attestation, with random extra duplicate copies of earlier originals.
 */
function bridged(src: OverlayEntry[], r: ReturnType<typeof prng>): OverlayEntry[] {
  const out: OverlayEntry[] = [];
  const push = (schema: Uint8Array, parentId: Uint8Array, body: Uint8Array) =>
    out.push({
      seq: out.length + 1,
      msgId: Ht("test/copy", u64be(out.length + 1)),
      clientId: b(10),
      hubTs: 0,
      hdr: { schema, parentId },
      body,
    });
  for (let i = 0; i < src.length; i++) {
    const e = src[i]!;
    push(e.hdr.schema, e.msgId, e.body);
    push(ATTEST, e.msgId, new Uint8Array([0xa0]));
    if (r.int(3) === 0) {
      const d = src[r.int(i + 1)]!;
      push(d.hdr.schema, d.msgId, d.body);
    }
  }
  return out;
}

function fold<S>(f: Fold<S>, es: OverlayEntry[]): S {
  const d = originDedup(f);
  const s = d.empty();
  for (const e of es) d.apply(s, e);
  return s.state;
}

Deno.test("originOf: parent_id of a copy, else the entry's own msg_id", () => {
  const e = originals([rec(ID_ROLE, { org_id: ORG, role: "r", targets_ctx: [CTX], ts: 1 })], "o")[0]!;
  assert.equal(toHex(originOf(e)), toHex(e.msgId));
  assert.equal(toHex(originOf({ ...e, hdr: { ...e.hdr, parentId: b(4) } })), toHex(b(4)));
});

Deno.test("originDedup: a repeated origin is ignored; the seen set survives the summary round-trip", () => {
  const f = originDedup(orgFold(ORG));
  const [e] = originals([rec(ID_ROLE, { org_id: ORG, role: "r", targets_ctx: [CTX], ts: 1 })], "o");
  const s = f.empty();
  assert.equal(f.apply(s, e!), "applied");
  assert.equal(f.apply(s, { ...e!, seq: 2, msgId: b(3), hdr: { ...e!.hdr, parentId: e!.msgId } }), "ignored");
  const back = f.fromJson(JSON.parse(JSON.stringify(f.toJson(s))));
  assert.equal(
    f.apply(back, { ...e!, seq: 3, msgId: b(4), hdr: { ...e!.hdr, parentId: e!.msgId } }),
    "ignored",
  );
  assert.throws(() => f.fromJson({ seen: [] }), /no state/);
});

Deno.test("property: every ID fold of a bridged stream with duplicate copies equals the fold of the original stream", () => {
  for (let seed = 1; seed <= 25; seed++) {
    const r = prng(seed);
    const dev = () => b(20 + r.int(3));
    const principal: Rec[] = [], org: Rec[] = [], ctx: Rec[] = [], handles: Rec[] = [];
    for (let i = 0; i < 10; i++) {
      const d = dev();
      principal.push(
        r.int(4) === 0
          ? rec(ID_REVOKE, { principal_pk: P, device_id: deviceIdFor(d), ts: i })
          : rec(ID_DEVICE, {
            principal_pk: P,
            device_id: deviceIdFor(d),
            device_pk: d,
            dh_pk: b(7),
            created_at: 1,
            expires_at: r.int(50),
            flags: new Map([["disabled", r.int(2) === 0]]),
          }),
      );
      const member = b(40 + r.int(3));
      org.push(
        [
          rec(ID_GROUP, {
            org_id: ORG,
            group_id: G,
            name: `n${r.int(3)}`,
            members_add: [member],
            updated_at: r.int(4),
          }),
          rec(ID_GROUP, {
            org_id: ORG,
            group_id: G,
            name: "x",
            members_remove: [member],
            updated_at: r.int(4),
          }),
          rec(ID_ROLE, { org_id: ORG, role: `r${r.int(3)}`, targets_group: [G], ts: i }),
        ][r.int(3)]!,
      );
      ctx.push(
        r.int(2) === 0
          ? rec(ID_CTX_PROFILE, {
            ctx_id: CTX,
            realm_id: REALM,
            display_name: `d${r.int(3)}`,
            updated_at: r.int(4),
          })
          : rec(ID_EXTERNAL, {
            realm_id: REALM,
            ctx_id: CTX,
            provider: "idp",
            external_sub: `s${r.int(2)}`,
            ts: r.int(4),
          }),
      );
      handles.push(
        rec(ID_HANDLEMAP, {
          realm_id: REALM,
          handle: `@h${r.int(2)}`,
          target_type: "ctx",
          target_id: b(30 + r.int(4)),
          ts: r.int(4),
        }),
      );
    }
    // What a reader sees (no stream positions, which differ between hubs by construction).
    const views: [Fold<never>, Rec[], (s: never) => unknown][] = [
      [
        principalFold(P) as never,
        principal,
        (s: never) =>
          [20, 21, 22].map((
            x,
          ) => [deviceActive(s, deviceIdFor(b(x)), 25), deviceActive(s, deviceIdFor(b(x)), 0)]),
      ],
      [
        orgFold(ORG) as never,
        org,
        (s: never) => [groupMembers(s, ORG, G), [40, 41, 42].map((x) => ctxRoles(s, ORG, b(x)))],
      ],
      [
        ctxFold(CTX, REALM) as never,
        ctx,
        (
          s: { profile?: { display_name?: string; leaf: string }; links: never },
        ) => [
          s.profile?.display_name,
          s.profile?.leaf,
          ["s0", "s1"].map((x) => activeLink(s.links, "idp", x)?.leaf),
        ],
      ] as never,
      [
        handleFold(REALM) as never,
        handles,
        (s: Map<string, { target_id: string; leaf: string }>) =>
          ["@h0", "@h1"].map((h) => [s.get(h)?.target_id, s.get(h)?.leaf]),
      ] as never,
    ];
    for (const [f, recs, view] of views) {
      const src = originals(recs, `src${seed}`);
      const want = JSON.stringify(view(fold(f, src)));
      assert.equal(JSON.stringify(view(fold(f, bridged(src, r)))), want, `${f.kind} seed ${seed}`);
      // Copies of copies (a second bridge hop made from the same originals) change nothing either.
      assert.equal(
        JSON.stringify(
          view(fold(f, [...src, ...bridged(src, r).map((e) => ({ ...e, seq: e.seq + src.length }))])),
        ),
        want,
      );
    }
  }
});
