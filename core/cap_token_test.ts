import assert from "node:assert/strict";
import { concat, toHex } from "./bytes.ts";
import { encodeCbor } from "./cbor.ts";
import { signingKeyFromSeed } from "./ed25519.ts";
import { Ht } from "./hash.ts";
import { streamIdFor } from "./ids.ts";
import {
  authRef,
  capExpiresAt,
  capLinkDigest,
  capRoot,
  decodeCapToken,
  encodeCapToken,
  extendCapChain,
  issueCapToken,
  verifyCapChain,
} from "./cap_token.ts";
import { throwsCode } from "../tests/util.ts";

const issuer = signingKeyFromSeed(new Uint8Array(32).fill(5));
const subject = signingKeyFromSeed(new Uint8Array(32).fill(6));

function token() {
  return issueCapToken({
    issuerSecret: issuer.secret,
    issuerPk: issuer.public,
    subjectPk: subject.public,
    streamIds: [streamIdFor("b"), streamIdFor("a"), streamIdFor("a")],
    ttl: 600,
    rate: { perSec: 5, burst: 10 },
  });
}

Deno.test("issueCapToken sorts and deduplicates stream ids and verifies", () => {
  const t = token();
  assert.equal(t.allow.streamIds.length, 2);
  assert.ok(Buffer.compare(t.allow.streamIds[0]!, t.allow.streamIds[1]!) < 0);
  verifyCapChain(t);
});

Deno.test("cap_token CBOR uses integer keys and round-trips; auth_ref is Ht(veen/cap, CBOR)", () => {
  const t = token();
  const b = encodeCapToken(t);
  assert.equal(b[0], 0xa5);
  assert.deepEqual(encodeCapToken(decodeCapToken(b)), b);
  assert.equal(toHex(authRef(t)), toHex(Ht("veen/cap", b)));
});

Deno.test("cap link digest is Ht(veen/cap-link, CBOR(body) || prev_sig)", () => {
  const t = token();
  const body = new Map<number, unknown>([
    [1, 1],
    [2, t.issuerPk],
    [3, t.subjectPk],
    [4, new Map<number, unknown>([[1, t.allow.streamIds], [2, 600], [3, new Map([[1, 5], [2, 10]])]])],
  ]);
  assert.equal(
    toHex(capLinkDigest(t, new Uint8Array(64))),
    toHex(Ht("veen/cap-link", concat(encodeCbor(body as never), new Uint8Array(64)))),
  );
});

Deno.test("extended chains verify; a tampered link, field or foreign signer fails with E.CAP", () => {
  const t2 = extendCapChain(token(), issuer.secret);
  verifyCapChain(t2);
  const bad = t2.sigChain.map((s) => s.slice());
  bad[1]![3]! ^= 1;
  throwsCode(() => verifyCapChain({ ...t2, sigChain: bad }), "E.CAP");
  throwsCode(() => verifyCapChain({ ...t2, allow: { ...t2.allow, ttl: 601 } }), "E.CAP");
  throwsCode(() => verifyCapChain(extendCapChain(token(), subject.secret)), "E.CAP");
});

Deno.test("chain length is bounded to 8 links", () => {
  let t = token();
  for (let i = 1; i < 8; i++) t = extendCapChain(t, issuer.secret);
  verifyCapChain(t);
  throwsCode(() => extendCapChain(t, issuer.secret), "E.CAP");
});

Deno.test("decodeCapToken rejects unsorted stream ids, unknown keys and null rate", () => {
  const t = token();
  const unsorted = { ...t, allow: { ...t.allow, streamIds: [...t.allow.streamIds].reverse() } };
  throwsCode(() => decodeCapToken(encodeCapToken(unsorted)), "E.CAP");
  const m = new Map<number, unknown>([[1, 1], [2, t.issuerPk], [3, t.subjectPk], [
    4,
    new Map<number, unknown>([[1, t.allow.streamIds], [2, 1], [3, null]]),
  ], [5, t.sigChain]]);
  throwsCode(() => decodeCapToken(encodeCbor(m as never)), "E.SIZE");
  m.set(4, new Map<number, unknown>([[1, t.allow.streamIds], [2, 1]]));
  m.set(6, 1);
  throwsCode(() => decodeCapToken(encodeCbor(m as never)), "E.SIZE");
});

Deno.test("capRoot is what the first link signs: shared by a chain's prefixes and extensions, not by other bodies", () => {
  const one = token();
  const two = extendCapChain(one, issuer.secret);
  assert.notEqual(toHex(authRef(one)), toHex(authRef(two)));
  assert.equal(toHex(capRoot(two)), toHex(capRoot(one)));
  assert.equal(toHex(capRoot(one)), toHex(capLinkDigest(one, new Uint8Array(64))));
  const longer = { ...one, allow: { ...one.allow, ttl: 601 } };
  assert.notEqual(toHex(capRoot(longer)), toHex(capRoot(one)));
});

Deno.test("capExpiresAt is issued_at + ttl while that is a safe integer, else E.CAP", () => {
  const max = Number.MAX_SAFE_INTEGER;
  assert.equal(capExpiresAt(1_700_000_000, 60), 1_700_000_060);
  assert.equal(capExpiresAt(1_700_000_000, max - 1_700_000_000), max);
  for (const ttl of [max - 1_700_000_000 + 1, max, 2 ** 53, -1, 1.5]) {
    throwsCode(() => capExpiresAt(1_700_000_000, ttl), "E.CAP");
  }
});
