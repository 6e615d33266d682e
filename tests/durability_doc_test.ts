/**
 * docs/durability.md "Data directory" is the one description of the data dir: every file and directory a hub run
 * creates must be in its table, and every row of the table must be created by the run. The run covers every writer:
 * `veen hub start` and `veen hub stop` (pid, state, log, lock, key), `veen hub rotate-key`, commits over rotated segments (sidecars,
 * node and position files, the KV index), a checkpoint, an admission, an attachment, hub-side anchoring, retention (policy file,
 * tombstones) and a torn tail cut at the next open (quarantine).
 */
import assert from "node:assert/strict";
import { openDiskStore } from "../hub/disk_store.ts";
import { writeRetentionPolicy } from "../hub/retention.ts";
import { Anchorer } from "../hub/anchorer.ts";
import { Metrics } from "../hub/metrics.ts";
import { MemoryAnchorBackend } from "../overlays/mod.ts";
import { quietLogger, veen } from "./fixture.ts";
import { Gen, labelN } from "./store_gen.ts";

const DOC = new URL("../docs/durability.md", import.meta.url);

/** The path patterns of the layout table, each with its regex over paths relative to the data dir. */
async function documentedPaths(): Promise<{ pattern: string; re: RegExp; dirs: RegExp[] }[]> {
  const text = await Deno.readTextFile(DOC);
  const start = text.indexOf("\n## Data directory\n");
  assert.ok(start >= 0, 'docs/durability.md has no "## Data directory" section');
  const section = text.slice(start + 1, text.indexOf("\n## ", start + 1));
  const toRe = (p: string) =>
    new RegExp(
      "^" +
        p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          .replaceAll("NNNNNNNN", "\\d{8,}")
          .replace(/<(label|coid)>/g, "[0-9a-f]{64}")
          .replaceAll("<xx>", "[0-9a-f]{2}")
          .replaceAll("<file>", "[a-z.]+(?:-\\d{8,})?")
          .replace(/<(offset|ms)>/g, "\\d+") +
        "$",
    );
  const rows = [...section.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]!);
  assert.ok(rows.length > 10, `layout table rows: ${rows.join(", ")}`);
  return rows.map((pattern) => {
    const parts = pattern.split("/");
    const dirs = parts.slice(0, -1).map((_, i) => toRe(parts.slice(0, i + 1).join("/")));
    return { pattern, re: toRe(pattern), dirs };
  });
}

/** Every path under `dir` (directories too), relative to it. */
async function walk(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${rel}`)) {
    const p = rel === "" ? e.name : `${rel}/${e.name}`;
    out.push(p);
    if (e.isDirectory) out.push(...await walk(dir, p));
  }
  return out;
}

Deno.test("docs/durability.md lists exactly the files and directories a hub run creates in its data dir", async () => {
  const doc = await documentedPaths();
  const root = await Deno.makeTempDir({ prefix: "veen-doc-" });
  const dir = `${root}/hub`;
  const seen = new Set<string>();
  const look = async () => {
    for (const p of await walk(dir)) seen.add(p);
  };
  try {
    // The hub as users run it: pid, state and log files exist while it runs.
    let r = await veen(["hub", "start", "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-level", "warn"]);
    assert.equal(r.code, 0, r.err);
    await look();
    r = await veen(["hub", "stop", "--data-dir", dir]);
    assert.equal(r.code, 0, r.err);
    // A key rotation keeps the old key beside the new one.
    r = await veen(["hub", "rotate-key", "--data-dir", dir]);
    assert.equal(r.code, 0, r.err);

    // The store's writers: rotated segments, a checkpoint, an admission, an attachment.
    const gen = new Gen(1);
    const labels = [labelN(1), labelN(2)];
    let store = await openDiskStore(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 6; i++) await store.commit(gen.batch(labels, 10));
    // Hub-side anchoring (anchor_backend) keeps each anchor_ref with its CHECKPOINT.
    const anchorer = await Anchorer.open(
      dir,
      new MemoryAnchorBackend(),
      store,
      new Metrics(),
      quietLogger(),
      {
        intervalSec: 0,
        now: Date.now,
      },
    );
    await anchorer.close();
    await store.putCheckpoint(labels[0]!, 5, 1, new Uint8Array([1, 2, 3]));
    await store.putAdmission({
      authRef: new Uint8Array(32).fill(7),
      capToken: new Uint8Array([1]),
      subjectPk: new Uint8Array(32).fill(8),
      streamIds: [new Uint8Array(32).fill(9)],
      ttl: 60,
      perSec: null,
      burst: null,
      issuedAt: 1_700_000_000,
      expiresAt: 1_700_000_060,
      capRoot: new Uint8Array(32).fill(10),
    });
    await store.putAttachment(new Uint8Array([5, 6, 7]));
    await store.flushIndex();
    await look();
    await store.close(); // waits for the sidecars of the rotated segments

    // Retention: the policy file, and dropped segments leave their sidecars as tombstones.
    await writeRetentionPolicy(dir, { receiptsDays: 0, payloadsDays: 0, checkpointsDays: null });
    store = await openDiskStore(dir, { segmentBytes: 4096 });
    const dropped = await store.enforceRetention(
      { receiptsDays: 0, payloadsDays: 0, checkpointsDays: null },
      Date.now(),
    );
    assert.ok(dropped.receipts.length > 0, "segments dropped");
    await store.close();

    // A torn tail is cut into quarantine/ at the next open.
    const segs = (await walk(dir)).filter((p) => /^receipts\/\d{8,}\.cborseq$/.test(p)).sort();
    await Deno.writeFile(`${dir}/${segs.at(-1)}`, new Uint8Array([0x82, 0x44, 1]), { append: true });
    store = await openDiskStore(dir, { segmentBytes: 4096 });
    await store.close();
    await look();

    const undocumented = [...seen].filter((p) =>
      !doc.some((d) => d.re.test(p) || d.dirs.some((x) => x.test(p)))
    );
    assert.deepEqual(undocumented, [], "paths missing from the layout table of docs/durability.md");
    const unseen = doc.filter((d) => ![...seen].some((p) => d.re.test(p))).map((d) => d.pattern);
    assert.deepEqual(unseen, [], "layout rows no hub run created");
  } finally {
    await veen(["hub", "stop", "--data-dir", dir]);
    await Deno.remove(root, { recursive: true });
  }
});
