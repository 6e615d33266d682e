/** RPC0 end to end through cliMain against the real hub, with `rpc serve` running concurrently in-process. */
import assert from "node:assert/strict";
import { newClient, runCli } from "../testing/run.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";

const jsonLines = (stdout: string) =>
  stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

Deno.test("rpc: add, echo, unknown method and an idempotent repeat between two clients; a replayed server keeps idem", async () => {
  await withRealHub({}, async (hub, root) => {
    const server = await newClient(root, "server");
    const caller = await newClient(root, "caller");
    const s = ["--hub", hub.url, "--stream", "rpc/main"];
    const serve = (max: number) =>
      runCli([
        "rpc",
        "serve",
        ...s,
        "--client",
        server,
        "--poll-ms",
        "20",
        "--max-requests",
        String(max),
        "--for-ms",
        "30000",
        "--json",
      ]);
    const call = (method: string, args: string, ...extra: string[]) =>
      runCli([
        "rpc",
        "call",
        ...s,
        "--client",
        caller,
        "--to",
        server,
        "--method",
        method,
        "--args",
        args,
        "--timeout-ms",
        "15000",
        ...extra,
      ]);

    const serving = serve(5);
    assert.equal(ok(await call("add", '{"a":1,"b":2}')).stdout, "3\n");
    const first = ok(await call("add", "[1,2]", "--idem", "7", "--json"));
    assert.equal(first.json().result, 3);
    // Same (method, client_id, idem) with other args: the stored result, no second execution.
    assert.equal(ok(await call("add", "[5,5]", "--idem", "7")).stdout, "3\n");
    assert.equal(ok(await call("echo", '{"x":[1,"y"]}')).stdout, '{"x":[1,"y"]}\n');
    const bad = await call("nope", "{}");
    assert.equal(bad.code, 4, bad.stderr);
    assert.equal(bad.stdout, 'error.code: unknown_method\nerror.detail: no method "nope"\n');
    assert.match(bad.stderr, /^E\.RPC: unknown_method/);

    const served = ok(await serving);
    const lines = jsonLines(served.stdout);
    const items = lines.slice(0, -1);
    assert.deepEqual(items.map((i) => i.method), ["add", "add", "add", "echo", "nope"]);
    assert.deepEqual(items.map((i) => i.executed), [true, true, false, true, true]);
    assert.deepEqual(items.map((i) => i.answered), ["sent", "sent", "sent", "sent", "sent"]);
    const total = lines.at(-1)!;
    assert.equal(total.executed, 4);
    assert.equal(total.deduplicated, 1);
    // Requests and replies are on the stream and open only for their recipients: the hub sees ciphertext.
    const st = ok(await runCli(["stream", ...s, "--client", caller, "--json"]));
    const streamed = st.json().items as { decrypted: boolean }[];
    assert.equal(streamed.length, 10);
    assert.deepEqual(streamed.map((i) => i.decrypted), Array(5).fill([false, true]).flat());

    // A server without its summary rebuilds the idempotency table from the log: idem 7 is still answered as 3.
    await Deno.remove(`${server}/overlays`, { recursive: true });
    const replay = serve(6);
    assert.equal(ok(await call("add", "[40,2]", "--idem", "7")).stdout, "3\n");
    const again = jsonLines(ok(await replay).stdout);
    assert.equal(again.at(-2)!.executed, false);
    assert.equal(again.at(-1)!.deduplicated, 2);
  });
});

Deno.test("rpc: one client directory can call and serve itself (default --to is the caller)", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c, "--stream", "rpc/self"];
    const serving = runCli([
      "rpc",
      "serve",
      ...base,
      "--poll-ms",
      "20",
      "--max-requests",
      "1",
      "--for-ms",
      "30000",
    ]);
    const r = ok(await runCli(["rpc", "call", ...base, "--method", "add", "--args", "[1,2]", "--json"]));
    assert.equal(r.json().result, 3);
    assert.equal(r.json().request_seq, 1);
    assert.equal(r.json().reply_seq, 2);
    const out = ok(await serving).stdout;
    assert.match(out, /^stream_seq 1: add from [0-9a-f]{16}: ok \(executed\), reply stream_seq 2\n/);
    // --once afterwards: nothing new to answer, and only the items after the summary are read.
    const once = ok(await runCli(["rpc", "serve", ...base, "--once", "--json"]));
    assert.equal(once.json().handled, 0);
    assert.equal((once.json().fold as { fetched: number }).fetched, 1); // the reply item only
  });
});

Deno.test("rpc call without a server times out: E.TIME, exit 4", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const t0 = Date.now();
    const r = await runCli([
      "rpc",
      "call",
      "--hub",
      hub.url,
      "--client",
      c,
      "--stream",
      "rpc/none",
      "--method",
      "add",
      "--args",
      "[1]",
      "--timeout-ms",
      "300",
      "--poll-ms",
      "50",
    ]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^E\.TIME: No reply to add request [0-9a-f]{64} within 300 ms/);
    assert.match(r.stdout, /^msg_id: [0-9a-f]{64}\nrequest_seq: 1\n$/);
    assert.ok(Date.now() - t0 < 5000);
    // A bad --args is a usage error before anything is sent.
    const u = await runCli([
      "rpc",
      "call",
      "--hub",
      hub.url,
      "--client",
      c,
      "--stream",
      "rpc/none",
      "--method",
      "add",
      "--args",
      "[1.5]",
    ]);
    assert.equal(u.code, 1);
  });
});
