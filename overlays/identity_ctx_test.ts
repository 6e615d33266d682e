import assert from "node:assert/strict";
import { Ht, toHex, u64be } from "../core/mod.ts";
import type { BodyCodec } from "./body_codec.ts";
import type { OverlayEntry } from "./fold.ts";
import { encodeIdBody, ID_CTX_PROFILE, ID_EXTERNAL } from "./identity_bodies.ts";
import { ctxFold } from "./identity_ctx.ts";
import { activeLink, UNLINKED_ATTRIBUTE } from "./identity_external.ts";
import { ctxIdFor } from "./identity_ids.ts";
import { checkMergeLaws } from "./testing/laws.ts";
import { prng } from "../tests/util.ts";

const b = (x: number) => new Uint8Array(32).fill(x);
const REALM = b(8), CTX = ctxIdFor(b(1), REALM);

function entry(seq: number, codec: BodyCodec, rec: Record<string, unknown>): OverlayEntry {
  return {
    seq,
    msgId: Ht("test/leaf", u64be(seq)),
    clientId: b(9),
    hubTs: 0,
    hdr: { schema: codec.schemaId },
    body: encodeIdBody(codec, rec as never),
  };
}

const profile = (seq: number, updated_at: number, extra: Record<string, unknown> = {}) =>
  entry(seq, ID_CTX_PROFILE, { ctx_id: CTX, realm_id: REALM, ...extra, updated_at });
const link = (seq: number, ts: number, sub: string, extra: Record<string, unknown> = {}) =>
  entry(seq, ID_EXTERNAL, { realm_id: REALM, ctx_id: CTX, provider: "idp", external_sub: sub, ...extra, ts });

Deno.test("ctx profile: the winner is the greatest (updated_at, stream_seq); the whole record replaces the last (spec 001 ID §7.1)", () => {
  const f = ctxFold(CTX, REALM);
  const s = f.empty();
  f.apply(s, profile(1, 10, { display_name: "Alice", avatar_coid: b(3) }));
  f.apply(s, profile(2, 5, { display_name: "Old" }));
  assert.equal(s.profile?.display_name, "Alice", "an older updated_at loses even later in the stream");
  f.apply(s, profile(3, 10, { display_name: "Al" }));
  assert.equal(s.profile?.display_name, "Al", "equal updated_at: the later stream_seq wins");
  assert.equal(s.profile?.avatar_coid, undefined, "a field absent from the winner is unset");
  f.apply(s, profile(4, 11, { prefs: new Map([["theme", "dark"]]) }));
  assert.equal(s.profile?.display_name, undefined);
  assert.equal(typeof s.profile?.prefs, "string");
});

Deno.test("ctx fold rejects a profile or link of another ctx_id or realm_id, and a link naming only an org", () => {
  const f = ctxFold(CTX, REALM);
  const s = f.empty();
  assert.equal(
    f.apply(s, entry(1, ID_CTX_PROFILE, { ctx_id: b(2), realm_id: REALM, updated_at: 1 })),
    "rejected",
  );
  assert.equal(
    f.apply(s, entry(2, ID_CTX_PROFILE, { ctx_id: CTX, realm_id: b(2), updated_at: 1 })),
    "rejected",
  );
  assert.equal(f.apply(s, link(3, 1, "x", { realm_id: b(2) })), "rejected");
  assert.equal(
    f.apply(
      s,
      entry(4, ID_EXTERNAL, { realm_id: REALM, org_id: b(5), provider: "p", external_sub: "s", ts: 1 }),
    ),
    "rejected",
  );
  assert.equal(s.profile, undefined);
  assert.equal(s.links.size, 0);
});

Deno.test("ctx external links: an unlink that wins leaves no active link; a later link re-links", () => {
  const f = ctxFold(CTX, REALM);
  const s = f.empty();
  f.apply(s, link(1, 10, "sub-1"));
  assert.equal(activeLink(s.links, "idp", "sub-1")?.target_id, toHex(CTX));
  const unlinked = new Map([[UNLINKED_ATTRIBUTE, true]]);
  f.apply(s, link(2, 9, "sub-1", { attributes: unlinked }));
  assert.ok(activeLink(s.links, "idp", "sub-1") !== undefined, "an older unlink loses");
  f.apply(s, link(3, 11, "sub-1", { attributes: unlinked }));
  assert.equal(activeLink(s.links, "idp", "sub-1"), undefined);
  f.apply(s, link(4, 12, "sub-1"));
  assert.ok(activeLink(s.links, "idp", "sub-1") !== undefined);
});

Deno.test("property: the ctx fold is a monoid and order-insensitive (any arrival order folds to the same state)", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = prng(seed);
    const es: OverlayEntry[] = [];
    for (let seq = 1; seq <= 14; seq++) {
      es.push(
        r.int(2) === 0 ? profile(seq, r.int(4), { display_name: `n${r.int(3)}` }) : link(
          seq,
          r.int(4),
          `s${r.int(3)}`,
          r.int(3) === 0 ? { attributes: new Map([[UNLINKED_ATTRIBUTE, true]]) } : {},
        ),
      );
    }
    const f = ctxFold(CTX, REALM);
    checkMergeLaws(f, es, seed, 10);
    const fold = (xs: OverlayEntry[]) => {
      const s = f.empty();
      for (const e of xs) assert.equal(f.apply(s, e), "applied");
      return JSON.stringify(f.toJson(s));
    };
    const shuffled = [...es];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    assert.equal(fold(shuffled), fold(es), `seed ${seed}`);
  }
});
