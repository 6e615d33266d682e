/**
 * `wallet ledger` over a narrower range against a real hub, behind an honest proxy that counts the items the hub
 * serves: the balances equal the naive fold of the range, and a warm read fetches at most 2C items (the partial
 * chunks of the block-summary tree, cli/block_summaries.ts), whatever the range.
 */
import assert from "node:assert/strict";
import { fromHex } from "../../core/mod.ts";
import { CHUNK_ITEMS, PAID_OPERATION } from "../../overlays/mod.ts";
import { sendBodies } from "../testing/bulk_send.ts";
import { hubSeedOf, startMaliciousHub } from "../testing/malicious_hub.ts";
import { startRealHub } from "../testing/real_hub.ts";
import { newClient, runCli, tempDir } from "../testing/run.ts";
import { ok } from "../testing/with_real_hub.ts";

const ACCOUNTS = ["a1", "b2", "c3", "d4"].map((b) => b.repeat(32));

/** Paid operation `i`: a deterministic payer, payee and amount; every 10th has expired (payload_hdr.expires_at 1). */
const paid = (i: number) => ({
  payer: ACCOUNTS[i % 4]!,
  payee: ACCOUNTS[(i * 7 + 1) % 4]!,
  amount: (i * 37) % 101,
  expired: i % 10 === 9,
});

/** The naive ledger of stream items since..upto (paid operation i is at stream_seq i + 1). */
function naive(n: number, since: number, upto: number) {
  const balances: Record<string, number> = {};
  let applied = 0;
  const skipped: number[] = [];
  for (let seq = since; seq <= Math.min(upto, n); seq++) {
    const p = paid(seq - 1);
    if (p.expired) {
      skipped.push(seq);
      continue;
    }
    balances[p.payer] = (balances[p.payer] ?? 0) - p.amount;
    balances[p.payee] = (balances[p.payee] ?? 0) + p.amount;
    applied++;
  }
  const sorted = Object.fromEntries(Object.keys(balances).sort().map((k) => [k, balances[k]]));
  return { balances: sorted, applied, skipped };
}

Deno.test("wallet ledger over a narrow range equals the naive fold and, warm, fetches at most 2C items", async () => {
  const t = await tempDir();
  const hub = await startRealHub(`${t.path}/hub`);
  const proxy = await startMaliciousHub({ upstream: hub.url, hubSeed: await hubSeedOf(hub.dataDir) });
  try {
    let served = 0;
    const count = <T>(items: T[]) => {
      served += items.length;
      return items;
    };
    proxy.tamper.stream = count;
    const u = await newClient(t.path, "u");
    const n = 3 * CHUNK_ITEMS + 77;
    await sendBodies(
      proxy.url,
      u,
      "pay",
      Array.from({ length: n }, (_, i) => {
        const p = paid(i);
        return {
          hdr: { schema: PAID_OPERATION.schemaId, ...(p.expired ? { expiresAt: 1 } : {}) },
          body: PAID_OPERATION.encode({
            operation_type: "t",
            operation_args: null,
            payer_account: fromHex(p.payer, 32),
            payee_account: fromHex(p.payee, 32),
            amount: p.amount,
            currency_code: "credits",
          }),
        };
      }),
    );
    const ledger = async (...range: string[]) => {
      const res = ok(
        await runCli([
          "wallet",
          "ledger",
          "--hub",
          proxy.url,
          "--client",
          u,
          "--stream",
          "pay",
          "--json",
          ...range,
        ]),
      );
      const j = res.json();
      return {
        got: {
          balances: j.balances,
          applied: j.applied,
          skipped: (j.skipped as { stream_seq: number }[]).map((s) => s.stream_seq),
        },
        fold: j.fold as Record<string, number | boolean>,
        stderr: res.stderr,
      };
    };
    const whole = await ledger();
    assert.deepEqual(whole.got, naive(n, 1, n));
    assert.equal(whole.fold.range_fetched, undefined, "the whole stream is the summary");
    const C = CHUNK_ITEMS;
    const ranges: [number, number][] = [
      [2, n],
      [1, 1],
      [1, 2 * C],
      [C + 1, 3 * C],
      [C - 5, 2 * C + 9],
      [3, C - 1],
      [C + 10, C + 20],
      [2 * C - 3, 2 * C + 3],
      [17, n - 1],
      [1, n - 5],
      [n - 3, n],
      [40, 39],
      [5, n + 50],
    ];
    for (const [since, upto] of ranges) {
      served = 0;
      const r = await ledger("--since-stream-seq", String(since), "--upto-stream-seq", String(upto));
      assert.deepEqual(r.got, naive(n, since, upto), `[${since}, ${upto}]`);
      assert.equal(r.fold.fetched, 0, "warm: no new items");
      assert.equal(
        served,
        r.fold.range_fetched,
        `[${since}, ${upto}]: the hub served what the tree asked for`,
      );
      assert.ok(served <= 2 * (C - 1), `[${since}, ${upto}]: the hub served ${served} items`);
    }
    // The partial chunks are verified like every item: a hub that alters one is refused, nothing is printed.
    proxy.tamper.stream = (items) =>
      items.map((it) =>
        it.receipt.streamSeq === C + 15 ? { ...it, receipt: { ...it.receipt, hubTs: 1 } } : it
      );
    const lied = await runCli([
      ...["wallet", "ledger", "--hub", proxy.url, "--client", u, "--stream", "pay"],
      ...["--since-stream-seq", String(C + 10), "--upto-stream-seq", String(C + 20)],
    ]);
    assert.equal(lied.code, 4, lied.stdout + lied.stderr);
    assert.equal(lied.stdout, "");
    assert.match(lied.stderr, /E\.SIG: RECEIPT.hub_sig/);
    proxy.tamper.stream = count;
    // The tree is tied to its summary: without it the summary is discarded and both are folded again.
    const overlays = `${u}/overlays`;
    for (const e of Deno.readDirSync(overlays)) {
      if (e.name.endsWith("-veen.operations.ledger.blocks.kv")) Deno.removeSync(`${overlays}/${e.name}`);
    }
    const again = await ledger("--since-stream-seq", "9");
    assert.match(again.stderr, /block summaries are missing/);
    assert.equal(again.fold.refolded, true);
    assert.deepEqual(again.got, naive(n, 9, n));
    assert.deepEqual((await ledger("--since-stream-seq", "9")).got, naive(n, 9, n));
    // The open chunk lives in the summary (n is inside a chunk): a summary without it is folded again too.
    assert.notEqual(n % C, 0);
    for (const e of Deno.readDirSync(overlays)) {
      if (!e.name.endsWith("-veen.operations.ledger.json")) continue;
      const f = `${overlays}/${e.name}`;
      const doc = JSON.parse(Deno.readTextFileSync(f));
      assert.ok(doc.open_chunk !== undefined, "the summary holds its open chunk");
      delete doc.open_chunk;
      Deno.writeTextFileSync(f, JSON.stringify(doc));
    }
    const without = await ledger("--since-stream-seq", "9");
    assert.match(without.stderr, /without its open chunk/);
    assert.equal(without.fold.refolded, true);
    assert.deepEqual(without.got, naive(n, 9, n));
  } finally {
    await proxy.close();
    await hub.close();
    await t.cleanup();
  }
});
