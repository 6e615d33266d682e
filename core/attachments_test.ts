import assert from "node:assert/strict";
import {
  attKeyContext,
  attNode,
  attNonce,
  attPeaks,
  attRoot,
  coidOf,
  decryptAttachment,
  encryptAttachment,
  verifyAttachment,
} from "./attachments.ts";
import { concat, toHex, u64be, utf8, ZERO32 } from "./bytes.ts";
import { H, Ht } from "./hash.ts";
import { prng, throwsCode } from "../tests/util.ts";

const coid = (i: number) => H(utf8(`attachment ${i}`));
const coids = (n: number) => Array.from({ length: n }, (_, i) => coid(i));
const node = (l: Uint8Array, r: Uint8Array) => Ht("veen/att-node", concat(l, r));
const root = (...peaks: Uint8Array[]) => Ht("veen/att-root", concat(...peaks));

/** Naive reference: split n into powers of two, largest (oldest) first; peaks listed smallest first. */
function naiveRoot(cs: Uint8Array[]): Uint8Array {
  const perfect = (xs: Uint8Array[]): Uint8Array =>
    xs.length === 1 ? xs[0]! : node(perfect(xs.slice(0, xs.length / 2)), perfect(xs.slice(xs.length / 2)));
  const peaks: Uint8Array[] = [];
  let start = 0;
  for (let bit = 1 << 20; bit >= 1; bit >>= 1) {
    if (cs.length & bit) {
      peaks.push(perfect(cs.slice(start, start + bit)));
      start += bit;
    }
  }
  return root(...peaks.reverse());
}

Deno.test("att_root of one coid hashes the single peak with veen/att-root", () => {
  const [a] = coids(1) as [Uint8Array];
  assert.deepEqual(attRoot([a]), root(a));
  assert.notDeepEqual(attRoot([a]), a);
});

Deno.test("att_root of two coids is the root of one internal node", () => {
  const [a, b] = coids(2) as [Uint8Array, Uint8Array];
  assert.deepEqual(attNode(a, b), node(a, b));
  assert.deepEqual(attRoot([a, b]), root(node(a, b)));
});

Deno.test("att_root of three coids lists the newest (smallest) peak first", () => {
  const [a, b, c] = coids(3) as [Uint8Array, Uint8Array, Uint8Array];
  assert.deepEqual(attPeaks([a, b, c]), [c, node(a, b)]);
  assert.deepEqual(attRoot([a, b, c]), root(c, node(a, b)));
});

Deno.test("att_root agrees with the naive reference for 1..70 coids", () => {
  for (let n = 1; n <= 70; n++) assert.deepEqual(attRoot(coids(n)), naiveRoot(coids(n)), `n = ${n}`);
  const c = coids(7);
  const [a, b, d, e, f, g, h] = [c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!];
  assert.deepEqual(attRoot(c), root(h, node(f, g), node(node(a, b), node(d, e))));
});

Deno.test("att_root depends on order and on every coid", () => {
  const cs = coids(5);
  const base = attRoot(cs);
  assert.notDeepEqual(attRoot([cs[1]!, cs[0]!, ...cs.slice(2)]), base);
  for (let i = 0; i < cs.length; i++) {
    const changed = cs.slice();
    changed[i] = H(changed[i]!);
    assert.notDeepEqual(attRoot(changed), base);
  }
});

Deno.test("att_root rejects no coids, too many coids and wrong-size coids", () => {
  throwsCode(() => attRoot([]), "E.SIZE");
  throwsCode(() => attRoot(coids(1025)), "E.SIZE");
  throwsCode(() => attRoot(coids(3), 2), "E.SIZE");
  throwsCode(() => attRoot([new Uint8Array(31)]), "E.SIZE");
});

Deno.test("attKeyContext is utf8(veen/att-k) || u64be(i)", () => {
  assert.equal(toHex(attKeyContext(0)), toHex(utf8("veen/att-k")) + "0000000000000000");
  assert.equal(toHex(attKeyContext(258)), toHex(utf8("veen/att-k")) + "0000000000000102");
  throwsCode(() => attKeyContext(-1), "E.SIZE");
  throwsCode(() => attKeyContext(1024), "E.SIZE");
  throwsCode(() => attKeyContext(1.5), "E.SIZE");
});

Deno.test("attNonce is Trunc24(Ht(veen/att-nonce, msg_id || u64be(i)))", () => {
  const m = H(utf8("msg"));
  assert.deepEqual(attNonce(m, 3), Ht("veen/att-nonce", m, u64be(3)).slice(0, 24));
  assert.equal(attNonce(ZERO32, 0).length, 24);
  assert.notDeepEqual(attNonce(ZERO32, 0), attNonce(ZERO32, 1));
  throwsCode(() => attNonce(new Uint8Array(31), 0), "E.SIZE");
});

Deno.test("attachments encrypt and decrypt; wrong key, index or nonce base is E.AUTH", () => {
  const r = prng(11);
  const k = r.bytes(32);
  const pt = r.bytes(100);
  const c = encryptAttachment(k, ZERO32, 2, pt);
  assert.equal(c.length, pt.length + 16);
  assert.deepEqual(decryptAttachment(k, ZERO32, 2, c), pt);
  throwsCode(() => decryptAttachment(r.bytes(32), ZERO32, 2, c), "E.AUTH");
  throwsCode(() => decryptAttachment(k, ZERO32, 1, c), "E.AUTH");
  throwsCode(() => decryptAttachment(k, H(ZERO32), 2, c), "E.AUTH");
  const bad = c.slice();
  bad[0] = bad[0]! ^ 1;
  throwsCode(() => decryptAttachment(k, ZERO32, 2, bad), "E.AUTH");
  throwsCode(() => decryptAttachment(k, ZERO32, 2, c.slice(0, 15)), "E.SIZE");
  throwsCode(() => encryptAttachment(new Uint8Array(16), ZERO32, 0, pt), "E.SIZE");
  assert.deepEqual(
    decryptAttachment(k, ZERO32, 0, encryptAttachment(k, ZERO32, 0, new Uint8Array(0))),
    new Uint8Array(0),
  );
});

Deno.test("verifyAttachment checks coid = H(c) at the index and the root over all coids", () => {
  const r = prng(12);
  const cts = Array.from({ length: 5 }, () => r.bytes(40));
  const cs = cts.map(coidOf);
  const rt = attRoot(cs);
  for (let i = 0; i < 5; i++) assert.equal(verifyAttachment(rt, cs, i, cts[i]!), true);
  assert.equal(verifyAttachment(rt, cs, 1, cts[0]!), false);
  assert.equal(verifyAttachment(rt, cs, 5, cts[0]!), false);
  assert.equal(verifyAttachment(rt, cs, -1, cts[0]!), false);
  assert.equal(verifyAttachment(undefined, cs, 0, cts[0]!), false);
  assert.equal(verifyAttachment(H(rt), cs, 0, cts[0]!), false);
  assert.equal(verifyAttachment(rt, cs.slice(0, 4), 0, cts[0]!), false);
  const tampered = cts[3]!.slice();
  tampered[5] = tampered[5]! ^ 0x80;
  assert.equal(verifyAttachment(rt, cs, 3, tampered), false);
  assert.equal(verifyAttachment(rt, [new Uint8Array(31)], 0, cts[0]!), false);
});
