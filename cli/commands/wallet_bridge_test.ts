/** `veen wallet bridge` (WALBR0) between two real hubs: verified copies, equal folds, idempotent re-runs. */
import assert from "node:assert/strict";
import { fromHex } from "../../core/mod.ts";
import { readKeystore } from "../keystore.ts";
import { startRealHub } from "../testing/real_hub.ts";
import { newClient, runCli } from "../testing/run.ts";
import { openArgs, sendRaw, walletCap, walletIdHex, withWalletHub } from "../testing/wallet.ts";
import { ok } from "../testing/with_real_hub.ts";
import { walletStreamName } from "./wallet.ts";

const CTX_A = "aa".repeat(32);
const CTX_B = "bb".repeat(32);

Deno.test("wallet bridge: A's applied events copied to B with parent_id, equal folds, re-runs copy nothing twice", async () => {
  await withWalletHub(async (hubA, root, inst) => {
    const hubB = await startRealHub(`${root}/hubB`, { trustedIssuers: [inst.pk] });
    try {
      const c = await newClient(root, "c");
      const [a, b] = [walletIdHex(CTX_A, "USD"), walletIdHex(CTX_B, "USD")];
      const cap = await walletCap(inst, c, [a, b]);
      const onA = ["--hub", hubA.url, "--client", c];
      const onB = ["--hub", hubB.url, "--client", c];
      for (const ctxId of [CTX_A, CTX_B]) {
        ok(
          await runCli(openArgs(onA, ctxId, "USD", "--cap", cap)),
        );
      }
      const w = ["--wallet-id", a];
      const dep = ok(
        await runCli(["wallet", "deposit", ...onA, ...w, "--amount", "100", "--cap", cap, "--json"]),
      )
        .json();
      ok(await runCli(["wallet", "limit", ...onA, ...w, "--daily-limit", "80", "--cap", cap]));
      ok(await runCli(["wallet", "withdraw", ...onA, ...w, "--amount", "30"]));
      ok(await runCli(["wallet", "transfer", ...onA, ...w, "--to-wallet-id", b, "--amount", "10"]));
      // Another writer's withdraw that A's fold skips: it must not be copied.
      const { keys } = await readKeystore(c, undefined);
      await sendRaw(hubA.url, keys.prekey.public, walletStreamName(fromHex(a, 32)), "withdraw", {
        wallet_id: fromHex(a, 32),
        amount: 1000,
        ts: 1,
      });
      const hubs = ["wallet", "bridge", "--from-hub", hubA.url, "--to-hub", hubB.url, "--client", c];
      const bridge = [...hubs, ...w, "--cap", cap];
      const r1 = ok(await runCli([...bridge, "--json"])).json();
      assert.deepEqual(
        [r1.mirrored_count, r1.already_mirrored, r1.source_balance, r1.target_balance, r1.balances_equal],
        [5, 0, 60, 60, true],
      );
      assert.deepEqual(r1.not_copied, [{ stream_seq: 6, code: "WAL.DAILY_LIMIT_EXCEEDED" }]);
      const sa = ok(await runCli(["wallet", "show", ...onA, ...w, "--json"])).json();
      const sb = ok(await runCli(["wallet", "show", ...onB, ...w, "--json"])).json();
      const view = (
        s: Record<string, unknown>,
      ) => [s.balance, s.frozen, s.closed, s.daily_limit, s.pending_daily_spent, s.institution_pk];
      assert.deepEqual(view(sb), view(sa));
      assert.deepEqual(sb.violations, []);
      // A re-run copies nothing; a new event on A is copied alone.
      const r2 = ok(await runCli([...bridge, "--json"])).json();
      assert.deepEqual([r2.mirrored_count, r2.already_mirrored, r2.balances_equal], [0, 5, true]);
      ok(await runCli(["wallet", "deposit", ...onA, ...w, "--amount", "5", "--cap", cap]));
      const r3 = ok(await runCli([...bridge, "--json"])).json();
      assert.deepEqual([r3.mirrored_count, r3.already_mirrored, r3.target_balance], [1, 5, 65]);
      // A second copy of a bridged deposit (same parent_id) on B is a duplicate for B's fold.
      await sendRaw(hubB.url, keys.prekey.public, walletStreamName(fromHex(a, 32)), "deposit", {
        wallet_id: fromHex(a, 32),
        amount: 100,
        ts: 1,
      }, { parentId: fromHex(String(dep.msg_id), 32) });
      const dup = ok(await runCli(["wallet", "show", ...onB, ...w, "--json"])).json();
      assert.equal(dup.balance, 65);
      assert.equal((dup.violations as { code: string }[]).at(-1)!.code, "WAL.DUPLICATE");
      // Without the institution's cap on B the copies are not authorized there: the balances differ, with a warning.
      const rb = await runCli([...hubs, "--wallet-id", b, "--json"]);
      ok(rb);
      assert.deepEqual([rb.json().source_balance, rb.json().target_balance, rb.json().balances_equal], [
        10,
        0,
        false,
      ]);
      assert.match(rb.stderr, /the balance on B \(0\) is not A's \(10\)/);
    } finally {
      await hubB.close();
    }
  });
});
