/**
 * hub/backup_format.ts: a file the encoder writes reads back item for item; every flipped byte, cut, reordering,
 * unsafe path or trailing byte is refused (E.SIZE) before the reader reaches the end.
 */
import assert from "node:assert/strict";
import { concat } from "../core/mod.ts";
import { BackupEncoder, type BackupItem, type BackupMeta, readBackup } from "./backup_format.ts";

const META = {
  format: "veen-backup",
  version: 1,
  labels: [],
  profile_id: "00",
  hub_pk: "00",
} as unknown as BackupMeta;

function encode(files: [string, Uint8Array][], tweak?: (e: BackupEncoder) => Uint8Array[]): Uint8Array {
  const e = new BackupEncoder();
  const parts = [e.meta(META), e.kv("index.kv", ['[["a"],1]'])];
  for (const [p, b] of files) parts.push(e.file(p, b.length, 0o600), e.data(b));
  if (tweak) parts.push(...tweak(e));
  parts.push(e.end());
  return concat(...parts);
}

async function read(bytes: Uint8Array): Promise<BackupItem[]> {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, bytes);
    const out: BackupItem[] = [];
    for await (const it of readBackup(path)) out.push(it);
    return out;
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("a backup reads back item for item", async () => {
  const items = await read(
    encode([["receipts/00000000.cborseq", new Uint8Array([1, 2, 3])], ["hub_key", new Uint8Array(0)]]),
  );
  assert.deepEqual(items.map((i) => i.kind), ["meta", "kv", "file", "data", "file", "data"]);
  assert.deepEqual(items[2], { kind: "file", path: "receipts/00000000.cborseq", size: 3, mode: 0o600 });
});

Deno.test("every damaged, cut or malformed backup is refused", async () => {
  const good = encode([["a/b", new Uint8Array(300).fill(7)]]);
  const refuse = async (bytes: Uint8Array, what: string) =>
    await assert.rejects(() => read(bytes), /E\.SIZE: Backup .* is damaged/, what);
  for (let i = 0; i < good.length; i += 7) {
    const c = good.slice();
    c[i]! ^= 0x10;
    await refuse(c, `flipped byte ${i}`);
  }
  for (const n of [0, 1, 20, good.length - 1]) await refuse(good.slice(0, n), `cut at ${n}`);
  await refuse(concat(good, new Uint8Array([0x82])), "trailing bytes");
  await refuse(encode([["../etc/passwd", new Uint8Array(1)]]), "unsafe path");
  await refuse(encode([["/abs", new Uint8Array(1)]]), "absolute path");
  await refuse(encode([], (e) => [e.file("x", 5, 0o600), e.data(new Uint8Array(4))]), "short file");
  await refuse(encode([], (e) => [e.data(new Uint8Array(1))]), "data without a file");
  await refuse(encode([], (e) => [e.kv("other.kv", [])]), "unknown db");
});
