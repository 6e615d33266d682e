/** The client against the real hub (hub/mod.ts): the CLI-GOALS and CORE-GOALS 1.1-1.4 flows end to end. */
import assert from "node:assert/strict";
import { hubIdFor, toHex } from "../core/mod.ts";
import { writeRetentionPolicy } from "../hub/mod.ts";
import { startRealHub } from "./testing/real_hub.ts";
import { runCli, tempDir } from "./testing/run.ts";

async function withRealHub(
  opts: Parameters<typeof startRealHub>[1],
  f: (h: Awaited<ReturnType<typeof startRealHub>>, root: string) => Promise<void>,
  before?: (root: string) => Promise<Parameters<typeof startRealHub>[1]>,
) {
  const t = await tempDir();
  try {
    const extra = before === undefined ? {} : await before(t.path);
    const hub = await startRealHub(`${t.path}/hub`, { ...opts, ...extra });
    try {
      await f(hub, t.path);
    } finally {
      await hub.close();
    }
  } finally {
    await t.cleanup();
  }
}

const ok = (r: { code: number; stdout: string; stderr: string }) =>
  assert.equal(r.code, 0, r.stdout + r.stderr);

/** A `before` for withRealHub: creates an issuer client in ROOT/admin (passed to `set`) that the hub trusts. */
const trustAdmin = (set: (dir: string) => void) => async (root: string) => {
  const admin = `${root}/admin`;
  set(admin);
  ok(await runCli(["keygen", "--out", admin]));
  const id = (await runCli(["id", "show", "--client", admin, "--json"])).json().id_sign_public as string;
  return { trustedIssuers: [id] };
};

Deno.test("real hub: send, stream with proofs, dump-raw + verify-receipt, verify-state, hub-id", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = `${root}/c1`;
    ok(await runCli(["keygen", "--out", c]));
    const base = ["--hub", hub.dataDir, "--client", c, "--stream", "core/main"];
    const s1 = await runCli([
      "send",
      ...base,
      "--body",
      '{"text":"hello-veens"}',
      "--dump-raw",
      `${root}/m.cbor`,
      `${root}/r.cbor`,
    ]);
    ok(s1);
    assert.match(s1.stdout, /^stream_seq: 1\n/);
    ok(await runCli(["send", ...base, "--body", '{"text":"two"}']));
    const st = await runCli(["stream", ...base, "--from", "1", "--with-proof", "--json"]);
    ok(st);
    const items = st.json().items as Record<string, unknown>[];
    assert.deepEqual(items.map((i) => i.body), [{ text: "hello-veens" }, { text: "two" }]);
    assert.deepEqual(items.map((i) => i.proof), ["verified", "verified"]);
    ok(
      await runCli([
        "verify-receipt",
        "--receipt",
        `${root}/r.cbor`,
        "--msg",
        `${root}/m.cbor`,
        "--hub-key",
        toHex(hub.hubPk),
        "--stream",
        "core/main",
      ]),
    );
    const r = await Deno.readFile(`${root}/r.cbor`);
    r[r.length - 2]! ^= 1;
    await Deno.writeFile(`${root}/r.cbor`, r);
    assert.equal(
      (await runCli([
        "verify-receipt",
        "--receipt",
        `${root}/r.cbor`,
        "--msg",
        `${root}/m.cbor`,
        "--client",
        c,
      ])).code,
      4,
    );
    const vs = await runCli(["verify-state", "--hub", hub.url, "--client", c, "--stream", "core/main"]);
    ok(vs);
    assert.match(vs.stdout, /consistent: yes/);
    assert.equal((await runCli(["hub-id", "--hub", hub.url])).stdout, toHex(hubIdFor(hub.hubPk)) + "\n");
  });
});

Deno.test("real hub: attachments are uploaded, streamed, saved and verified by index", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = `${root}/c`;
    ok(await runCli(["keygen", "--out", c]));
    await Deno.writeTextFile(`${root}/a.txt`, "alpha");
    await Deno.writeTextFile(`${root}/b.txt`, "beta");
    const base = ["--hub", hub.url, "--client", c, "--stream", "core/att"];
    ok(
      await runCli([
        "send-with-attachment",
        ...base,
        "--file",
        `${root}/a.txt`,
        "--file",
        `${root}/b.txt`,
        "--dump-raw",
        `${root}/m.cbor`,
        `${root}/r.cbor`,
      ]),
    );
    const st = await runCli(["stream", ...base, "--save-attachments", `${root}/out`]);
    ok(st);
    assert.equal(await Deno.readTextFile(`${root}/out/1-1-b.txt`), "beta");
    ok(
      await runCli([
        "attachment",
        "verify",
        "--msg",
        `${root}/m.cbor`,
        "--file",
        `${root}/b.txt`,
        "--index",
        "1",
        "--client",
        c,
      ]),
    );
    assert.equal(
      (await runCli([
        "attachment",
        "verify",
        "--msg",
        `${root}/m.cbor`,
        "--file",
        `${root}/b.txt`,
        "--index",
        "0",
        "--client",
        c,
      ])).code,
      4,
    );
  });
});

Deno.test("real hub: cap issue → authorize → send --cap under admission; E.AUTH without", async () => {
  let admin = "";
  await withRealHub(
    { admission: true },
    async (hub, root) => {
      const c = `${root}/c`;
      ok(await runCli(["keygen", "--out", c]));
      const denied = await runCli([
        "send",
        "--hub",
        hub.url,
        "--client",
        c,
        "--stream",
        "core/capped",
        "--body",
        "{}",
      ]);
      assert.equal(denied.code, 4, denied.stderr);
      assert.match(denied.stderr, /^E\.AUTH/);
      ok(
        await runCli([
          "cap",
          "issue",
          "--issuer",
          admin,
          "--subject",
          c,
          "--stream",
          "core/capped",
          "--ttl",
          "600",
          "--rate",
          "5,10",
          "--out",
          `${root}/cap.cbor`,
        ]),
      );
      const auth = await runCli([
        "cap",
        "authorize",
        "--hub",
        hub.url,
        "--cap",
        `${root}/cap.cbor`,
        "--client",
        c,
      ]);
      ok(auth);
      assert.match(auth.stdout, /^auth_ref: [0-9a-f]{64}\nexpires_at: [0-9]+\n$/);
      ok(
        await runCli([
          "send",
          "--hub",
          hub.url,
          "--client",
          c,
          "--stream",
          "core/capped",
          "--body",
          "{}",
          "--cap",
          `${root}/cap.cbor`,
        ]),
      );
      ok(await runCli(["cap", "status", "--cap", `${root}/cap.cbor`, "--client", c]));
    },
    trustAdmin((dir) => (admin = dir)),
  );
});

Deno.test("real hub: send --json over the cap's rate is E.RATE with retry_after", async () => {
  let admin = "";
  await withRealHub(
    { admission: true, now: () => 1_700_000_000_000 },
    async (hub, root) => {
      const c = `${root}/c`;
      const cap = `${root}/cap.cbor`;
      ok(await runCli(["keygen", "--out", c]));
      ok(
        await runCli(
          `cap issue --issuer ${admin} --subject ${c} --stream core/slow --ttl 600 --rate 1,1 --out ${cap}`
            .split(" "),
        ),
      );
      ok(await runCli(["cap", "authorize", "--hub", hub.url, "--cap", cap, "--client", c]));
      const send = () =>
        runCli(
          `send --hub ${hub.url} --client ${c} --stream core/slow --body {} --cap ${cap} --json`.split(" "),
        );
      ok(await send());
      const limited = await send(); // the hub clock stands still: the bucket stays empty
      assert.equal(limited.code, 4, limited.stderr);
      const j = limited.json();
      assert.equal(j.code, "E.RATE");
      assert.equal(j.retry_after, 1);
    },
    trustAdmin((dir) => (admin = dir)),
  );
});

Deno.test("real hub: bench, lose state, resync, verify-state; a corrupted root is reported", async () => {
  await withRealHub({ checkpointEvery: 16 }, async (hub, root) => {
    const c = `${root}/c`;
    ok(await runCli(["keygen", "--out", c]));
    const base = ["--hub", hub.url, "--client", c, "--stream", "core/resync"];
    ok(await runCli(["bench", "send", ...base, "--count", "40"]));
    await Deno.remove(`${c}/state.json`);
    const rs = await runCli(["resync", ...base, "--json"]);
    ok(rs);
    assert.equal(rs.json().last_stream_seq, 40);
    assert.equal(rs.json().client_seq, 40);
    ok(await runCli(["verify-state", ...base]));
    ok(await runCli(["send", ...base, "--body", "{}"]));
    const other = `${root}/o`;
    ok(await runCli(["keygen", "--out", other]));
    const far = await runCli([
      "stream",
      "--hub",
      hub.url,
      "--client",
      other,
      "--stream",
      "core/resync",
      "--from",
      "38",
      "--json",
    ]);
    ok(far);
    assert.deepEqual((far.json().items as { stream_seq: number }[]).map((i) => i.stream_seq), [
      38,
      39,
      40,
      41,
    ]);
    const text = await Deno.readTextFile(`${c}/state.json`);
    const rootHex = /"last_mmr_root": "([0-9a-f]{64})"/.exec(text)![1]!;
    await Deno.writeTextFile(`${c}/state.json`, text.replace(rootHex, "cd".repeat(32)));
    const bad = await runCli(["verify-state", ...base]);
    assert.equal(bad.code, 4);
    assert.match(bad.stdout, /consistent: no\nmismatch_at: 41\n/);
  });
});

Deno.test("real hub: hub status, key, health, metrics and checkpoint", async () => {
  await withRealHub({ checkpointEvery: 2 }, async (hub, root) => {
    const c = `${root}/c`;
    ok(await runCli(["keygen", "--out", c]));
    ok(await runCli(["bench", "send", "--hub", hub.url, "--client", c, "--stream", "ops", "--count", "3"]));
    const st = await runCli(["hub", "status", "--hub", hub.dataDir, "--stream", "ops", "--json"]);
    ok(st);
    assert.equal(st.json().last_stream_seq, 3);
    assert.equal(st.json().role, "standalone");
    assert.match(
      (await runCli(["hub", "key", "--hub", hub.url])).stdout,
      new RegExp(`^hub_pk: ${toHex(hub.hubPk)}\n`),
    );
    ok(await runCli(["hub", "health", "--hub", hub.url]));
    const m = await runCli(["hub", "metrics", "--hub", hub.url]);
    ok(m);
    assert.match(m.stdout, /veen_submit_ok_total 3/);
    // Checkpoints are cut by the hub's checkpointer behind the commits.
    await hub.settled();
    const cp = await runCli(["hub", "checkpoint", "--hub", hub.url, "--stream", "ops", "--json"]);
    ok(cp);
    assert.equal(cp.json().hub_sig, "ok");
  });
});

Deno.test("real hub: attachments under admission: send --cap uploads with the auth_ref; without it the upload is E.AUTH; the quota is E.RATE; unclaimed uploads go after the grace period, claimed ones with their payload segment", async () => {
  let admin = "";
  const clock = { now: 1_700_000_000_000 };
  const fetched = async (url: string, coid: string) => {
    const r = await fetch(`${url}/attachments/${coid}`);
    await r.body?.cancel();
    return r.status;
  };
  const files = async (dir: string) => {
    let n = 0;
    for await (const d of Deno.readDir(`${dir}/attachments`)) {
      for await (const f of Deno.readDir(`${dir}/attachments/${d.name}`)) if (!f.name.startsWith(".")) n++;
    }
    return n;
  };
  await withRealHub(
    {
      admission: true,
      now: () => clock.now,
      config: { segmentBytes: 1024, attachmentQuotaBytes: 16384, attachmentGraceSec: 600 },
    },
    async (hub, root) => {
      const c = `${root}/c`;
      ok(await runCli(["keygen", "--out", c]));
      const cap = `${root}/cap.cbor`;
      ok(
        await runCli(
          `cap issue --issuer ${admin} --subject ${c} --stream core/att --ttl 2592000 --out ${cap}`.split(
            " ",
          ),
        ),
      );
      ok(await runCli(["cap", "authorize", "--hub", hub.url, "--cap", cap, "--client", c]));
      await Deno.writeTextFile(`${root}/a.txt`, "alpha");
      await Deno.writeFile(`${root}/big.bin`, new Uint8Array(20000));
      /** `veen send --json` of FILE as an attachment (or of `{}` without FILE), with `--cap` unless told. */
      const send = (stream: string, file?: string, withCap = true) =>
        runCli([
          ...`send --hub ${hub.url} --client ${c} --stream ${stream} --json`.split(" "),
          ...(file === undefined ? ["--body", "{}"] : ["--attach", file]),
          ...(withCap ? ["--cap", cap] : []),
        ]);
      // Authorized: upload and send work, and the receiver gets the attachment.
      const sent = await send("core/att", `${root}/a.txt`);
      ok(sent);
      const coid = (sent.json().attachments as { coid: string }[])[0]!.coid;
      ok(
        await runCli([
          "stream",
          "--hub",
          hub.url,
          "--client",
          c,
          "--stream",
          "core/att",
          "--save-attachments",
          `${root}/out`,
        ]),
      );
      assert.equal(await Deno.readTextFile(`${root}/out/1-0-a.txt`), "alpha");
      assert.equal(await files(hub.dataDir), 1);
      // Without a capability the upload itself is refused: nothing is stored.
      const denied = await send("core/att", `${root}/a.txt`, false);
      assert.equal(denied.code, 4, denied.stderr);
      assert.match(denied.stdout, /"code":"E\.AUTH".*veen-auth-ref header is missing/);
      assert.equal(await files(hub.dataDir), 1);
      // Over the auth_ref's byte quota.
      const over = await send("core/att", `${root}/big.bin`);
      assert.equal(over.code, 4, over.stderr);
      assert.match(over.stdout, /"code":"E\.RATE","detail":"Attachment quota exceeded/);
      assert.equal(await files(hub.dataDir), 1);
      // Uploaded, but the MSG is refused (a stream the capability does not allow): no MSG claims the upload.
      const refused = await send("core/elsewhere", `${root}/a.txt`);
      assert.equal(refused.code, 4, refused.stderr);
      assert.match(refused.stdout, /"code":"E\.CAP"/);
      assert.equal(await files(hub.dataDir), 2);
      clock.now += 901_000; // the grace (600 s) and the claim margin (300 s)
      await hub.retentionPass();
      assert.equal(await files(hub.dataDir), 1, "the unclaimed upload is collected after the grace period");
      assert.equal(await fetched(hub.url, coid), 200, "the claimed attachment stays");
      // More MSGs rotate the segments; once retention drops the claiming MSG's payload segment the attachment goes.
      for (let i = 0; i < 6; i++) ok(await send("core/att"));
      await writeRetentionPolicy(hub.dataDir, { receiptsDays: null, payloadsDays: 1, checkpointsDays: null });
      clock.now += 2 * 86_400_000;
      await hub.retentionPass();
      assert.equal(await files(hub.dataDir), 0);
      assert.equal(await fetched(hub.url, coid), 404);
    },
    trustAdmin((dir) => (admin = dir)),
  );
});

Deno.test("real hub: send --profile-id (what kube job send passes on) checks the hub's profile_id before sending", async () => {
  await withRealHub({}, async (hub, root) => {
    ok(await runCli(["keygen", "--out", `${root}/c`]));
    const profile = (await runCli(["hub", "key", "--hub", hub.url, "--json"])).json().profile_id as string;
    const args = [
      "send",
      "--hub",
      hub.url,
      "--client",
      `${root}/c`,
      "--stream",
      "p",
      "--body",
      "{}",
      "--json",
    ];
    const other = await runCli([...args, "--profile-id", "ab".repeat(32)]);
    assert.equal(other.code, 4, other.stderr);
    assert.equal(other.json().code, "E.PROFILE");
    const same = await runCli([...args, "--profile-id", profile]);
    ok(same);
    assert.equal(same.json().stream_seq, 1, "the refused send stored nothing");
    assert.equal((await runCli([...args, "--profile-id", "xyz"])).code, 1);
  });
});
