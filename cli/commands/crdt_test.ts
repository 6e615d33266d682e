/** CRDT0 end to end through cliMain against the real hub: real sealed messages, verified folds, summaries. */
import assert from "node:assert/strict";
import { mmrRoot, popcount, toHex } from "../../core/mod.ts";
import { newClient, runCli } from "../testing/run.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";

interface FoldStats {
  upto_seq: number;
  resumed_from: number;
  fetched: number;
  opaque: number;
  refolded: boolean;
}
const foldOf = (r: { json(): Record<string, unknown> }) => r.json().fold as FoldStats;

Deno.test("crdt lww: A@1, B@2 → B; a late C@1 loses; a missing key is unset", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c, "--stream", "crdt/main"];
    ok(await runCli(["crdt", "lww", "set", ...base, "--key", "foo", "--value", "A", "--ts", "1"]));
    ok(await runCli(["crdt-lww", "set", ...base, "--key", "foo", "--value", "B", "--ts", "2"]));
    assert.equal(ok(await runCli(["crdt", "lww", "get", ...base, "--key", "foo"])).stdout, "B\n");
    ok(await runCli(["crdt", "lww", "set", ...base, "--key", "foo", "--value", "C", "--ts", "1"]));
    const g = ok(await runCli(["crdt", "lww", "get", ...base, "--key", "foo", "--json"]));
    assert.equal(g.json().value, "B");
    assert.equal(g.json().ts, 2);
    assert.equal(g.json().stream_seq, 2);
    assert.equal(ok(await runCli(["crdt", "lww", "get", ...base, "--key", "bar"])).stdout, "unset\n");
    // An empty key and value are data (cmd/flags.ts: req allowEmpty), not a missing flag.
    ok(await runCli(["crdt", "lww", "set", ...base, "--key", "", "--value", "", "--ts", "3"]));
    const e = ok(await runCli(["crdt", "lww", "get", ...base, "--key=", "--json"]));
    assert.equal(e.json().set, true);
    assert.equal(e.json().value, "");
  });
});

Deno.test("crdt orset and counter: add x, add y, remove x → {y}; 5 + 3 → 8; other schemas are ignored", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c, "--stream", "crdt/main"];
    ok(await runCli(["crdt", "orset", "add", ...base, "--elem", "x"]));
    ok(await runCli(["crdt", "counter", "add", ...base, "--delta", "5"]));
    ok(await runCli(["crdt", "orset", "add", ...base, "--elem", "y"]));
    assert.equal(ok(await runCli(["crdt", "orset", "list", ...base])).stdout, "x\ny\n");
    const rm = ok(await runCli(["crdt", "orset", "remove", ...base, "--elem", "x", "--json"]));
    assert.equal(rm.json().removed, 1);
    ok(await runCli(["crdt-counter", "add", ...base, "--delta", "3"]));
    assert.equal(ok(await runCli(["crdt", "orset", "list", ...base])).stdout, "y\n");
    assert.equal(ok(await runCli(["crdt", "counter", "get", ...base])).stdout, "8\n");
    // Removing an absent element sends nothing.
    const none = ok(await runCli(["crdt", "orset", "remove", ...base, "--elem", "x", "--json"]));
    assert.equal(none.json().sent, false);
    // A second writer adds to its own shard, sealed to the first client so that it can read it.
    const d = await newClient(root, "d");
    ok(
      await runCli([
        "crdt",
        "counter",
        "add",
        "--hub",
        hub.url,
        "--client",
        d,
        "--stream",
        "crdt/main",
        "--delta",
        "2",
        "--to",
        c,
      ]),
    );
    ok(
      await runCli([
        "crdt",
        "counter",
        "add",
        "--hub",
        hub.url,
        "--client",
        d,
        "--stream",
        "crdt/main",
        "--delta",
        "100",
      ]),
    );
    const g = ok(await runCli(["crdt", "counter", "get", ...base, "--json"]));
    assert.equal(g.json().value, "10");
    assert.equal(Object.keys(g.json().shards as object).length, 2);
    assert.equal(foldOf(g).opaque, 1); // d's self-sealed +100 is not readable by c
  });
});

Deno.test("crdt folds resume from the summary (only new items are fetched) and refold when its root diverges", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c, "--stream", "crdt/sum"];
    for (let i = 1; i <= 5; i++) ok(await runCli(["crdt", "counter", "add", ...base, "--delta", String(i)]));
    const first = ok(await runCli(["crdt", "counter", "get", ...base, "--json"]));
    assert.equal(first.json().value, "15");
    assert.deepEqual(foldOf(first), { upto_seq: 5, resumed_from: 0, fetched: 5, opaque: 0, refolded: false });

    const again = ok(await runCli(["crdt", "counter", "get", ...base, "--json"]));
    assert.deepEqual(foldOf(again), { upto_seq: 5, resumed_from: 5, fetched: 0, opaque: 0, refolded: false });

    ok(await runCli(["crdt", "counter", "add", ...base, "--delta", "10"]));
    const next = ok(await runCli(["crdt", "counter", "get", ...base, "--json"]));
    assert.equal(next.json().value, "25");
    assert.deepEqual(foldOf(next), { upto_seq: 6, resumed_from: 5, fetched: 1, opaque: 0, refolded: false });

    // The summary file: one per (hub, label, fold), tied to (upto_seq, mmr_root); its block summaries beside it.
    const files = [...Deno.readDirSync(`${c}/overlays`)].map((e) => e.name).sort();
    assert.equal(files.length, 2);
    assert.match(files[1]!, /^[0-9a-f]{64}-[0-9a-f]{64}-crdt\.gcnt\.v1\.json$/);
    assert.equal(files[0], files[1]!.replace(/\.json$/, ".blocks.kv"));
    const path = `${c}/overlays/${files[1]}`;
    const doc = JSON.parse(await Deno.readTextFile(path));
    assert.equal(doc.upto_seq, 6);

    // A summary whose (self-consistent) root is not the hub's history is discarded and the fold redone.
    const fake = Array.from({ length: popcount(6) }, (_, i) => new Uint8Array(32).fill(i + 1));
    doc.mmr_peaks = fake.map(toHex);
    doc.mmr_root = toHex(mmrRoot(fake));
    doc.state = [[doc.state[0][0], "999"]];
    await Deno.writeTextFile(path, JSON.stringify(doc));
    const re = ok(await runCli(["crdt", "counter", "get", ...base, "--json"]));
    assert.equal(re.json().value, "25");
    assert.deepEqual(foldOf(re), { upto_seq: 6, resumed_from: 0, fetched: 6, opaque: 0, refolded: true });
    const warned = await runCli(["crdt", "counter", "get", ...base]);
    assert.equal(warned.stderr, ""); // the rebuilt summary is in use again

    // A summary of an earlier build (version 1, folded when RFC 8949-ordered bodies still parsed) is refolded.
    const rebuilt = JSON.parse(await Deno.readTextFile(path));
    assert.equal(rebuilt.version, 3);
    await Deno.writeTextFile(
      path,
      JSON.stringify({ ...rebuilt, version: 1, state: [[rebuilt.state[0][0], "999"]] }),
    );
    const v1 = ok(await runCli(["crdt", "counter", "get", ...base, "--json"]));
    assert.equal(v1.json().value, "25");
    assert.equal(foldOf(v1).refolded, true);
    assert.match(v1.stderr, /discarding the crdt\.gcnt\.v1 summary .*version 1/);

    // So is one saved before block summaries were kept (no index_epoch): a range could not be read from it.
    const { index_epoch: _, ...noEpoch } = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(path, JSON.stringify(noEpoch));
    const old = ok(await runCli(["crdt", "counter", "get", ...base, "--json"]));
    assert.equal(old.json().value, "25");
    assert.match(old.stderr, /summary without index_epoch \(saved before its block summaries were kept\)/);

    // A damaged file is discarded too, with a warning.
    await Deno.writeTextFile(path, "{not json");
    const dmg = ok(await runCli(["crdt", "counter", "get", ...base]));
    assert.equal(dmg.stdout, "25\n");
    assert.match(dmg.stderr, /warning: discarding the crdt\.gcnt\.v1 summary/);

    // --refold ignores the summary.
    const forced = ok(await runCli(["crdt", "counter", "get", ...base, "--refold", "--json"]));
    assert.equal(foldOf(forced).fetched, 6);
  });
});
