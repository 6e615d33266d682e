/**
 * Deno KV databases as rows, for backups (hub/backup.ts): every `[key, value]` of `index.kv` or `views.kv` as one
 * line of JSON, with byte strings as `{"$b": hex}`, bigints as `{"$n": "123"}` and `Deno.KvU64` as `{"$u": "123"}`
 * (the only value types the hub stores besides JSON's own). A row that holds anything else is refused when dumped,
 * and a line that does not decode to a row is refused when loaded, so a restore never writes a row it misread.
 */
import { fromHex, toHex, VeenError } from "../core/mod.ts";
import { restrictKvFiles } from "./kv_index.ts";

export type KvRow = [Deno.KvKey, unknown];

/** Mutations per atomic when loading (Deno KV allows 1000) and the JSON bytes per atomic (it allows 800 KiB). */
const LOAD_ROWS = 500;
const LOAD_BYTES = 400 * 1024;

function encodeValue(v: unknown, where: string): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) {
      throw new VeenError("E.UNAVAILABLE", `KV row ${where} holds a non-finite number`);
    }
    return v;
  }
  if (typeof v === "bigint") return { $n: v.toString() };
  if (v instanceof Uint8Array) return { $b: toHex(v) };
  if (v instanceof Deno.KvU64) return { $u: v.value.toString() };
  if (Array.isArray(v)) return v.map((x) => encodeValue(x, where));
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k.startsWith("$")) throw new VeenError("E.UNAVAILABLE", `KV row ${where} has a key "${k}"`);
      out[k] = encodeValue(x, where);
    }
    return out;
  }
  throw new VeenError("E.UNAVAILABLE", `KV row ${where} holds a value of an unsupported type`);
}

function decodeValue(v: unknown): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") return v;
  if (Array.isArray(v)) return v.map(decodeValue);
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o[keys[0]!] === "string") {
      const s = o[keys[0]!] as string;
      if (keys[0] === "$b") return fromHex(s, undefined, "KV bytes");
      if (keys[0] === "$n" && /^-?[0-9]+$/.test(s)) return BigInt(s);
      if (keys[0] === "$u" && /^[0-9]+$/.test(s)) return new Deno.KvU64(BigInt(s));
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      if (k.startsWith("$")) throw new VeenError("E.SIZE", `KV row value has a malformed "${k}"`);
      out[k] = decodeValue(o[k]);
    }
    return out;
  }
  throw new VeenError("E.SIZE", "KV row value of an unsupported type");
}

/** One row as a line of JSON (no newline). */
export function encodeKvRow([key, value]: KvRow): string {
  const where = JSON.stringify(key.map((k) => k instanceof Uint8Array ? toHex(k) : String(k)));
  return JSON.stringify([key.map((k) => encodeValue(k, where)), encodeValue(value, where)]);
}

/** The row of a line written by {@link encodeKvRow}; E.SIZE when it is not one. */
export function decodeKvRow(line: string): KvRow {
  let j: unknown;
  try {
    j = JSON.parse(line);
  } catch {
    throw new VeenError("E.SIZE", "KV row is not JSON");
  }
  if (!Array.isArray(j) || j.length !== 2 || !Array.isArray(j[0]) || j[0].length === 0) {
    throw new VeenError("E.SIZE", "KV row is not [key, value]");
  }
  const key = (j[0] as unknown[]).map(decodeValue);
  for (const k of key) {
    if (!(k instanceof Uint8Array) && !["string", "number", "bigint", "boolean"].includes(typeof k)) {
      throw new VeenError("E.SIZE", "KV row key part of an unsupported type");
    }
  }
  return [key as Deno.KvKey, decodeValue(j[1])];
}

/** Every row of `kv`, in key order, as lines (O(rows)). */
export async function dumpKv(kv: Deno.Kv): Promise<string[]> {
  const out: string[] = [];
  for await (const e of kv.list({ prefix: [] }, { batchSize: 1000 })) out.push(encodeKvRow([e.key, e.value]));
  return out;
}

/** Creates the KV database `path` (which must not exist) holding `lines`, in atomics within the KV limits. */
export async function loadKv(path: string, lines: Iterable<string>): Promise<number> {
  const kv = await Deno.openKv(path);
  let n = 0;
  try {
    await restrictKvFiles(path);
    let op = kv.atomic();
    let rows = 0;
    let bytes = 0;
    const flush = async () => {
      if (rows === 0) return;
      if (!(await op.commit()).ok) throw new VeenError("E.UNAVAILABLE", `Writing ${path} failed`);
      op = kv.atomic();
      rows = 0;
      bytes = 0;
    };
    for (const line of lines) {
      if (rows >= LOAD_ROWS || bytes + line.length > LOAD_BYTES) await flush();
      const [k, v] = decodeKvRow(line);
      op.set(k, v);
      rows++;
      bytes += line.length;
      n++;
    }
    await flush();
  } finally {
    kv.close();
  }
  return n;
}
