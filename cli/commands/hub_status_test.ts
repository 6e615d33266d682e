import assert from "node:assert/strict";
import { hubIdFor, labelFor, streamIdFor, toHex } from "../../core/mod.ts";
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
    assert.match(h.stdout, /^ok: true\n/m);
    assert.match(h.stdout, /^last_stream_seq: 1$/m);
    const hj = await runCli(["hub", "health", "--hub", s.hub.url, "--stream", "core/main", "--json"]);
    assert.equal(hj.code, 0, hj.stderr);
    assert.equal(hj.json().last_stream_seq, 1);
    // --json prints the /healthz object itself (OBS0.3 keys), no wrapper.
    const label = toHex(labelFor(streamIdFor("core/main")));
    const raw = await (await fetch(`${s.hub.url}/healthz?label=${label}`)).json();
    assert.deepEqual(hj.json(), raw);
    assert.equal((await runCli(["hub", "status"])).code, 1);
    // Hub control commands take --data-dir: the same hub, named by its data dir.
    const withStream = ["--stream", "core/main"];
    for (const cmd of [["hub", "status", ...withStream], ["hub", "key"], ["hub", "health", ...withStream]]) {
      const d = await runCli([...cmd, "--data-dir", s.hubDir, "--json"]);
      assert.equal(d.code, 0, `${cmd.join(" ")}: ${d.stderr}`);
    }
    const st2 = await runCli(["hub", "status", "--data-dir", s.hubDir, ...withStream, "--json"]);
    assert.equal(st2.json().data_dir, s.hubDir);
    assert.equal((await runCli(["hub", "status", "--data-dir", s.hubDir, "--hub", s.hub.url])).code, 1);
  });
});
