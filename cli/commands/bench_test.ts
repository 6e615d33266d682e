import assert from "node:assert/strict";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("bench send sends N verified messages and reports throughput, with a progress bar on a TTY", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    const r = await runCli(
      ["bench", "send", "--hub", s.hub.url, "--client", c, "--stream", "b", "--count", "7"],
      {},
      { isTty: true },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sent: 7\nlast_stream_seq: 7\n/);
    assert.match(r.stderr, /\[#{30}\] 7\/7 sent\n/);
    const j = await runCli([
      "bench",
      "send",
      "--hub",
      s.hub.url,
      "--client",
      c,
      "--stream",
      "b",
      "--count",
      "2",
      "--json",
    ]);
    assert.equal(j.json().first_stream_seq, 8);
    assert.equal(j.json().last_stream_seq, 9);
    assert.equal(j.stderr, "");
    assert.equal(
      (await runCli(["bench", "send", "--hub", s.hub.url, "--client", c, "--stream", "b", "--count", "0"]))
        .code,
      1,
    );
  });
});
