/** `veen wallet` end to end through cliMain against the real hub: sealed events, verified folds, refusals. */
import assert from "node:assert/strict";
import { fromHex, MmrAccumulator, realmIdFor, toHex } from "../../core/mod.ts";
import { encodeWalletBody, WALLET_BODIES, walletIdFor } from "../../overlays/mod.ts";
import { emptyState, labelStateFor } from "../client_state.ts";
import { connectHub, streamTarget } from "../hub_session.ts";
import { generateClientKeys, readKeystore } from "../keystore.ts";
import { sendMessage } from "../sender.ts";
import { walletStreamName } from "./wallet.ts";
import { newClient, runCli } from "../testing/run.ts";
import { ok } from "../testing/with_real_hub.ts";
import { walletCap, walletIdHex, withWalletHub } from "../testing/wallet.ts";

const CTX_A = "aa".repeat(32);
const CTX_B = "bb".repeat(32);
const DAY = 86400;

/** `veen wallet open` in the hub's realm (`default`) under `cap`, --json; fails the test unless it exits 0. */
async function openWallet(base: string[], ctxId: string, currency: string, cap: string) {
  return ok(
    await runCli([
      "wallet",
      "open",
      ...base,
      "--realm",
      "default",
      "--ctx",
      ctxId,
      "--currency",
      currency,
      "--cap",
      cap,
      "--json",
    ]),
  );
}

Deno.test("wallet: open, deposit, a refused withdraw appends nothing, transfer credits the destination once", async () => {
  await withWalletHub(async (hub, root, inst) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c];
    const cap = await walletCap(inst, c, [walletIdHex(CTX_A, "USD"), walletIdHex(CTX_B, "USD")]);
    const id = ok(await runCli(["wallet", "id", "--realm", "default", "--ctx", CTX_A, "--currency", "USD"]))
      .stdout
      .trim();
    assert.equal(id, toHex(walletIdFor(realmIdFor("default"), new Uint8Array(32).fill(0xaa), "USD")));
    const opened = await openWallet(base, CTX_A, "USD", cap);
    assert.equal(opened.json().wallet_id, id);
    const again = (await openWallet(base, CTX_A, "USD", cap)).json();
    assert.deepEqual([again.wallet_id, again.opened], [id, false]);
    const idB = (await openWallet(base, CTX_B, "USD", cap)).json().wallet_id as string;
    // A realm the hub does not serve is refused.
    const other = await runCli([
      "wallet",
      "open",
      ...base,
      "--realm",
      "elsewhere",
      "--ctx",
      CTX_A,
      "--currency",
      "USD",
    ]);
    assert.equal(other.code, 4);
    assert.match(other.stderr, /^E\.AUTH: /);

    const w = ["--wallet-id", id];
    ok(await runCli(["wallet", "deposit", ...base, ...w, "--amount", "100", "--cap", cap]));
    const before = ok(await runCli(["wallet", "show", ...base, ...w, "--json"])).json();
    const upto = (before.fold as { upto_seq: number }).upto_seq;
    assert.equal(upto, 2);

    const over = await runCli(["wallet", "withdraw", ...base, ...w, "--amount", "101"]);
    assert.equal(over.code, 4);
    assert.match(over.stderr, /^WAL\.INSUFFICIENT_FUNDS: /);
    const after = ok(await runCli(["wallet", "show", ...base, ...w, "--json"])).json();
    assert.equal((after.fold as { upto_seq: number }).upto_seq, upto, "nothing appended");
    assert.equal(after.balance, 100);

    ok(await runCli(["wallet", "withdraw", ...base, ...w, "--amount", "30"]));
    const t = ok(
      await runCli(["wallet", "transfer", ...base, ...w, "--to-wallet-id", idB, "--amount", "50", "--json"]),
    ).json();
    assert.match(t.transfer_id as string, /^[0-9a-f]{64}$/);
    const over2 = await runCli([
      "wallet",
      "transfer",
      ...base,
      ...w,
      "--to-wallet-id",
      idB,
      "--amount",
      "21",
    ]);
    assert.equal(over2.code, 4);
    assert.match(over2.stderr, /^WAL\.INSUFFICIENT_FUNDS: /);

    const a = ok(await runCli(["wallet", "show", ...base, ...w, "--json"])).json();
    const b = ok(await runCli(["wallet", "show", ...base, "--wallet-id", idB, "--json"])).json();
    assert.deepEqual(
      {
        wallet_id: a.wallet_id,
        balance: a.balance,
        frozen: a.frozen,
        closed: a.closed,
        daily_limit: a.daily_limit,
      },
      { wallet_id: id, balance: 20, frozen: false, closed: false, daily_limit: null },
    );
    assert.deepEqual(a.violations, []);
    assert.equal(b.balance, 50);
    assert.equal((b.fold as { upto_seq: number }).upto_seq, 2); // open + the mirrored transfer
    // A warm read folds only what is new.
    const warm = ok(await runCli(["wallet", "show", ...base, "--wallet-id", idB, "--json"])).json();
    assert.equal((warm.fold as { fetched: number }).fetched, 0);
    assert.equal(warm.balance, 50);
  });
});

Deno.test("wallet: frozen, daily limit with UTC rollover, close; a violating event sent by hand is recorded", async () => {
  await withWalletHub(async (hub, root, inst) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c];
    const cap = await walletCap(inst, c, [walletIdHex(CTX_A, "JPY")]);
    const id = (await openWallet(base, CTX_A, "JPY", cap)).json().wallet_id as string;
    const w = [...base, "--wallet-id", id];
    const wc = [...w, "--cap", cap];
    const t0 = 20 * DAY + 10;
    ok(await runCli(["wallet", "deposit", ...wc, "--amount", "1000", "--ts", String(t0)]));
    ok(await runCli(["wallet", "limit", ...wc, "--daily-limit", "100", "--ts", String(t0)]));
    ok(await runCli(["wallet", "withdraw", ...w, "--amount", "100", "--ts", String(t0 + 1)])); // exactly the limit
    const lim = await runCli(["wallet", "withdraw", ...w, "--amount", "1", "--ts", String(21 * DAY - 1)]);
    assert.equal(lim.code, 4);
    assert.match(lim.stderr, /^WAL\.DAILY_LIMIT_EXCEEDED: /);
    ok(await runCli(["wallet", "withdraw", ...w, "--amount", "100", "--ts", String(21 * DAY)])); // next UTC day
    ok(await runCli(["wallet", "freeze", ...wc, "--reason", "review"]));
    const frozen = await runCli(["wallet", "withdraw", ...w, "--amount", "1", "--ts", String(21 * DAY)]);
    assert.equal(frozen.code, 4);
    assert.match(frozen.stderr, /^WAL\.FROZEN: /);
    const s = ok(await runCli(["wallet", "show", ...w, "--json"])).json();
    assert.deepEqual([s.balance, s.frozen, s.daily_limit, s.pending_daily_spent], [800, true, 100, 100]);
    ok(await runCli(["wallet", "unfreeze", ...wc]));
    ok(await runCli(["wallet", "close", ...w]));
    const closed = await runCli(["wallet", "deposit", ...wc, "--amount", "1"]);
    assert.equal(closed.code, 4);
    assert.match(closed.stderr, /^WAL\.CLOSED: /);

    // Another writer that does not check (sealed to c, so c reads it): the fold skips it and records it.
    const { keys: cKeys } = await readKeystore(c, undefined);
    const state = emptyState();
    const session = await connectHub({ hub: hub.url, env: () => undefined, timeoutMs: 5000, state });
    const target = streamTarget(session, walletStreamName(fromHex(id, 32)));
    const d = generateClientKeys(1);
    await sendMessage(
      session,
      target,
      d,
      labelStateFor(state, session.hubId, target, d.client.public, 1),
      new MmrAccumulator(),
      {
        recipientPk: cKeys.prekey.public,
        hdr: { schema: WALLET_BODIES.withdraw.schemaId },
        bodyBytes: encodeWalletBody("withdraw", { wallet_id: fromHex(id, 32), amount: 5, ts: 1 }),
      },
    );
    const v = ok(await runCli(["wallet", "show", ...w, "--json"])).json();
    assert.equal(v.closed, true);
    assert.equal(v.balance, 800);
    const seq = (v.fold as { upto_seq: number }).upto_seq;
    assert.deepEqual(v.violations, [{ stream_seq: seq, code: "WAL.CLOSED" }]);
    assert.match(
      ok(await runCli(["wallet", "show", ...w])).stdout,
      /violation: stream_seq \d+ WAL\.CLOSED\n$/,
    );
  });
});

Deno.test("wallet transfer --to CARD: the copy is sealed to the destination owner, who reads the credit", async () => {
  await withWalletHub(async (hub, root, inst) => {
    const c = await newClient(root, "c");
    const d = await newClient(root, "d");
    const cBase = ["--hub", hub.url, "--client", c];
    const dBase = ["--hub", hub.url, "--client", d];
    const cCap = await walletCap(inst, c, [walletIdHex(CTX_A, "EUR")]);
    const dCap = await walletCap(inst, d, [walletIdHex(CTX_B, "EUR")]);
    const idC = (await openWallet(cBase, CTX_A, "EUR", cCap)).json().wallet_id as string;
    const idD = (await openWallet(dBase, CTX_B, "EUR", dCap)).json().wallet_id as string;
    ok(await runCli(["wallet", "deposit", ...cBase, "--wallet-id", idC, "--amount", "9", "--cap", cCap]));
    ok(
      await runCli([
        "wallet",
        "transfer",
        ...cBase,
        "--wallet-id",
        idC,
        "--to-wallet-id",
        idD,
        "--amount",
        "4",
        "--to",
        d,
      ]),
    );
    const seen = ok(await runCli(["wallet", "show", ...dBase, "--wallet-id", idD, "--json"])).json();
    assert.deepEqual([seen.balance, (seen.fold as { opaque: number }).opaque], [4, 0]);
    // The source's owner cannot open the copy sealed to d: for c, d's wallet shows no open and no credit.
    const blind = ok(await runCli(["wallet", "show", ...cBase, "--wallet-id", idD, "--json"])).json();
    assert.deepEqual([blind.exists, blind.balance, (blind.fold as { opaque: number }).opaque], [false, 0, 2]);
    assert.equal(
      ok(await runCli(["wallet", "show", ...cBase, "--wallet-id", idC, "--json"])).json().balance,
      5,
    );
  });
});
