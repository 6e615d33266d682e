import assert from "node:assert/strict";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("resync after deleting state rebuilds the view and client_seq; sending continues", async () => {
  await withScenario({ checkpointEvery: 16 }, async (s) => {
    const c = await s.client("c");
    const base = ["--hub", s.hub.url, "--client", c, "--stream", "core/resync"];
    const bench = await runCli(["bench", "send", ...base, "--count", "40"]);
    assert.equal(bench.code, 0, bench.stderr);
    const before = JSON.parse(await Deno.readTextFile(`${c}/state.json`));
    await Deno.remove(`${c}/state.json`);
    const r = await runCli(["resync", ...base, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json();
    assert.equal(j.last_stream_seq, 40);
    assert.equal(j.replayed, 40);
    assert.equal(j.client_seq, 40);
    assert.equal(j.checkpoint_upto_seq, 32);
    const after = JSON.parse(await Deno.readTextFile(`${c}/state.json`));
    const lb = Object.values(
      Object.values(before.hubs)[0] as { labels: Record<string, Record<string, unknown>> },
    )[0]!;
    const la = Object.values(
      Object.values(after.hubs)[0] as { labels: Record<string, Record<string, unknown>> },
    )[0]!;
    const ls0 = Object.values(lb)[0]!;
    const ls1 = Object.values(la)[0]!;
    assert.equal(ls1.last_mmr_root, ls0.last_mmr_root);
    assert.deepEqual(ls1.mmr_peaks, ls0.mmr_peaks);
    assert.equal((await runCli(["verify-state", ...base])).code, 0);
    const next = await runCli(["send", ...base, "--body", "{}"]);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /^stream_seq: 41\n/);
    // An up-to-date resync replays nothing.
    const again = await runCli(["resync", ...base]);
    assert.match(again.stdout, /replayed: 0\n/);
  });
});

Deno.test("resync detects a diverged local view and rebuilds it from the latest CHECKPOINT", async () => {
  await withScenario({ checkpointEvery: 8 }, async (s) => {
    const c = await s.client("c");
    const base = ["--hub", s.hub.url, "--client", c, "--stream", "d"];
    assert.equal((await runCli(["bench", "send", ...base, "--count", "10"])).code, 0);
    // Corrupt the stored view consistently (peaks and root agree with each other, not with the hub).
    const st = JSON.parse(await Deno.readTextFile(`${c}/state.json`));
    const ls = Object.values(
      (Object.values(st.hubs)[0] as {
        labels: Record<string, { mmr_peaks: string[]; last_mmr_root: string }>;
      }).labels,
    )[0]!;
    ls.mmr_peaks = ["11".repeat(32), "22".repeat(32)];
    const { mmrRoot } = await import("../../core/mmr.ts");
    const { fromHex, toHex } = await import("../../core/bytes.ts");
    ls.last_mmr_root = toHex(mmrRoot(ls.mmr_peaks.map((p) => fromHex(p))));
    await Deno.writeTextFile(`${c}/state.json`, JSON.stringify(st));
    const bad = await runCli(["verify-state", ...base]);
    assert.equal(bad.code, 4);
    assert.match(bad.stdout, /consistent: no\nmismatch_at: 1\n/);
    const r = await runCli(["resync", ...base]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /divergence detected/);
    assert.match(r.stdout, /last_stream_seq: 10\n[^]*rebuilt_from: 8/);
    assert.equal((await runCli(["verify-state", ...base])).code, 0);
  });
});
