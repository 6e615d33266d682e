/** `veen federate mirror-plan|mirror-run` end to end on two real hubs on loopback (and a tampering proxy). */
import assert from "node:assert/strict";
import { decodeMsg, encodeMsg, schemaIdFor, toHex } from "../../core/mod.ts";
import { hubSeedOf, startMaliciousHub } from "../testing/malicious_hub.ts";
import { type RealHub, startRealHub } from "../testing/real_hub.ts";
import { newClient, runCli, tempDir } from "../testing/run.ts";
import { ok } from "../testing/with_real_hub.ts";

const RECORD_SCHEMA = toHex(schemaIdFor("federation.mirror.v1"));
const ORDER_SCHEMA = toHex(schemaIdFor("app.order.v1"));

async function withTwoHubs(
  f: (a: RealHub, b: RealHub, client: string, root: string) => Promise<void>,
): Promise<void> {
  const t = await tempDir();
  const a = await startRealHub(`${t.path}/a`);
  const b = await startRealHub(`${t.path}/b`);
  try {
    await f(a, b, await newClient(t.path, "c"), t.path);
  } finally {
    await a.close();
    await b.close();
    await t.cleanup();
  }
}

async function sendOrders(hub: RealHub, client: string, bodies: string[]): Promise<void> {
  for (const body of bodies) {
    ok(
      await runCli([
        "send",
        "--hub",
        hub.url,
        "--client",
        client,
        "--stream",
        "orders",
        "--schema",
        "app.order.v1",
        "--body",
        body,
      ]),
    );
  }
}

/** The verified, opened items of `stream` on `hub` as the client sees them. */
async function items(hub: RealHub, client: string, stream = "orders"): Promise<Record<string, unknown>[]> {
  const r = ok(
    await runCli([
      "stream",
      "--hub",
      hub.url,
      "--client",
      client,
      "--stream",
      stream,
      "--with-proof",
      "--json",
    ]),
  );
  return r.json().items as Record<string, unknown>[];
}

const hdr = (it: Record<string, unknown>) => it.payload_hdr as Record<string, string>;

function mirror(
  cmd: "mirror-plan" | "mirror-run",
  src: string,
  dst: string,
  client: string,
  ...more: string[]
) {
  return runCli([
    "federate",
    cmd,
    "--source-hub",
    src,
    "--target-hub",
    dst,
    "--stream",
    "orders",
    "--client",
    client,
    "--json",
    ...more,
  ]);
}

Deno.test("federate: plan counts, run copies with parent_id and attests, a re-run mirrors nothing", async () => {
  await withTwoHubs(async (a, b, c) => {
    await sendOrders(a, c, ['{"n":1}', '{"n":2}', '{"n":3}']);
    const plan = ok(await mirror("mirror-plan", a.url, b.url, c)).json();
    assert.equal(plan.source_last_stream_seq, 3);
    assert.equal(plan.target_last_stream_seq, 0);
    assert.equal(plan.first_stream_seq, 1);
    assert.equal(plan.last_stream_seq, 3);
    assert.equal(plan.message_count, 3);
    assert.equal(plan.to_mirror, 3);
    assert.equal(plan.already_mirrored, 0);
    assert.equal(plan.verification_failures, 0);
    assert.ok((plan.approx_bytes as number) > 0);

    const run = ok(await mirror("mirror-run", a.url, b.url, c)).json();
    assert.equal(run.mirrored_count, 3);
    assert.equal(run.attested_count, 3);
    assert.equal(run.target_last_stream_seq, 6);

    const src = await items(a, c);
    const dst = await items(b, c);
    const copies = dst.filter((i) => hdr(i).schema !== RECORD_SCHEMA);
    const records = dst.filter((i) => hdr(i).schema === RECORD_SCHEMA);
    assert.deepEqual(copies.map((i) => i.body), src.map((i) => i.body));
    assert.deepEqual(copies.map((i) => hdr(i).schema), src.map(() => ORDER_SCHEMA));
    assert.deepEqual(copies.map((i) => hdr(i).parent_id), src.map((i) => i.msg_id));
    assert.deepEqual(records.map((i) => hdr(i).parent_id), src.map((i) => i.msg_id));

    const again = ok(await mirror("mirror-run", a.url, b.url, c)).json();
    assert.equal(again.mirrored_count, 0);
    assert.equal(again.attested_count, 0);
    assert.equal(again.already_mirrored, 3);
    assert.equal(again.target_last_stream_seq, 6);
    // Dedup needs no local state: without the cached summary the target is read back.
    await Deno.remove(`${c}/overlays`, { recursive: true });
    const plan2 = ok(await mirror("mirror-plan", a.url, b.url, c)).json();
    assert.equal(plan2.already_mirrored, 3);
    assert.equal(plan2.to_mirror, 0);

    await sendOrders(a, c, ['{"n":4}']);
    const more = ok(await mirror("mirror-run", a.url, b.url, c)).json();
    assert.equal(more.mirrored_count, 1);
    assert.equal(more.target_last_stream_seq, 8);
  });
});

Deno.test("federate: a label map and a stream_seq range choose target and items", async () => {
  await withTwoHubs(async (a, b, c, root) => {
    await sendOrders(a, c, ['{"n":1}', '{"n":2}', '{"n":3}']);
    await Deno.writeTextFile(`${root}/map.json`, JSON.stringify({ orders: "orders-copy" }));
    const run = ok(
      await mirror(
        "mirror-run",
        a.url,
        b.url,
        c,
        "--label-map-file",
        `${root}/map.json`,
        "--from-stream-seq",
        "2",
        "--to-stream-seq",
        "2",
      ),
    ).json();
    assert.equal(run.target_stream, "orders-copy");
    assert.equal(run.mirrored_count, 1);
    const src = await items(a, c);
    const dst = await items(b, c, "orders-copy");
    assert.deepEqual(dst.map((i) => hdr(i).parent_id), [src[1]!.msg_id, src[1]!.msg_id]);
    assert.deepEqual(dst[0]!.body, { n: 2 });
  });
});

Deno.test("federate: a tampered source item is counted as a verification failure and not mirrored", async () => {
  await withTwoHubs(async (a, b, c) => {
    await sendOrders(a, c, ['{"n":1}', '{"n":2}', '{"n":3}']);
    const evil = await startMaliciousHub({ upstream: a.url, hubSeed: await hubSeedOf(a.dataDir) });
    try {
      evil.tamper.stream = (page) =>
        page.map((it) => {
          if (it.receipt.streamSeq !== 2) return it;
          const m = decodeMsg(it.msgBytes);
          const ciphertext = m.ciphertext.slice();
          ciphertext[0]! ^= 1;
          return { ...it, msgBytes: encodeMsg({ ...m, ciphertext }) };
        });
      const r = await mirror("mirror-run", evil.url, b.url, c);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      const j = r.json();
      assert.equal(j.ok, false);
      assert.equal(j.code, "E.SIG");
      assert.equal(j.verification_failures, 1);
      assert.equal((j.failures as { stream_seq: number }[])[0]!.stream_seq, 2);
      assert.equal(j.mirrored_count, 2);
      const src = await items(a, c);
      const parents = (await items(b, c)).map((i) => hdr(i).parent_id);
      assert.ok(!parents.includes(src[1]!.msg_id as string));
      assert.ok(parents.includes(src[0]!.msg_id as string) && parents.includes(src[2]!.msg_id as string));
    } finally {
      await evil.close();
    }
    // From the honest hub the skipped item is mirrored, and only it.
    const honest = ok(await mirror("mirror-run", a.url, b.url, c)).json();
    assert.equal(honest.mirrored_count, 1);
    assert.equal(honest.already_mirrored, 2);
  });
});

Deno.test("federate: a source hub withholding items is refused before anything is sent", async () => {
  await withTwoHubs(async (a, b, c) => {
    await sendOrders(a, c, ['{"n":1}', '{"n":2}']);
    const evil = await startMaliciousHub({ upstream: a.url, hubSeed: await hubSeedOf(a.dataDir) });
    try {
      evil.tamper.stream = (page) => page.filter((it) => it.receipt.streamSeq !== 2);
      const r = await mirror("mirror-run", evil.url, b.url, c);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.equal(r.json().code, "E.SEQ");
      assert.deepEqual(await items(b, c), []);
    } finally {
      await evil.close();
    }
  });
});

Deno.test("federate: a label that is a mirror target is refused as a source", async () => {
  await withTwoHubs(async (a, b, c) => {
    await sendOrders(a, c, ['{"n":1}']);
    ok(await mirror("mirror-run", a.url, b.url, c));
    for (const cmd of ["mirror-plan", "mirror-run"] as const) {
      const r = await mirror(cmd, b.url, a.url, c, "--label-map-file", "/dev/null");
      assert.equal(r.code, 1, r.stdout); // an empty map names no target: usage
    }
    const t = await tempDir();
    try {
      await Deno.writeTextFile(`${t.path}/map.json`, JSON.stringify({ orders: "orders-back" }));
      for (const cmd of ["mirror-plan", "mirror-run"] as const) {
        const r = await mirror(cmd, b.url, a.url, c, "--label-map-file", `${t.path}/map.json`);
        assert.equal(r.code, 4, r.stdout + r.stderr);
        assert.equal(r.json().code, "E.AUTH");
        assert.match(r.json().detail as string, /mirror target/);
      }
    } finally {
      await t.cleanup();
    }
    assert.deepEqual(await items(a, c, "orders-back"), []);
  });
});

Deno.test("federate: the same label of the same hub is refused", async () => {
  await withTwoHubs(async (a, _b, c) => {
    const r = await mirror("mirror-run", a.url, a.url, c);
    assert.equal(r.code, 1, r.stdout + r.stderr);
  });
});
