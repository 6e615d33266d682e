import assert from "node:assert/strict";
import { DEFAULT_LIMITS } from "../../core/mod.ts";
import { selfCommand } from "../../hub/mod.ts";
import { startRealHub } from "../testing/real_hub.ts";
import { newClient, runCli, tempDir, withScenario } from "../testing/run.ts";
import { parseJsonLines } from "./send_batch.ts";

Deno.test("send --batch: a few thousand bodies, every RECEIPT verified; the stream verifies with proofs", async () => {
  const t = await tempDir();
  const hub = await startRealHub(`${t.path}/hub`);
  try {
    const c = await newClient(t.path, "c");
    const n = 3000;
    const file = `${t.path}/bodies.jsonl`;
    await Deno.writeTextFile(
      file,
      Array.from({ length: n }, (_, i) => JSON.stringify({ i, text: `message ${i}` })).join("\n") + "\n\n",
    );
    const base = ["--hub", hub.url, "--client", c, "--stream", "bulk"];
    const r = await runCli(["send", ...base, "--batch", file, "--json"], {}, { isTty: true });
    assert.equal(r.code, 0, r.stderr);
    const j = r.json();
    assert.deepEqual(
      [j.count, j.accepted, j.refused, j.first_stream_seq, j.last_stream_seq, j.client_seq],
      [n, n, [], 1, n, n],
    );
    assert.ok((j.requests as number) >= Math.ceil(n / 256));
    assert.match(r.stderr, new RegExp(`\\[#{30}\\] ${n}/${n} sent\\n`), "progress bar on a terminal");
    // The whole stream, read back with a proof per item, verified and decrypted by this client.
    const s = await runCli(["stream", ...base, "--with-proof", "--json"]);
    assert.equal(s.code, 0, s.stderr);
    const items = s.json().items as { stream_seq: number; body: { i: number } }[];
    assert.equal(items.length, n);
    items.forEach((it, k) => assert.deepEqual([it.stream_seq, it.body.i], [k + 1, k]));
    // A later single send continues from the saved client_seq and view.
    const one = await runCli(["send", ...base, "--body", '{"after":true}', "--json"]);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual([one.json().client_seq, one.json().stream_seq, one.json().prev_ack], [n + 1, n + 1, n]);
  } finally {
    await hub.close();
    await t.cleanup();
  }
});

Deno.test("send --batch without a terminal prints no progress; refused lines are listed and exit 4", async () => {
  const t = await tempDir();
  const small = await startRealHub(`${t.path}/hub`, {
    config: { limits: { ...DEFAULT_LIMITS, maxMsgBytes: 1024 } },
  });
  try {
    const c = await newClient(t.path, "c");
    const file = `${t.path}/b.jsonl`;
    await Deno.writeTextFile(
      file,
      ['{"a":1}', JSON.stringify({ big: "x".repeat(2000) }), '{"a":3}'].join("\n"),
    );
    const r = await runCli(["send", "--hub", small.url, "--client", c, "--stream", "s", "--batch", file]);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^accepted: 2 of 3\n/);
    assert.match(r.stdout, /refused line 2: E\.SIZE /);
  } finally {
    await small.close();
    await t.cleanup();
  }
});

Deno.test("send --batch: input errors are usage errors before anything is sent", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    const file = `${s.root}/bad.jsonl`;
    await Deno.writeTextFile(file, '{"ok":1}\n{nope\n');
    const base = ["send", "--hub", s.hub.url, "--client", c, "--stream", "x"];
    let r = await runCli([...base, "--batch", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--batch line 2 is not JSON/);
    r = await runCli([...base, "--batch", file, "--body", "{}"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--batch cannot be combined with --body/);
    r = await runCli([...base, "--batch", `${s.root}/missing.jsonl`]);
    assert.equal(r.code, 1);
  });
  assert.deepEqual(parseJsonLines('1\n\n  "two"  \n[3]'), [
    { line: 1, value: 1 },
    { line: 3, value: "two" },
    { line: 4, value: [3] },
  ]);
});

Deno.test("send --batch - reads the bodies from stdin (a subprocess, no terminal: no progress bar)", async () => {
  const t = await tempDir();
  const hub = await startRealHub(`${t.path}/hub`);
  try {
    const c = await newClient(t.path, "c");
    const self = selfCommand();
    const child = new Deno.Command(self.cmd, {
      args: [
        ...self.args,
        "send",
        "--hub",
        hub.url,
        "--client",
        c,
        "--stream",
        "in",
        "--batch",
        "-",
        "--json",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(Array.from({ length: 50 }, (_, i) => `{"n":${i}}`).join("\n")));
    await w.close();
    const r = await child.output();
    const dec = new TextDecoder();
    assert.equal(r.code, 0, dec.decode(r.stderr));
    assert.equal(dec.decode(r.stderr), "");
    const j = JSON.parse(dec.decode(r.stdout));
    assert.deepEqual([j.ok, j.accepted, j.last_stream_seq], [true, 50, 50]);
  } finally {
    await hub.close();
    await t.cleanup();
  }
});
