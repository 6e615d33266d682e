/**
 * `veen bridge` in replication mode between a primary and a replica on loopback: every label the replica is a
 * replica of is copied with the primary's RECEIPTs (equal roots, byte-identical receipts, streams and checkpoints),
 * passes resume after a restart of either side, `--follow` follows new entries through restarts, and a replica
 * holding a different entry stops the label with both RECEIPTs printed and nothing overwritten.
 */
import assert from "node:assert/strict";
import { captureIo } from "../cmd/mod.ts";
import { toHex } from "../core/mod.ts";
import type { RunningHub } from "../hub/mod.ts";
import { http, submit, Writer } from "../tests/fixture.ts";
import { publishAuthority, startRealmHub } from "../tests/federation.ts";
import { newClient, runCli } from "../cli/testing/run.ts";
import { bridgeMain } from "./mod.ts";

const STREAMS = ["fed/chat", "fed/news"];

interface Pair {
  p: RunningHub;
  r: RunningHub;
  pDir: string;
  rDir: string;
}

async function withPair(f: (x: Pair) => Promise<void>) {
  const pDir = await Deno.makeTempDir({ prefix: "veen-bridge-p-" });
  const rDir = await Deno.makeTempDir({ prefix: "veen-bridge-r-" });
  const x: Pair = {
    p: await startRealmHub(pDir, undefined, { checkpointEvery: 2 }),
    r: await startRealmHub(rDir, pDir),
    pDir,
    rDir,
  };
  try {
    let seq = 0;
    for (const stream of STREAMS) {
      seq++;
      for (const h of [x.p, x.r]) await publishAuthority(h, seq, { stream, primary: x.p, replicas: [x.r] });
    }
    await f(x);
  } finally {
    await x.p.close();
    await x.r.close();
    await Deno.remove(pDir, { recursive: true });
    await Deno.remove(rDir, { recursive: true });
  }
}

async function write(p: RunningHub, w: Writer, n: number) {
  for (let i = 0; i < n; i++) assert.equal((await submit(p.url, w.msg())).status, 200);
}

async function bridge(p: RunningHub, r: RunningHub, ...extra: string[]) {
  const io = captureIo();
  const code = await bridgeMain(["--from", p.url, "--to", r.url, "--json", ...extra], io);
  return { code, lines: io.stdout().trim().split("\n").map((l) => JSON.parse(l)), io };
}

const get = async (h: RunningHub, path: string) => (await http(h.url + path)).body;

/** Both hubs serve the same head, receipts, stream and latest checkpoint for `label`. */
async function assertIdentical(p: RunningHub, r: RunningHub, label: Uint8Array, n: number) {
  const l = toHex(label);
  const health = async (h: RunningHub) =>
    JSON.parse(new TextDecoder().decode(await get(h, `/healthz?label=${l}`)));
  const hp = await health(p);
  assert.equal(hp.last_stream_seq, n);
  assert.deepEqual(await health(r), hp);
  assert.deepEqual(await get(r, `/stream?label=${l}`), await get(p, `/stream?label=${l}`));
  for (let seq = 1; seq <= n; seq++) {
    assert.deepEqual(
      await get(r, `/receipt?label=${l}&seq=${seq}`),
      await get(p, `/receipt?label=${l}&seq=${seq}`),
    );
  }
  assert.deepEqual(
    await get(r, `/checkpoint_latest?label=${l}`),
    await get(p, `/checkpoint_latest?label=${l}`),
  );
}

Deno.test("veen bridge replicates every label the target is a replica of and resumes after either side restarts", async () => {
  await withPair(async (x) => {
    const [a, b] = STREAMS.map((s, i) => new Writer(s, 20 + i));
    await write(x.p, a!, 4);
    await write(x.p, b!, 2);
    await x.p.settled();
    const first = await bridge(x.p, x.r);
    assert.equal(first.code, 0, first.io.stderr());
    assert.deepEqual(
      first.lines.map((l) => [l.event, l.label, l.appended, l.seq, l.checkpoint]).sort(),
      [
        ["progress", toHex(a!.label), 4, 4, 4],
        ["progress", toHex(b!.label), 2, 2, 2],
      ].sort(),
    );
    await assertIdentical(x.p, x.r, a!.label, 4);
    await assertIdentical(x.p, x.r, b!.label, 2);
    // The replica refuses client writes; the primary takes them.
    assert.equal((await submit(x.r.url, a!.msg({ clientSeq: 5 }))).status, 403);
    // Restart the replica, then the primary, with new entries in between: each pass resumes from the replica's head.
    await write(x.p, a!, 2);
    await x.r.close();
    x.r = await startRealmHub(x.rDir, x.pDir);
    await x.p.settled();
    const second = await bridge(x.p, x.r, "--stream", STREAMS[0]!, "--replicate");
    assert.deepEqual(second.lines.map((l) => [l.appended, l.held, l.seq]), [[2, 0, 6]]);
    await x.p.close();
    x.p = await startRealmHub(x.pDir, undefined, { checkpointEvery: 2 });
    await write(x.p, a!, 2);
    await x.p.settled();
    assert.equal((await bridge(x.p, x.r)).code, 0);
    await assertIdentical(x.p, x.r, a!.label, 8);
  });
});

Deno.test("veen bridge --follow follows new entries through restarts of the primary and the replica", async () => {
  await withPair(async (x) => {
    const w = new Writer(STREAMS[0]!, 30);
    await write(x.p, w, 3);
    const pPort = x.p.port;
    const rPort = x.r.port;
    const head = async () =>
      JSON.parse(new TextDecoder().decode(await get(x.r, `/healthz?label=${toHex(w.label)}`)))
        .last_stream_seq;
    // Each time the bridge goes idle (its sleep), the next step runs; the last one ends the bridge.
    const steps: (() => Promise<void>)[] = [
      async () => {
        assert.equal(await head(), 3);
        await write(x.p, w, 2);
      },
      async () => {
        assert.equal(await head(), 5);
        await x.p.close();
        x.p = await startRealmHub(x.pDir, undefined, { checkpointEvery: 2, listen: `127.0.0.1:${pPort}` });
        await write(x.p, w, 1);
      },
      async () => {
        assert.equal(await head(), 6);
        await x.r.close(); // the next pass cannot reach the replica: it waits and retries
      },
      async () => {
        x.r = await startRealmHub(x.rDir, x.pDir, { listen: `127.0.0.1:${rPort}` });
        await write(x.p, w, 1);
      },
      async () => {
        assert.equal(await head(), 7);
        throw new Error("test done");
      },
    ];
    const io = captureIo();
    io.sleep = async () => await steps.shift()!();
    const code = await bridgeMain(["--from", x.p.url, "--to", x.r.url, "--json", "--follow"], io);
    assert.equal(steps.length, 0, io.stdout() + io.stderr());
    assert.notEqual(code, 0);
    const events = io.stdout().trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(events.some((e) => e.event === "retry"));
    assert.deepEqual(
      events.filter((e) => e.event === "progress" && e.appended > 0).map((e) => e.seq),
      [3, 5, 6, 7],
    );
  });
});

Deno.test("veen bridge stops a label where the replica holds a different entry, printing both RECEIPTs, and overwrites nothing", async () => {
  await withPair(async (x) => {
    const w = new Writer(STREAMS[0]!, 40);
    await write(x.p, w, 3);
    assert.equal((await bridge(x.p, x.r)).code, 0);
    // A second hub with the primary's key and another history: the key equivocates.
    const forkDir = await Deno.makeTempDir({ prefix: "veen-bridge-fork-" });
    for (const f of ["hub_key"]) await Deno.copyFile(`${x.pDir}/${f}`, `${forkDir}/${f}`);
    const fork = await startRealmHub(forkDir, x.pDir);
    try {
      const v = new Writer(STREAMS[0]!, 41);
      await write(fork, v, 4);
      const before = await get(x.r, `/stream?label=${toHex(w.label)}`);
      const res = await bridge(fork, x.r);
      assert.equal(res.code, 4);
      const ev = res.lines.find((l) => l.event === "equivocation");
      assert.equal(ev.label, toHex(w.label));
      assert.equal(ev.equivocation.stream_seq, 3);
      assert.equal(
        ev.equivocation.primary_receipt,
        toHex(await get(fork, `/receipt?label=${ev.label}&seq=3`)),
      );
      assert.equal(
        ev.equivocation.replica_receipt,
        toHex(await get(x.p, `/receipt?label=${ev.label}&seq=3`)),
      );
      assert.deepEqual(await get(x.r, `/stream?label=${toHex(w.label)}`), before);
      // The text form names the stop and both RECEIPTs.
      const io = captureIo();
      assert.equal(await bridgeMain(["--from", fork.url, "--to", x.r.url], io), 4);
      assert.match(
        io.stdout(),
        /STOPPED at stream_seq 3: .*nothing overwritten\n {2}primary RECEIPT: [0-9a-f]+\n {2}replica RECEIPT: [0-9a-f]+/,
      );
    } finally {
      await fork.close();
      await Deno.remove(forkDir, { recursive: true });
    }
  });
});

Deno.test("veen stream reads a replica under the primary's key (--hub-key PRIMARY_PK); veen send to it is refused", async () => {
  await withPair(async (x) => {
    const c = await newClient(x.pDir, "client");
    const sent = await runCli([
      "send",
      "--hub",
      x.p.url,
      "--client",
      c,
      "--stream",
      STREAMS[0]!,
      "--body",
      '{"n":1}',
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((await bridge(x.p, x.r)).code, 0);
    const pk = toHex(x.p.hubKey.public);
    const read = ["stream", "--hub", x.r.url, "--client", c, "--stream", STREAMS[0]!, "--with-proof"];
    const r = await runCli([...read, "--hub-key", pk]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stream_seq: 1\n[^]*proof: verified\n[^]*body: \{"n":1\}/);
    // The replica's own key verifies none of the primary's receipts: a client that has not pinned the primary
    // (it trusts only the replica's key) refuses them. (A client that pinned both accepts them under the
    // primary's key: docs/replication.md "Clients after a flip".)
    const stranger = await newClient(x.pDir, "stranger");
    const own = await runCli([
      ...read.map((a) => a === c ? stranger : a),
      "--hub-key",
      toHex(x.r.hubKey.public),
    ]);
    assert.notEqual(own.code, 0);
    assert.match(own.stderr, /E\.SIG/);
    const refused = await runCli([
      "send",
      "--hub",
      x.r.url,
      "--client",
      c,
      "--hub-key",
      pk,
      "--stream",
      STREAMS[0]!,
      "--body",
      '{"n":2}',
    ]);
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /E\.AUTH: not primary for label: this hub is a replica/);
  });
});
