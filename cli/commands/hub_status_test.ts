import assert from "node:assert/strict";
import { hubIdFor, toHex } from "../../core/mod.ts";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("hub status, hub key and hub health read /info and /healthz", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    assert.equal(
      (await runCli(["send", "--hub", s.hub.url, "--client", c, "--stream", "core/main", "--body", "{}"]))
        .code,
      0,
    );
    const st = await runCli(["hub", "status", "--hub", s.hubDir, "--stream", "core/main", "--json"]);
    assert.equal(st.code, 0, st.stderr);
    assert.equal(st.json().role, "standalone");
    assert.equal(st.json().last_stream_seq, 1);
    assert.equal(st.json().data_dir, s.hubDir);
    const key = await runCli(["hub", "key", "--hub", s.hub.url]);
    assert.equal(
      key.stdout,
      `hub_pk: ${toHex(s.hub.hubPk)}\nhub_id: ${
        toHex(hubIdFor(s.hub.hubPk))
      }\nprofile_id: 1db91032b4bf4cd8b9f56a782b299458e6f782d3a1276f04c50c7b02651038ca\n`,
    );
    const h = await runCli(["hub", "health", "--hub", s.hub.url, "--stream", "core/main"]);
    assert.equal(h.code, 0, h.stderr);
    assert.equal(JSON.parse(h.stdout).last_stream_seq, 1);
    assert.equal((await runCli(["hub", "status"])).code, 1);
  });
});
