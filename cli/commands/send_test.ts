import assert from "node:assert/strict";
import { startFakeHub } from "../testing/fake_hub.ts";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("send catches up with other writers before checking its RECEIPT root", async () => {
  await withScenario({}, async (s) => {
    const a = await s.client("a");
    const b = await s.client("b");
    const as = ["--hub", s.hub.url, "--client", a, "--stream", "shared"];
    const bs = ["--hub", s.hub.url, "--client", b, "--stream", "shared"];
    assert.equal((await runCli(["send", ...as, "--body", "{}"])).code, 0);
    assert.equal((await runCli(["bench", "send", ...bs, "--count", "3"])).code, 0);
    const r = await runCli(["send", ...as, "--body", '{"again":1}', "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().stream_seq, 5);
    assert.equal(r.json().client_seq, 2);
    assert.equal(r.json().prev_ack, 1);
    const st = await runCli(["verify-state", ...as]);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, /local_stream_seq: 5\n[^]*consistent: yes/);
  });
});

Deno.test("send with a hub whose key changed since the pin fails with E.SIG (exit 4)", async () => {
  await withScenario({ hubSeed: new Uint8Array(32).fill(1) }, async (s) => {
    const c = await s.client("c");
    const args = ["send", "--hub", s.hubDir, "--client", c, "--stream", "x", "--body", "{}"];
    assert.equal((await runCli(args)).code, 0);
    await s.hub.close();
    const other = await startFakeHub({ dataDir: s.hubDir, hubSeed: new Uint8Array(32).fill(2) });
    try {
      const r = await runCli(args);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /^E\.SIG: Hub key changed/);
    } finally {
      await other.close();
    }
  });
});

Deno.test("send exits 4 on a forged RECEIPT but never reuses the accepted client_seq", async () => {
  await withScenario({ tamper: { submitSig: true } }, async (s) => {
    const c = await s.client("c");
    const args = ["send", "--hub", s.hub.url, "--client", c, "--stream", "x", "--body", "{}"];
    const r = await runCli(args);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /^E\.SIG: RECEIPT/);
    const state = JSON.parse(await Deno.readTextFile(`${c}/state.json`));
    const label = Object.values(
      state.hubs as Record<
        string,
        { labels: Record<string, { client_seq: number; last_stream_seq: number }> }
      >,
    )[0]!.labels;
    const ls = Object.values(label)[0]!;
    assert.equal(ls.client_seq, 1);
    assert.equal(ls.last_stream_seq, 0);
  });
});

Deno.test("send maps failures to exit codes: malformed 3, unreachable 2, usage 1, hub E.* 4", async () => {
  await withScenario({ tamper: { submitGarbage: true } }, async (s) => {
    const c = await s.client("c");
    const base = ["send", "--client", c, "--stream", "x"];
    const bad = await runCli([...base, "--hub", s.hub.url, "--body", "{}"]);
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /malformed RECEIPT/);
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response(""));
    const port = (server.addr as Deno.NetAddr).port;
    await server.shutdown();
    const down = await runCli([...base, "--hub", `http://127.0.0.1:${port}`, "--body", "{}"]);
    assert.equal(down.code, 2);
    assert.match(down.stderr, /^E\.UNAVAILABLE: Cannot reach hub/);
    const noState = await runCli([...base, "--hub", `${s.root}/no-hub-here`, "--body", "{}"]);
    assert.equal(noState.code, 2);
    const json = await runCli([...base, "--hub", `${s.root}/no-hub-here`, "--body", "{}", "--json"]);
    assert.equal(json.code, 2);
    assert.deepEqual(Object.keys(json.json()), ["ok", "code", "detail"]);
    assert.equal(json.json().ok, false);
    assert.equal((await runCli([...base, "--hub", s.hub.url])).code, 1);
    assert.equal((await runCli(["send", "--client", c, "--hub", s.hub.url, "--body", "{}"])).code, 1);
    assert.equal((await runCli([...base, "--hub", s.hub.url, "--body", '{"f":1.5}'])).code, 1);
    assert.equal(
      (await runCli([...base, "--hub", s.hub.url, "--body", "{}", "--attach", `${s.root}/missing`])).code,
      1,
    );
  });
  await withScenario({ admission: true }, async (s) => {
    const c = await s.client("c");
    const r = await runCli(["send", "--hub", s.hub.url, "--client", c, "--stream", "x", "--body", "{}"]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /^E\.AUTH: auth_ref required/);
  });
});

Deno.test("send --timeout-ms bounds each request (transport failure, exit 2)", async () => {
  // The server answers only once the client has given up.
  let gaveUp!: () => void;
  const late = new Promise<void>((r) => (gaveUp = r));
  const slow = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await late;
    return new Response("{}");
  });
  try {
    await withScenario({}, async (s) => {
      const c = await s.client("c");
      const r = await runCli([
        "--timeout-ms",
        "50",
        "send",
        "--hub",
        `http://127.0.0.1:${(slow.addr as Deno.NetAddr).port}`,
        "--client",
        c,
        "--stream",
        "x",
        "--body",
        "{}",
      ]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /within 50 ms/);
    });
  } finally {
    gaveUp();
    await slow.shutdown();
  }
});
