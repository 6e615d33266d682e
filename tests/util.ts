/** Tiny test helpers (no @std/assert here: JSR is unreachable). */
import assert from "node:assert/strict";
import { type ErrorCode, VeenError } from "../core/errors.ts";
import { Rng } from "../selftest/rng.ts";

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

/** Deterministic PRNG (the selftest's mulberry32 Rng) for property and fuzz tests; its functions work unbound. */
export function prng(seed: number): { next(): number; int(n: number): number; bytes(n: number): Uint8Array } {
  const r = new Rng(seed);
  return { next: () => r.next(), int: (n) => r.int(n), bytes: (n) => r.bytes(n) };
}

export const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

/**
 * The stored truth of a hub data dir (log segments, sidecars, checkpoint and admission records, attachments) as
 * `relative path → SHA-256 hex`, for asserting that a refused recovery changed nothing. The index (index.kv*) is
 * left out, and so are mmr/ and pos/ unless `derived` is set.
 */
export async function snapshotDir(dir: string, derived = false): Promise<Record<string, string>> {
  const { createHash } = await import("node:crypto");
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${dir}/${rel}`)) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (/^index\.kv/.test(path) || (!derived && /^(mmr|pos)(\/|$)/.test(path))) continue;
      if (e.isDirectory) await walk(path);
      else if (e.isFile) {
        out[path] = createHash("sha256").update(await Deno.readFile(`${dir}/${path}`)).digest("hex");
      }
    }
  };
  await walk("");
  return out;
}

/** Fails (instead of hanging) when `p` does not settle within `ms`: an upper bound on waiting for an event. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(t));
}

/**
 * Resolves once `path` exists, watching its directory for the rename that creates it (an event, not a poll).
 * Rejects when `gone` settles first (e.g. the child process that was to create it exited).
 */
export async function fileAppears(path: string, gone?: Promise<unknown>): Promise<void> {
  const exists = () => Deno.stat(path).then(() => true, () => false);
  const watcher = Deno.watchFs(path.slice(0, path.lastIndexOf("/")));
  let over = false;
  const close = () => {
    if (over) return;
    over = true;
    watcher.close();
  };
  gone?.finally(close).catch(() => {});
  try {
    if (await exists()) return;
    for await (const _ of watcher) if (await exists()) return;
    throw new Error(`${path} did not appear before its creator went away`);
  } finally {
    close();
  }
}
