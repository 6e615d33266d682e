/** Tiny test helpers (no @std/assert here: JSR is unreachable). */
import assert from "node:assert/strict";
import { type ErrorCode, VeenError } from "../core/errors.ts";

/** Asserts that `fn` throws a VeenError with `code`; returns it. */
export function throwsCode(fn: () => unknown, code: ErrorCode): VeenError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof VeenError, `expected VeenError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

/** Async variant of throwsCode. */
export async function rejectsCode(fn: () => Promise<unknown>, code: ErrorCode): Promise<VeenError> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof VeenError, `expected VeenError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

/** Deterministic PRNG (mulberry32) for property and fuzz tests. */
export function prng(seed: number): { next(): number; int(n: number): number; bytes(n: number): Uint8Array } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  };
}

export const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
