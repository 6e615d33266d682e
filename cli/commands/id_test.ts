import assert from "node:assert/strict";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("id show prints the identity and per-label state; id usage counts messages", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    assert.equal(
      (await runCli(["send", "--hub", s.hub.url, "--client", c, "--stream", "core/main", "--body", "{}"]))
        .code,
      0,
    );
    const r = await runCli(["id", "show", "--client", c]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^client_id: [0-9a-f]{64}\nid_sign_public: [0-9a-f]{64}\nid_dh_public: [0-9a-f]{64}\n/,
    );
    assert.match(
      r.stdout,
      /label 969080810ec928ccd830a6cde893ac5a0e62147d512a11879468d8fd8ba515a5: stream core\/main last_stream_seq 1/,
    );
    assert.equal((await runCli(["id", "show", "--client", c])).stdout, r.stdout);
    const u = await runCli(["id", "usage", "--client", c, "--json"]);
    assert.equal(u.code, 0, u.stderr);
    assert.equal((u.json().labels as Record<string, unknown>[])[0]!.msgs_sent, 1);
    const byHub = await runCli(["id", "usage", "--client", c, "--hub", s.hub.url]);
    assert.match(byHub.stdout, /msgs_sent 1/);
  });
});

Deno.test("id rotate gives a new client_id; sending restarts client_seq and old messages still decrypt", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c", { VEEN_PASSPHRASE: "pw" });
    const env = { VEEN_PASSPHRASE: "pw" };
    const base = ["--hub", s.hub.url, "--client", c, "--stream", "r"];
    assert.equal((await runCli(["send", ...base, "--body", '{"n":1}'], env)).code, 0);
    const before = (await runCli(["id", "show", "--client", c, "--json"])).json().client_id;
    const rot = await runCli(["id", "rotate", "--client", c, "--json"], env);
    assert.equal(rot.code, 0, rot.stderr);
    assert.equal(rot.json().old_client_id, before);
    assert.notEqual(rot.json().client_id, before);
    assert.equal(JSON.parse(await Deno.readTextFile(`${c}/keystore.enc`)).encrypted, true);
    const sent = await runCli(["send", ...base, "--body", '{"n":2}', "--json"], env);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.json().client_seq, 1);
    assert.equal(sent.json().client_id, rot.json().client_id);
    const st = await runCli(["stream", ...base, "--json"], env);
    const bodies = (st.json().items as Record<string, unknown>[]).map((i) => i.body);
    assert.deepEqual(bodies, [{ n: 1 }, { n: 2 }]);
    const state = JSON.parse(await Deno.readTextFile(`${c}/state.json`));
    assert.equal(state.rotations.length, 1);
    assert.equal((await runCli(["id", "rotate", "--client", c])).code, 1);
    assert.equal((await runCli(["id", "rotate", "--client", c], { VEEN_PASSPHRASE: "bad" })).code, 4);
  });
});
