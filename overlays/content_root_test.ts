/** content_root: the spec-3 §6.2 construction by hand for 1, 2 and 3 items; order matters. */
import assert from "node:assert/strict";
import { concat, Ht, toHex } from "../core/mod.ts";
import { contentRoot } from "./content_root.ts";

const b32 = (n: number) => new Uint8Array(32).fill(n);
const node = (l: Uint8Array, r: Uint8Array) => Ht("veen/content-node", l, r);
const root = (...peaks: Uint8Array[]) => Ht("veen/content-root", concat(...peaks));

Deno.test("contentRoot: perfect trees left to right, root over the peaks", () => {
  assert.equal(toHex(contentRoot([b32(1)])), toHex(root(b32(1))));
  assert.equal(toHex(contentRoot([b32(1), b32(2)])), toHex(root(node(b32(1), b32(2)))));
  assert.equal(toHex(contentRoot([b32(1), b32(2), b32(3)])), toHex(root(node(b32(1), b32(2)), b32(3))));
  assert.notEqual(toHex(contentRoot([b32(2), b32(1)])), toHex(contentRoot([b32(1), b32(2)])));
  assert.throws(() => contentRoot([]), RangeError);
});
