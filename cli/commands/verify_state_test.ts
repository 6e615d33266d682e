import assert from "node:assert/strict";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("verify-state says consistent: yes for a good view, also when behind the hub", async () => {
  await withScenario({ checkpointEvery: 3 }, async (s) => {
    const c = await s.client("c");
    const base = ["--hub", s.hub.url, "--client", c, "--stream", "v"];
    assert.equal((await runCli(["bench", "send", ...base, "--count", "5"])).code, 0);
    const r = await runCli(["verify-state", ...base]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /local_stream_seq: 5\n[^]*hub_stream_seq: 5\n[^]*checkpoint: upto_seq 3 epoch 0\nconsistent: yes\n$/,
    );
    // Another writer moves the hub ahead; the client's view is a verified prefix.
    const o = await s.client("o");
    assert.equal(
      (await runCli(["bench", "send", "--hub", s.hub.url, "--client", o, "--stream", "v", "--count", "4"]))
        .code,
      0,
    );
    const behind = await runCli(["verify-state", ...base, "--json"]);
    assert.equal(behind.code, 0, behind.stdout);
    assert.equal(behind.json().consistent, true);
    assert.equal(behind.json().hub_stream_seq, 9);
  });
});

Deno.test("verify-state without local state for the stream says there is nothing to verify and exits 4", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    assert.equal(
      (await runCli(["bench", "send", "--hub", s.hub.url, "--client", c, "--stream", "v", "--count", "2"]))
        .code,
      0,
    );
    const n = await s.client("n");
    const base = ["verify-state", "--hub", s.hub.url, "--client", n];
    const r = await runCli([...base, "--stream", "v"]);
    assert.equal(r.code, 4);
    assert.doesNotMatch(r.stdout, /consistent/);
    assert.match(r.stderr, /^E\.NOT_FOUND: No local state for stream "v" at this hub: nothing to verify/);
    // Also for a stream the hub has never seen, and under --json.
    const j = await runCli([...base, "--stream", "empty", "--json"]);
    assert.equal(j.code, 4);
    assert.equal(j.json().ok, false);
    assert.equal(j.json().code, "E.NOT_FOUND");
    assert.equal(j.json().consistent, undefined);
    // The writer's own state still verifies.
    assert.equal(
      (await runCli(["verify-state", "--hub", s.hub.url, "--client", c, "--stream", "v"])).code,
      0,
    );
  });
});

Deno.test("a corrupted stored root makes verify-state print consistent: no and exit 4", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    const base = ["--hub", s.hub.url, "--client", c, "--stream", "v"];
    assert.equal((await runCli(["bench", "send", ...base, "--count", "3"])).code, 0);
    const text = await Deno.readTextFile(`${c}/state.json`);
    const root = /"last_mmr_root": "([0-9a-f]{64})"/.exec(text)![1]!;
    await Deno.writeTextFile(`${c}/state.json`, text.replace(root, "ab".repeat(32)));
    const r = await runCli(["verify-state", ...base]);
    assert.equal(r.code, 4);
    assert.match(r.stdout, /consistent: no\nmismatch_at: 3\n/);
    assert.match(r.stderr, /^E\.SEQ: State is inconsistent/);
    const j = await runCli(["verify-state", ...base, "--json"]);
    assert.equal(j.code, 4);
    assert.equal(j.json().ok, false);
    assert.equal(j.json().consistent, false);
    assert.equal(j.json().mismatch_at, 3);
    // send refuses to build on a damaged view
    const sent = await runCli(["send", ...base, "--body", "{}"]);
    assert.equal(sent.code, 4);
    // resync repairs it
    assert.equal((await runCli(["resync", ...base])).code, 0);
    assert.equal((await runCli(["verify-state", ...base])).code, 0);
  });
});
