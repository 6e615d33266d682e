import assert from "node:assert/strict";
import { H } from "../core/mod.ts";
import { encodeFrame } from "./frame.ts";
import { tailKindOf } from "./records.ts";
import { pairVerdict, scanTail } from "./log_tail.ts";
import { StorageDamage } from "./storage_damage.ts";

const frames = (n: number, size = 40) =>
  Array.from({ length: n }, (_, i) => encodeFrame(new Uint8Array(size + i).fill(i + 1)));

function cat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const ends = (fs: Uint8Array[]) => fs.reduce<number[]>((a, f) => [...a, (a.at(-1) ?? 0) + f.length], []);

Deno.test("scanTail: whole frames end clean; a frame cut anywhere is a short torn tail at its start", () => {
  const fs = frames(4);
  const all = cat(fs);
  assert.deepEqual(scanTail(all, 100).end, { kind: "clean" });
  assert.deepEqual(scanTail(all, 100).frames.map((f) => f.offset), [
    100,
    ...ends(fs).slice(0, 3).map((e) => 100 + e),
  ]);
  const last = ends(fs)[2]!;
  for (let cut = last + 1; cut < all.length; cut++) {
    const s = scanTail(all.subarray(0, cut), 0);
    assert.equal(s.frames.length, 3);
    assert.deepEqual(s.end, { kind: "torn", offset: last, how: "short" }, `cut at ${cut}`);
  }
});

Deno.test("scanTail: a zero-filled end is torn; a flipped byte anywhere in any frame is corrupt", () => {
  const fs = frames(3);
  const all = cat(fs);
  const zeros = cat([all, new Uint8Array(4096)]);
  assert.deepEqual(scanTail(zeros, 0).end, { kind: "torn", offset: all.length, how: "zeros" });
  for (let i = 0; i < all.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const b = all.slice();
      b[i]! ^= bit;
      const s = scanTail(b, 0);
      assert.equal(s.end.kind, "corrupt", `byte ${i} ^ ${bit}: ${JSON.stringify(s.end)}`);
    }
  }
});

Deno.test("scanTail: an unreadable frame followed by a valid one is corrupt even when it reads as torn", () => {
  const fs = frames(3, 300);
  const all = cat(fs);
  const b = all.slice();
  b[ends(fs)[0]! + 2] = 0xff; // the 2-byte length of frame 1 becomes huge: the frame reads as running past the end
  const s = scanTail(b, 0);
  assert.equal(s.end.kind, "corrupt");
  assert.equal(s.frames.length, 1);
});

Deno.test("pairVerdict: the newest segment drops complete receipts past a torn payload; rotated ones refuse", () => {
  const fs = frames(3);
  const receipts = { file: "receipts/00000001.cborseq", scan: scanTail(cat(fs), 10) };
  const payloads = { file: "payloads/00000001.cborseq", scan: scanTail(fs[0]!.subarray(0, 5), 20) };
  assert.equal(pairVerdict(receipts, payloads, true).dropped.length, 3);
  const e = (() => {
    try {
      pairVerdict(receipts, payloads, false);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(e instanceof StorageDamage);
  assert.deepEqual([e.file, e.offset], ["payloads/00000001.cborseq", 20]);
  const clean = { file: "payloads/00000001.cborseq", scan: scanTail(new Uint8Array(0), 20) };
  assert.throws(() => pairVerdict(receipts, clean, false), /record without its counterpart/);
  const corrupt = { file: "payloads/00000001.cborseq", scan: scanTail(new Uint8Array([1, 2, 3]), 20) };
  assert.throws(() => pairVerdict(receipts, corrupt, true), StorageDamage);
});

Deno.test("scanTail: client bytes that hold valid frames do not turn a torn write into corruption", () => {
  // A MSG is all client bytes: it can embed frames (even a whole MSG frame). A crash that tears its write leaves
  // those embedded frames after the torn head; that must still read as torn, or any client could make a crash fatal.
  // Frames of any kind but whole records (which no client field can hold, docs/durability.md).
  const embedded = cat([
    encodeFrame(new Uint8Array(0)),
    encodeFrame(new TextEncoder().encode("not a record")),
    frames(2)[1]!,
  ]);
  const body = cat([new Uint8Array(100).fill(7), embedded, embedded, new Uint8Array(50).fill(9)]);
  const victim = encodeFrame(body);
  const before = frames(2);
  const at = ends(before).at(-1)!;
  const isRecord = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, 3)) === "REC";
  for (let cut = 3; cut < victim.length; cut += 17) {
    const buf = cat([...before, victim.subarray(0, cut)]);
    for (const kind of [{}, { isRecord }]) {
      assert.deepEqual(scanTail(buf, 0, kind).end, { kind: "torn", offset: at, how: "short" }, `cut ${cut}`);
    }
  }
});

Deno.test("scanTail: a length head altered in one byte is corrupt anywhere; a torn frame before a valid record too", () => {
  const fs = frames(4, 300);
  const all = cat(fs);
  const starts = [0, ...ends(fs).slice(0, 3)];
  for (const s of starts) {
    for (const i of [1, 2]) {
      const b = all.slice();
      b[s + i]! ^= 0x01;
      const end = scanTail(b, 0).end;
      assert.equal(end.kind, "corrupt", `frame at ${s}, head byte ${i}: ${JSON.stringify(end)}`);
    }
  }
  // Two head bytes altered (no one-byte repair): judged by what follows. A valid record of the file's kind after
  // it is corruption; for payloads, whose records cannot be told from client bytes, it reads as torn.
  const rec = encodeFrame(new TextEncoder().encode("REC real"));
  const b = cat([fs[0]!, fs[1]!, rec]);
  b[fs[0]!.length + 2] = 0x7f; // 0x59 0x01 0x2d (301) becomes 0x59 0x7f 0x7f: past the end, no one-byte fix
  b[fs[0]!.length + 3] = 0x7f;
  const isRecord = (x: Uint8Array) => new TextDecoder().decode(x.subarray(0, 3)) === "REC";
  assert.equal(scanTail(b, 0, { isRecord }).end.kind, "corrupt");
  assert.equal(scanTail(b, 0).end.kind, "torn");
});

Deno.test("scanTail: a torn frame whose prefix a client shaped into a complete frame stays torn unless the body decodes", () => {
  // The bytes a crash left end exactly after [prefix, 0x48, H(prefix)[0..8]]: complete under a shorter length head.
  // A client can shape such a prefix in its own bytes (its label), so it counts as damage only when the repaired
  // body is a whole body of the file's kind (tailKindOf: a MSG for payloads).
  const prefix = new Uint8Array(300).fill(0x33);
  const check = H(prefix).subarray(0, 8);
  const body = cat([prefix, new Uint8Array([0x48]), check, new Uint8Array(91).fill(0x44)]);
  const victim = encodeFrame(body);
  const before = frames(2);
  const at = ends(before).at(-1)!;
  const torn = cat([...before, victim.subarray(0, 1 + 3 + 300 + 9)]);
  assert.equal(scanTail(torn, 0).end.kind, "corrupt", "without a body test it reads as an altered length");
  assert.deepEqual(scanTail(torn, 0, tailKindOf("payloads/00000001.cborseq")).end, {
    kind: "torn",
    offset: at,
    how: "short",
  });
});
