import assert from "node:assert/strict";
import { Ht, toHex, utf8 } from "../core/mod.ts";
import {
  activeLink,
  type ExternalCell,
  type ExternalLinks,
  isUnlink,
  linkCell,
  linkList,
  linksFromJson,
  linksToJson,
  mergeLinks,
  putLink,
  UNLINKED_ATTRIBUTE,
} from "./identity_external.ts";
import { prng } from "../tests/util.ts";

const b = (x: number) => new Uint8Array(32).fill(x);
const cell = (ts: number, seq: number, target: number, active = true, sub = "s"): ExternalCell => ({
  ts,
  seq,
  leaf: toHex(Ht("test/cell", utf8(JSON.stringify([ts, seq, target, active, sub])))), // one record, one id
  provider: "idp",
  external_sub: sub,
  target_type: "ctx",
  target_id: toHex(b(target)),
  active,
});

Deno.test("external link: one register per (provider, external_sub), so at most one target is active", () => {
  const links: ExternalLinks = new Map();
  putLink(links, cell(1, 1, 10));
  putLink(links, cell(2, 2, 11));
  putLink(links, cell(1, 3, 12));
  assert.equal(activeLink(links, "idp", "s")?.target_id, toHex(b(11)), "greatest ts wins, not the last seq");
  assert.equal(linkList(links).length, 1);
  putLink(links, cell(3, 4, 11, false));
  assert.equal(activeLink(links, "idp", "s"), undefined, "an unlink that wins clears the link");
  assert.equal(activeLink(links, "idp", "other"), undefined);
});

Deno.test("external link: linkCell targets the ctx_id (else org_id); an unlink is attributes veen:unlinked = true", () => {
  const rec = { realm_id: b(1), ctx_id: b(2), provider: "p", external_sub: "x", ts: 5 };
  const pos = { ts: 5, seq: 1, leaf: toHex(b(9)) };
  assert.equal(linkCell(rec, pos).target_type, "ctx");
  assert.equal(linkCell({ ...rec, ctx_id: undefined, org_id: b(3) } as never, pos).target_id, toHex(b(3)));
  assert.equal(isUnlink(rec), false);
  assert.equal(isUnlink({ ...rec, attributes: new Map([[UNLINKED_ATTRIBUTE, true]]) }), true);
  assert.equal(isUnlink({ ...rec, attributes: new Map([[UNLINKED_ATTRIBUTE, "yes"]]) }), false);
});

Deno.test("property: merging link tables is commutative, associative and idempotent; JSON round-trips", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const r = prng(seed);
    const table = () => {
      const t: ExternalLinks = new Map();
      for (let i = 0; i < 5; i++) {
        putLink(t, cell(r.int(4), 1 + r.int(20), 10 + r.int(3), r.int(3) !== 0, `s${r.int(3)}`));
      }
      return t;
    };
    const [x, y, z] = [table(), table(), table()];
    const j = (t: ExternalLinks) => JSON.stringify(linksToJson(t));
    assert.equal(j(mergeLinks(x, y)), j(mergeLinks(y, x)));
    assert.equal(j(mergeLinks(mergeLinks(x, y), z)), j(mergeLinks(x, mergeLinks(y, z))));
    assert.equal(j(mergeLinks(x, x)), j(x));
    assert.equal(j(linksFromJson(JSON.parse(j(x)))), j(x));
  }
  assert.throws(() => linksFromJson([{ ...cell(1, 1, 1), target_type: "user" }]), /target_type/);
});
