/** `veen wallet` end to end through cliMain against the real hub: sealed events, verified folds, refusals. */
import assert from "node:assert/strict";
import { fromHex, realmIdFor, toHex } from "../../core/mod.ts";
import { ctxIdFor, walletIdFor } from "../../overlays/mod.ts";
import { readKeystore } from "../keystore.ts";
import { walletStreamName } from "./wallet.ts";
import { newClient, runCli } from "../testing/run.ts";
import { ok } from "../testing/with_real_hub.ts";
import { openArgs, sendRaw, walletCap, walletIdHex, withWalletHub } from "../testing/wallet.ts";

const CTX_A = "aa".repeat(32);
const CTX_B = "bb".repeat(32);
const DAY = 86400;

/** `veen wallet open` in the hub's realm (`default`) under `cap`, --json; fails the test unless it exits 0. */
async function openWallet(base: string[], ctxId: string, currency: string, cap: string) {
  return ok(await runCli(openArgs(base, ctxId, currency, "--cap", cap, "--json")));
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
    const other = await runCli(openArgs(base, CTX_A, "USD").map((x) => x === "default" ? "elsewhere" : x));
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
    const stream = walletStreamName(fromHex(id, 32));
    await sendRaw(hub.url, cKeys.prekey.public, stream, "withdraw", {
      wallet_id: fromHex(id, 32),
      amount: 5,
      ts: 1,
    });
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

Deno.test("wallet authorization: without the institution's cap the CLI refuses (exit 4) and the fold records what others send", async () => {
  await withWalletHub(async (hub, root, inst) => {
    const c = await newClient(root, "c");
    const d = await newClient(root, "d");
    const base = ["--hub", hub.url, "--client", c];
    const id = walletIdHex(CTX_A, "USD");
    const cap = await walletCap(inst, c, [id]);
    const noCap = await runCli(openArgs(base, CTX_A, "USD"));
    assert.equal(noCap.code, 4);
    assert.match(noCap.stderr, /^WAL\.UNAUTHORIZED_OPERATION: /);
    await openWallet(base, CTX_A, "USD", cap);
    const w = [...base, "--wallet-id", id];
    for (
      const args of [["deposit", "--amount", "5"], ["adjust", "--delta", "5", "--reason", "r"], ["freeze"], [
        "limit",
        "--daily-limit",
        "1",
      ]]
    ) {
      const r = await runCli(["wallet", args[0]!, ...w, ...args.slice(1)]);
      assert.equal(r.code, 4, args[0]);
      assert.match(r.stderr, /^WAL\.UNAUTHORIZED_OPERATION: /, args[0]);
    }
    // A cap the institution issued to d, used by c: its subject is not c's client_id.
    const dCap = await walletCap(inst, d, [id]);
    const stolen = await runCli(["wallet", "deposit", ...w, "--amount", "5", "--cap", dCap]);
    assert.equal(stolen.code, 4);
    assert.match(stolen.stderr, /^WAL\.UNAUTHORIZED_OPERATION: /);
    const s0 = ok(await runCli(["wallet", "show", ...w, "--json"])).json();
    assert.deepEqual([s0.balance, (s0.fold as { upto_seq: number }).upto_seq, s0.institution_pk], [
      0,
      1,
      inst.pk,
    ]);
    // Sent anyway by writers that do not check: no cap, and c's (installed) cap under another client_id.
    const { keys: cKeys } = await readKeystore(c, undefined);
    const stream = walletStreamName(fromHex(id, 32));
    const deposit = { wallet_id: fromHex(id, 32), amount: 5, ts: 1 };
    await sendRaw(hub.url, cKeys.prekey.public, stream, "deposit", deposit);
    const status = ok(await runCli(["cap", "status", "--cap", cap, "--json"])).json();
    const ref = fromHex(String(status.auth_ref), 32);
    await sendRaw(
      hub.url,
      cKeys.prekey.public,
      stream,
      "freeze",
      { wallet_id: fromHex(id, 32), ts: 1 },
      {},
      ref,
    );
    ok(await runCli(["wallet", "deposit", ...w, "--amount", "7", "--cap", cap]));
    const s = ok(await runCli(["wallet", "show", ...w, "--json"])).json();
    assert.deepEqual([s.balance, s.frozen], [7, false]);
    assert.deepEqual(s.violations, [
      { stream_seq: 2, code: "WAL.UNAUTHORIZED_OPERATION" },
      { stream_seq: 3, code: "WAL.UNAUTHORIZED_OPERATION" },
    ]);
  });
});

Deno.test("wallet show --verify: credits copied from accepted source events verify; forged and skipped ones are reported", async () => {
  await withWalletHub(async (hub, root, inst) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c];
    const [a, b] = [walletIdHex(CTX_A, "USD"), walletIdHex(CTX_B, "USD")];
    const cap = await walletCap(inst, c, [a, b]);
    await openWallet(base, CTX_A, "USD", cap);
    await openWallet(base, CTX_B, "USD", cap);
    const dep = ok(
      await runCli([
        "wallet",
        "deposit",
        ...base,
        "--wallet-id",
        a,
        "--amount",
        "100",
        "--cap",
        cap,
        "--json",
      ]),
    ).json();
    ok(
      await runCli(["wallet", "transfer", ...base, "--wallet-id", a, "--to-wallet-id", b, "--amount", "30"]),
    );
    const clean = ok(await runCli(["wallet", "show", ...base, "--wallet-id", b, "--verify", "--json"]))
      .json();
    assert.deepEqual([clean.balance, clean.verify], [30, { credits: 1, verified: 1, unverified: [] }]);

    const { keys: cKeys } = await readKeystore(c, undefined);
    const [A, B] = [fromHex(a, 32), fromHex(b, 32)];
    const xfer = (n: number, amount: number) => ({
      wallet_id: A,
      to_wallet_id: B,
      amount,
      ts: 1,
      transfer_id: new Uint8Array(32).fill(n),
    });
    const pk = cKeys.prekey.public;
    // 1. A credit written straight into b's stream: no parent_id.
    await sendRaw(hub.url, pk, walletStreamName(B), "transfer", xfer(1, 5));
    // 2. A copy whose parent_id names nothing on a's stream.
    await sendRaw(hub.url, pk, walletStreamName(B), "transfer", xfer(2, 6), {
      parentId: new Uint8Array(32).fill(9),
    });
    // 3. A source transfer a's fold skips (over the balance of 70), and its copy.
    const over = await sendRaw(hub.url, pk, walletStreamName(A), "transfer", xfer(3, 500));
    await sendRaw(hub.url, pk, walletStreamName(B), "transfer", xfer(3, 500), { parentId: over });
    // 4. A copy whose parent_id is a's deposit, not a transfer (a copy of the real transfer would be a duplicate).
    const t = ok(
      await runCli([
        "wallet",
        "transfer",
        ...base,
        "--wallet-id",
        a,
        "--to-wallet-id",
        b,
        "--amount",
        "1",
        "--json",
      ]),
    ).json();
    const tid = fromHex(String(t.transfer_id), 32);
    await sendRaw(hub.url, pk, walletStreamName(B), "transfer", {
      ...xfer(4, 2),
      transfer_id: new Uint8Array(32).fill(4),
    }, { parentId: fromHex(String(dep.msg_id), 32) });
    const plain = ok(await runCli(["wallet", "show", ...base, "--wallet-id", b, "--json"])).json();
    assert.equal(plain.balance, 30 + 5 + 6 + 500 + 1 + 2, "the fold alone credits every copy once");
    assert.equal(plain.verify, undefined);
    const v = ok(await runCli(["wallet", "show", ...base, "--wallet-id", b, "--verify", "--json"])).json();
    const report = v.verify as {
      credits: number;
      verified: number;
      unverified: { stream_seq: number; reason: string; transfer_id: string }[];
    };
    assert.deepEqual([report.credits, report.verified], [6, 2]);
    assert.deepEqual(report.unverified.map((u) => u.stream_seq), [3, 4, 5, 7]);
    assert.match(report.unverified[0]!.reason, /no parent_id/);
    assert.match(report.unverified[1]!.reason, /not an item of the source wallet's stream/);
    assert.match(report.unverified[2]!.reason, /skipped it \(stream_seq \d+: WAL\.INSUFFICIENT_FUNDS\)/);
    assert.match(report.unverified[3]!.reason, /is not this transfer/);
    assert.notEqual(report.unverified[3]!.transfer_id, toHex(tid));
    const text = ok(await runCli(["wallet", "show", ...base, "--wallet-id", b, "--verify"])).stdout;
    assert.match(text, /credits verified: 2 of 6\n/);
    assert.match(text, /unverified credit: stream_seq 3 no parent_id/);
  });
});

Deno.test("wallet transfer --stream --to (CORE-GOALS form): from the wallet open on the stream to the card owner's wallet", async () => {
  await withWalletHub(async (hub, root, inst) => {
    const c = await newClient(root, "c");
    const d = await newClient(root, "d");
    const cBase = ["--hub", hub.url, "--client", c];
    const dBase = ["--hub", hub.url, "--client", d];
    const { keys: dKeys } = await readKeystore(d, undefined);
    const realm = realmIdFor("default");
    const dCtx = toHex(ctxIdFor(dKeys.idSign.public, realm));
    const [a, bd] = [walletIdHex(CTX_A, "USD"), walletIdHex(dCtx, "USD")];
    await openWallet(cBase, CTX_A, "USD", await walletCap(inst, c, [a]));
    await openWallet(dBase, dCtx, "USD", await walletCap(inst, d, [bd]));
    ok(
      await runCli([
        "wallet",
        "deposit",
        ...cBase,
        "--wallet-id",
        a,
        "--amount",
        "100",
        "--cap",
        `${c}/wallet.cap`,
      ]),
    );
    const stream = String(
      ok(await runCli(["wallet", "id", "--realm", "default", "--ctx", CTX_A, "--currency", "USD", "--json"]))
        .json().stream_id,
    );
    const coreForm = (to: string, amount: string, ...more: string[]) =>
      runCli(["wallet", "transfer", ...cBase, "--stream", stream, "--to", to, "--amount", amount, ...more]);
    const t = ok(await coreForm(d, "40", "--json")).json();
    assert.deepEqual([t.wallet_id, t.to_wallet_id, t.amount], [a, bd, 40]);
    const seen = ok(await runCli(["wallet", "show", ...dBase, "--wallet-id", bd, "--json"])).json();
    assert.equal(seen.balance, 40);
    // --to as a wallet_id; a stream with no wallet open; both forms at once.
    ok(await coreForm(bd, "1"));
    assert.equal(
      ok(await runCli(["wallet", "show", ...cBase, "--wallet-id", a, "--json"])).json().balance,
      59,
    );
    const none = await runCli([
      "wallet",
      "transfer",
      ...cBase,
      "--stream",
      "wallet/main",
      "--to",
      d,
      "--amount",
      "1",
    ]);
    assert.equal(none.code, 4);
    assert.match(none.stderr, /^WAL\.NOT_OPEN: No wallet is open on stream "wallet\/main"/);
    const both = await coreForm(d, "1", "--wallet-id", a);
    assert.equal(both.code, 1);
    const over = await coreForm(d, "60");
    assert.equal(over.code, 4);
    assert.match(over.stderr, /^WAL\.INSUFFICIENT_FUNDS: /);
  });
});

Deno.test("wallet fold: transfer_ids live in the seen-key index, a warm read looks up only the new ones, a crash between index and summary neither loses nor double counts", async () => {
  await withWalletHub(async (hub, root, inst) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c];
    const cap = await walletCap(inst, c, [walletIdHex(CTX_A, "EUR")]);
    const id = (await openWallet(base, CTX_A, "EUR", cap)).json().wallet_id as string;
    const w = [...base, "--wallet-id", id];
    const { keys: cKeys } = await readKeystore(c, undefined);
    const stream = walletStreamName(fromHex(id, 32));
    // Incoming transfers (credits need no institution cap) from another wallet, sealed to c.
    const credit = (n: number, amount: number) =>
      sendRaw(hub.url, cKeys.prekey.public, stream, "transfer", {
        wallet_id: fromHex(walletIdHex(CTX_B, "EUR"), 32),
        to_wallet_id: fromHex(id, 32),
        amount,
        ts: 1,
        transfer_id: new Uint8Array(32).fill(n),
      });
    const show = async () => {
      const j = ok(await runCli(["wallet", "show", ...w, "--json"])).json();
      return {
        balance: j.balance as number,
        violations: j.violations,
        fold: j.fold as { fetched: number; index_lookups: number; upto_seq: number },
      };
    };
    await show();
    const overlays = `${c}/overlays`;
    const summaryFile = [...Deno.readDirSync(overlays)].map((e) => e.name).find((n) =>
      n.endsWith("-wallet.v2.json")
    )!;
    const summary = `${overlays}/${summaryFile}`;

    for (let n = 1; n <= 5; n++) await credit(n, 10);
    const five = await show();
    assert.deepEqual([five.balance, five.fold.fetched, five.fold.index_lookups], [50, 5, 5]);
    const before = await Deno.readTextFile(summary);
    for (const n of [1, 5]) {
      assert.ok(!before.includes(toHex(new Uint8Array(32).fill(n))), "no transfer_id in it");
    }
    assert.ok(Deno.statSync(summary.replace(/\.json$/, ".kv")).isFile);

    // One more credit: the warm read looks up its transfer_id only, not the five before.
    await credit(6, 7);
    const six = await show();
    assert.deepEqual([six.balance, six.fold.fetched, six.fold.index_lookups], [57, 1, 1]);

    // Crash after the index write, before the summary's: the index holds transfer 6 (tagged above the old
    // upto_seq), the summary is the one before it. The credit is folded again, exactly once.
    await Deno.writeTextFile(summary, before);
    const again = await show();
    assert.deepEqual([again.balance, again.fold.fetched, again.violations], [57, 1, []]);

    // A second copy of transfer 3 (after the summary): found in the index, skipped as a duplicate.
    await credit(3, 10);
    const dup = await show();
    assert.equal(dup.balance, 57);
    assert.deepEqual([dup.fold.fetched, dup.fold.index_lookups], [1, 1]);
    assert.deepEqual(dup.violations, [{ stream_seq: dup.fold.upto_seq, code: "WAL.DUPLICATE" }]);

    // A summary whose index is gone (its seen keys with it) is not trusted: the fold starts again.
    const kv = summary.replace(/\.json$/, ".kv");
    for (const f of [kv, `${kv}-wal`, `${kv}-shm`]) await Deno.remove(f).catch(() => {});
    const lost = await runCli(["wallet", "show", ...w, "--json"]);
    assert.match(ok(lost).stderr, /seen-key index is missing/);
    const re = lost.json();
    assert.deepEqual([re.balance, (re.fold as { refolded: boolean }).refolded], [57, true]);
    assert.deepEqual(re.violations, dup.violations);
  });
});
