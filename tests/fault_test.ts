/**
 * Fault suite for start-up recovery (docs/durability.md "Recovery: torn tails and corruption"): a store of three labels of
 * 100 entries over several log segments is damaged in one place at a time, with and without its index, and every
 * case ends either in a clean refusal that changed no stored byte (and that `veen hub fsck` names at the same
 * file and offset), or in a recovery that kept every acknowledged entry (each RECEIPT the test holds is served
 * byte-identical and the labels continue at 101 under the same roots).
 */
import assert from "node:assert/strict";
import { bytesEqual, decodeCbor, decodeReceipt, expectArray, expectBytes, toHex } from "../core/mod.ts";
import { fsck, type RunningHub } from "../hub/mod.ts";
import { StorageDamage } from "../hub/storage_damage.ts";
import { http, startTestHub, submit, veen, Writer } from "./fixture.ts";
import { snapshotDir } from "./util.ts";

const LABELS = 3;
const PER_LABEL = 100;
const SEGMENT_BYTES = 65536;
const config = { segmentBytes: SEGMENT_BYTES, checkpointEvery: 1_000_000, checkpointIntervalSec: 3600 };

interface Store {
  dir: string;
  writers: Writer[];
  /** RECEIPT bytes by `label hex/seq`. */
  receipts: Map<string, Uint8Array>;
  roots: Map<string, Uint8Array>;
}

let template: Promise<Store> | undefined;

/** Builds the undamaged store once (graceful stop, so a CHECKPOINT per label covers seq 100); tests copy it. */
function buildTemplate(): Promise<Store> {
  template ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "veen-fault-tpl-" });
    const hub = await startTestHub(dir, config);
    const writers = Array.from({ length: LABELS }, (_, i) => new Writer(`fault/${i}`, i + 1));
    const receipts = new Map<string, Uint8Array>();
    for (let n = 0; n < PER_LABEL; n++) {
      await Promise.all(writers.map(async (w) => {
        const r = await submit(hub.url, w.msg({ bodyLen: 300 }));
        assert.equal(r.status, 200);
        receipts.set(`${toHex(w.label)}/${n + 1}`, r.body);
      }));
    }
    const roots = new Map<string, Uint8Array>();
    for (const w of writers) roots.set(toHex(w.label), await rootOf(hub, w.label));
    await hub.close();
    return { dir, writers, receipts, roots };
  })();
  return template;
}

async function rootOf(hub: RunningHub, label: Uint8Array): Promise<Uint8Array> {
  const r = await http(`${hub.url}/proof?label=${toHex(label)}&seq=1`);
  assert.equal(r.status, 200);
  return expectBytes(expectArray(decodeCbor(r.body), 3, "proof")[2], 32, "root");
}

async function withCopy(fn: (s: Store) => Promise<void>): Promise<void> {
  const t = await buildTemplate();
  const dir = await Deno.makeTempDir({ prefix: "veen-fault-" });
  try {
    await new Deno.Command("cp", { args: ["-a", `${t.dir}/.`, dir] }).output();
    const writers = t.writers.map((w) => Object.assign(Object.create(Object.getPrototypeOf(w)), w) as Writer);
    await fn({ ...t, dir, writers });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function dropIndex(dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith("index.kv")) await Deno.remove(`${dir}/${e.name}`);
  }
}

async function flip(path: string, offset: number): Promise<void> {
  const b = await Deno.readFile(path);
  b[offset]! ^= 0x20;
  await Deno.writeFile(path, b);
}

async function segments(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/payloads`)) if (e.name.endsWith(".cborseq")) out.push(e.name);
  return out.sort();
}

/**
 * The start is refused naming `file`, no stored byte changed (node and position files included), and fsck names
 * the same file and offset.
 */
async function refused(s: Store, file: string): Promise<void> {
  const before = await snapshotDir(s.dir, true);
  const err = await startTestHub(s.dir, config).then(async (h) => {
    await h.close();
    return undefined;
  }, (e) => e);
  assert.ok(err instanceof StorageDamage, `expected a refusal, got ${String(err)}`);
  assert.equal(err.file, file);
  assert.match(err.message, /nothing was changed/);
  assert.deepEqual(await snapshotDir(s.dir, true), before);
  const rep = await fsck(s.dir);
  assert.equal(rep.ok, false);
  assert.equal(rep.error?.file, `${err.file}@${err.offset}`);
  // Through the CLI: a failed check like every command's (exit 4; --json with code and detail; --quiet one line).
  const j = await veen(["hub", "fsck", "--data-dir", s.dir, "--json"]);
  assert.equal(j.code, 4, j.err);
  const doc = JSON.parse(j.out);
  assert.deepEqual([doc.ok, doc.code, doc.error.file], [false, "E.UNAVAILABLE", `${err.file}@${err.offset}`]);
  assert.match(doc.detail, new RegExp(`fsck FAILED: .*${err.file}@${err.offset}`));
  const q = await veen(["hub", "fsck", "--data-dir", s.dir, "--quiet"]);
  assert.deepEqual([q.code, q.out], [4, ""]);
  assert.match(q.err, /^E\.UNAVAILABLE: fsck FAILED: /);
}

/** The hub starts, serves every acknowledged RECEIPT byte-identical under the same roots, continues at 101. */
async function recovered(s: Store): Promise<void> {
  const hub = await startTestHub(s.dir, config);
  try {
    for (const [key, bytes] of s.receipts) {
      const [label, seq] = key.split("/");
      const r = await http(`${hub.url}/receipt?label=${label}&seq=${seq}`);
      assert.ok(r.status === 200 && bytesEqual(r.body, bytes), `receipt ${key}`);
    }
    for (const w of s.writers) {
      assert.ok(bytesEqual(await rootOf(hub, w.label), s.roots.get(toHex(w.label))!));
      const r = await submit(hub.url, w.msg());
      assert.equal(r.status, 200);
      assert.equal(decodeReceipt(r.body).streamSeq, 101);
    }
  } finally {
    await hub.close();
  }
  const rep = await fsck(s.dir);
  assert.ok(rep.ok, JSON.stringify(rep.error));
}

Deno.test("fault: a flipped byte in a rotated segment refuses the start without the index; with it, nothing is lost", async () => {
  await withCopy(async (s) => {
    assert.ok((await segments(s.dir)).length >= 3);
    await flip(`${s.dir}/payloads/00000000.cborseq`, 5000);
    await dropIndex(s.dir);
    await refused(s, "payloads/00000000.cborseq");
  });
  await withCopy(async (s) => {
    await flip(`${s.dir}/receipts/00000000.cborseq`, 3000);
    // The indexed log is not re-read at start: the hub serves, fsck names the damage, no entry is deleted.
    const hub = await startTestHub(s.dir, config);
    await hub.close();
    const rep = await fsck(s.dir);
    assert.match(rep.error?.file ?? "", /^receipts\/00000000\.cborseq@\d+$/);
    assert.equal((await segments(s.dir)).length >= 3, true);
  });
});

Deno.test("fault: a flipped byte anywhere in the newest segment (last record included) refuses the start without the index", async () => {
  for (const at of ["middle", "last"] as const) {
    await withCopy(async (s) => {
      const newest = (await segments(s.dir)).at(-1)!;
      const path = `${s.dir}/payloads/${newest}`;
      const size = (await Deno.stat(path)).size;
      await flip(path, at === "last" ? size - 30 : Math.floor(size / 2));
      await dropIndex(s.dir);
      await refused(s, `payloads/${newest}`);
    });
  }
});

Deno.test("fault: a torn tail below a CHECKPOINT or the index is refused; a torn or zero-filled unsynced end is cut into quarantine/", async () => {
  await withCopy(async (s) => {
    const newest = (await segments(s.dir)).at(-1)!;
    const path = `${s.dir}/payloads/${newest}`;
    await Deno.truncate(path, (await Deno.stat(path)).size - 7); // the last acknowledged entry, cut short
    await dropIndex(s.dir);
    const before = await snapshotDir(s.dir);
    const err = await startTestHub(s.dir, config).then(() => undefined, (e) => e);
    assert.match(String(err), /CHECKPOINT upto_seq 100 already covers: refusing to cut it/);
    assert.deepEqual(await snapshotDir(s.dir), before);
    assert.match((await fsck(s.dir)).error?.what ?? "", /CHECKPOINT upto_seq 100 already covers/);
  });
  for (const tail of [new Uint8Array([0x82, 0x59, 0x01, 0x20, 7, 7]), new Uint8Array(4096)]) {
    for (const index of [true, false]) {
      await withCopy(async (s) => {
        const newest = (await segments(s.dir)).at(-1)!;
        const path = `${s.dir}/receipts/${newest}`;
        await Deno.writeFile(path, tail, { append: true });
        if (!index) await dropIndex(s.dir);
        const rep = await fsck(s.dir);
        assert.ok(rep.ok, JSON.stringify(rep.error));
        assert.match(rep.warnings.map((w) => w.what).join("\n"), /torn log tail past the index/);
        await recovered(s);
        const q = [...Deno.readDirSync(`${s.dir}/quarantine`)];
        assert.equal(q.length, 1);
        assert.deepEqual(Deno.readFileSync(`${s.dir}/quarantine/${q[0]!.name}`), tail);
      });
    }
  }
});

Deno.test("fault: a damaged sidecar copy falls back to the other; a damaged node file is rebuilt from the log without the index", async () => {
  await withCopy(async (s) => {
    await flip(`${s.dir}/receipts/00000000.idx`, 40);
    const rep = await fsck(s.dir);
    assert.ok(rep.ok, JSON.stringify(rep.error));
    assert.match(
      rep.warnings.map((w) => `${w.file}: ${w.what}`).join("\n"),
      /receipts\/00000000\.idx: sidecar/,
    );
    await flip(`${s.dir}/payloads/00000000.idx`, 40);
    assert.match((await fsck(s.dir)).error?.what ?? "", /in both copies: retention stops/);
  });
  await withCopy(async (s) => {
    const label = toHex(s.writers[0]!.label);
    await flip(`${s.dir}/mmr/${label}.nodes`, 32 * 5 + 3);
    assert.match((await fsck(s.dir)).error?.file ?? "", new RegExp(`mmr/${label}\\.nodes`));
    await dropIndex(s.dir);
    await Deno.remove(`${s.dir}/mmr`, { recursive: true });
    await Deno.remove(`${s.dir}/pos`, { recursive: true });
    await recovered(s);
  });
});

Deno.test("fault: checkpoints.cborseq past the index: a flipped byte refuses the start, a torn end is cut", async () => {
  await withCopy(async (s) => {
    const path = `${s.dir}/checkpoints.cborseq`;
    await flip(path, (await Deno.stat(path)).size - 12);
    await dropIndex(s.dir);
    await refused(s, "checkpoints.cborseq");
  });
  await withCopy(async (s) => {
    await Deno.writeFile(`${s.dir}/checkpoints.cborseq`, new Uint8Array([0x82, 0x58]), { append: true });
    await dropIndex(s.dir);
    assert.ok((await fsck(s.dir)).ok);
    await recovered(s);
  });
});

Deno.test("fault suite cleanup", async () => {
  if (template) await Deno.remove((await template).dir, { recursive: true });
});
