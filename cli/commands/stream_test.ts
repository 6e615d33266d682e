import assert from "node:assert/strict";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("keygen → send twice → stream shows both decrypted bodies with verified proofs", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c1");
    const base = ["--hub", s.hub.url, "--client", c, "--stream", "core/main"];
    const a = await runCli(["send", ...base, "--body", '{"text":"hello-veens"}']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /^stream_seq: 1\nmsg_id: [0-9a-f]{64}\n$/);
    const b = await runCli(["send", ...base, "--body", '{"text":"second","n":2}']);
    assert.match(b.stdout, /^stream_seq: 2\n/);
    const r = await runCli(["stream", ...base, "--from", "1", "--with-proof"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stream_seq: 1\n[^]*proof: verified\n[^]*body: \{"text":"hello-veens"\}/);
    assert.match(r.stdout, /stream_seq: 2\n[^]*proof: verified\n[^]*body: \{"n":2,"text":"second"\}/);
    // Inspection output is deterministic: same inputs, same bytes.
    const again = await runCli(["stream", ...base, "--from", "1", "--with-proof"]);
    assert.equal(again.stdout, r.stdout);
    const j = await runCli(["stream", ...base, "--json", "--with-proof"]);
    const doc = j.json();
    assert.equal(doc.ok, true);
    const items = doc.items as Record<string, unknown>[];
    assert.equal(items.length, 2);
    assert.deepEqual(items[0]!.body, { text: "hello-veens" });
    assert.equal(items[1]!.proof, "verified");
    assert.equal(doc.last_stream_seq, 2);
  });
});

Deno.test("stream reports messages sealed to someone else as not decryptable, not as errors", async () => {
  await withScenario({}, async (s) => {
    const alice = await s.client("alice");
    const bob = await s.client("bob");
    const send = await runCli([
      "send",
      "--hub",
      s.hubDir,
      "--client",
      alice,
      "--stream",
      "chat",
      "--body",
      '{"to":"bob"}',
      "--to",
      bob,
    ]);
    assert.equal(send.code, 0, send.stderr);
    const asAlice = await runCli(["stream", "--hub", s.hubDir, "--client", alice, "--stream", "chat"]);
    assert.equal(asAlice.code, 0, asAlice.stderr);
    assert.match(asAlice.stdout, /payload: not decryptable by this client/);
    const asBob = await runCli(["stream", "--hub", s.hubDir, "--client", bob, "--stream", "chat", "--json"]);
    const item = (asBob.json().items as Record<string, unknown>[])[0]!;
    assert.equal(item.decrypted, true);
    assert.deepEqual(item.body, { to: "bob" });
  });
});

Deno.test("stream --from far ahead verifies the skipped part, and --to / --count bound the output", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    const base = ["--hub", s.hub.url, "--client", c, "--stream", "s"];
    assert.equal((await runCli(["bench", "send", ...base, "--count", "6"])).code, 0);
    const fresh = await s.client("fresh");
    const r = await runCli([
      "stream",
      "--hub",
      s.hub.url,
      "--client",
      fresh,
      "--stream",
      "s",
      "--from",
      "4",
      "--to",
      "5",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((r.json().items as { stream_seq: number }[]).map((i) => i.stream_seq), [4, 5]);
    assert.equal((r.json().items as Record<string, unknown>[])[0]!.payload, "not decryptable by this client");
    const f = await runCli(["stream", ...base, "--follow", "--count", "2", "--poll-ms", "10", "--json"]);
    assert.equal(f.code, 0, f.stderr);
    const lines = f.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.stream_seq), [1, 2]);
    // A poll interval setTimeout cannot honour would busy-poll: refused, like any non-integer.
    for (const v of ["3000000000", "x", "1.5", "5"]) {
      const bad = await runCli(["stream", ...base, "--follow", "--poll-ms", v]);
      assert.equal(bad.code, 1, v);
      assert.match(bad.stderr, /--poll-ms must be/);
    }
    const beyond = await runCli(["stream", ...base, "--from", "100"]);
    assert.equal(beyond.code, 0, beyond.stderr);
    assert.match(beyond.stdout, /no items from stream_seq 100/);
  });
});

Deno.test("stream --save-attachments fetches, checks and decrypts attachments", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    await Deno.writeTextFile(`${s.root}/a.txt`, "attachment one");
    const base = ["--hub", s.hub.url, "--client", c, "--stream", "att"];
    const sent = await runCli(["send", ...base, "--body", '{"k":"v"}', "--attach", `${s.root}/a.txt`]);
    assert.equal(sent.code, 0, sent.stderr);
    const r = await runCli(["stream", ...base, "--save-attachments", `${s.root}/out`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /attachment 0: coid [0-9a-f]{64} len 14 name a\.txt/);
    assert.equal(await Deno.readTextFile(`${s.root}/out/1-0-a.txt`), "attachment one");
  });
});

Deno.test("stream fails with exit 4 when the hub leaves a gap", async () => {
  await withScenario({ tamper: { skipSeq: 2 } }, async (s) => {
    const c = await s.client("c");
    const base = ["--hub", s.hub.url, "--client", c, "--stream", "g"];
    for (let i = 0; i < 3; i++) assert.equal((await runCli(["send", ...base, "--body", "{}"])).code, 0);
    const other = await s.client("other");
    const r = await runCli(["stream", "--hub", s.hub.url, "--client", other, "--stream", "g"]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /^E\.SEQ: .*skipped/m);
  });
});
