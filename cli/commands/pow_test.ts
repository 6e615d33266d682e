import assert from "node:assert/strict";
import { fromHex, leadingZeroBits, powHash, toHex, u64be } from "../../core/mod.ts";
import { HubHttp } from "../http_client.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";
import { newClient, runCli } from "../testing/run.ts";

const CHALLENGE = "ab".repeat(32);
/** `veen WORDS` given as one line (no argument holds a space). */
const cli = (line: string, ...extra: string[]) => runCli([...line.split(" "), ...extra]);

Deno.test("pow solve prints the least nonce with exactly the CLI-GOALS-2 JSON; exit 4 when the bound is too small", async () => {
  const r = ok(await runCli(["pow", "solve", "--challenge", CHALLENGE, "--difficulty", "8", "--json"]));
  const j = r.json();
  assert.deepEqual(Object.keys(j), ["ok", "nonce", "nonce_hex", "hash_prefix_ok"]);
  const nonce = j.nonce as number;
  assert.ok(leadingZeroBits(powHash(fromHex(CHALLENGE), nonce)) >= 8);
  for (let i = 0; i < nonce; i++) assert.ok(leadingZeroBits(powHash(fromHex(CHALLENGE), i)) < 8);
  assert.equal(j.nonce_hex, toHex(u64be(nonce)));
  assert.equal(j.hash_prefix_ok, true);
  const text = ok(await runCli(["pow", "solve", "--challenge", CHALLENGE, "--difficulty", "8"]));
  assert.match(
    text.stdout,
    new RegExp(`^nonce: ${nonce}\nnonce_hex: ${j.nonce_hex}\nhash: 00[0-9a-f]{62}\n$`),
  );
  // The bound admits nonces 0..N-1: exactly `nonce` iterations cannot find it, nonce+1 can.
  const bounded = (n: number) =>
    cli(`pow solve --challenge ${CHALLENGE} --difficulty 8 --max-iterations ${n} --json`);
  const short = await bounded(nonce);
  assert.equal(short.code, 4);
  assert.equal(short.json().code, "E.POW_UNSOLVED");
  assert.match(short.json().detail as string, /No nonce below \d+ solves difficulty 8/);
  ok(await bounded(nonce + 1));
  assert.equal((await runCli(["pow", "solve", "--challenge", "ab", "--difficulty", "8"])).code, 1);
  assert.equal((await runCli(["pow", "solve", "--challenge", CHALLENGE, "--difficulty", "65"])).code, 1);
});

Deno.test("pow request, hub status and send against a hub that requires proof of work", async () => {
  await withRealHub({ config: { powDifficulty: 6 } }, async (hub, root) => {
    const st = ok(await runCli(["hub", "status", "--hub", hub.url, "--json"])).json();
    assert.equal(st.pow, true);
    assert.equal(st.pow_difficulty, 6);
    const req = ok(await runCli(["pow", "request", "--hub", hub.url, "--json"])).json();
    assert.equal(req.ok, true);
    assert.equal(req.difficulty, 6);
    assert.match(req.challenge as string, /^[0-9a-f]{64}$/);
    assert.equal(
      ok(await runCli(["pow", "request", "--hub", hub.url, "--difficulty", "9", "--json"])).json().difficulty,
      9,
    );
    const human = ok(await runCli(["pow", "request", "--hub", hub.url]));
    assert.match(human.stdout, /^challenge: [0-9a-f]{64}\ndifficulty: 6\n$/);

    const c = await newClient(root, "c");
    const send = (...extra: string[]) =>
      runCli([
        "send",
        "--hub",
        hub.url,
        "--client",
        c,
        "--stream",
        "pow/s",
        "--body",
        "{}",
        ...extra,
        "--json",
      ]);
    // Automatic: the CLI learns the difficulty from /info, fetches a challenge and solves it per submit.
    assert.equal(ok(await send()).json().stream_seq, 1);
    // Given challenge and nonce (pow request + pow solve): sent as is; the same pair again is refused.
    const solved = ok(
      await runCli(["pow", "solve", "--challenge", req.challenge as string, "--difficulty", "6", "--json"]),
    ).json();
    const pair = ["--pow-challenge", req.challenge as string, "--pow-nonce", String(solved.nonce)];
    assert.equal(ok(await send(...pair)).json().stream_seq, 2);
    const replay = await send(...pair);
    assert.equal(replay.code, 4);
    assert.equal(replay.json().code, "E.AUTH");
    assert.match(replay.json().detail as string, /already used/);
    // A challenge without a nonce is solved here.
    const other = ok(await runCli(["pow", "request", "--hub", hub.url, "--json"])).json();
    assert.equal(ok(await send("--pow-challenge", other.challenge as string)).json().stream_seq, 3);
    // rpc call takes the same flags (usage errors are checked before anything is sent).
    const rpc = await cli(
      `rpc call --hub ${hub.url} --client ${c} --stream pow/r --method echo --pow-nonce 1`,
    );
    assert.equal(rpc.code, 1);
    assert.match(rpc.stderr, /--pow-nonce needs --pow-challenge/);
  });
});

Deno.test("HubHttp.submit retries once with a solved challenge when the hub refuses for proof of work", async () => {
  await withRealHub({ config: { powDifficulty: 4 } }, async (hub, root) => {
    const c = await newClient(root, "c");
    // A HubHttp that never read /info (hubDifficulty 0) first sends without a cookie.
    const calls: string[] = [];
    const plain = new HubHttp(hub.url, 10_000, (url, init) => {
      calls.push(`${init.method} ${new URL(url).pathname} ${new Headers(init.headers).has("veen-pow")}`);
      return fetch(url, init);
    });
    assert.equal(plain.pow.hubDifficulty, 0);
    const sent = ok(
      await cli(
        `send --hub ${hub.url} --client ${c} --stream pow/retry --body {}`,
        "--dump-raw",
        `${root}/m.cbor`,
        `${root}/r.cbor`,
      ),
    );
    assert.match(sent.stdout, /stream_seq: 1/);
    const msg = await Deno.readFile(`${root}/m.cbor`);
    // Resubmitting the same MSG: the first attempt has no cookie (E.AUTH, PoW), the retry carries one and gets
    // past stage 0 to the sequencer, which answers E.DUP for the accepted MSG.
    await assert.rejects(plain.submit(msg), (e) => (e as { code?: string }).code === "E.DUP");
    assert.deepEqual(calls, ["POST /submit false", "GET /pow/challenge false", "POST /submit true"]);
  });
});
