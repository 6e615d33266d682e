/**
 * `veen selftest wallet` (issue 21; spec 001 WAL L4447-5072, levels Core ⊂ Limits ⊂ Control ⊂ Bridge at
 * L5032-5045): the wallet layer end to end through the CLI against hubs the suite starts itself, with admission on
 * and an institution key in trusted_issuers (so every write carries a cap and the institution's caps are served
 * at `GET /cap`). Needs its own hubs (the trusted issuer is a key this run creates), so with `--hub URL` every step
 * is reported as skipped.
 */
import { check, type Harness, short, StepSkipped } from "./harness.ts";
import { type Client, keygen } from "./core_steps/context.ts";

const SUITE = "wallet";

export const WALLET_GOAL =
  "WAL Core, Limits, Control and Bridge through veen wallet on hubs with admission: institution caps, refusals " +
  "before sending (exit 4, nothing appended), daily limit and UTC rollover, freeze, adjust, transfers and " +
  "show --verify, the CORE-GOALS transfer form, WALBR0 bridge with equal balances (001 L4447-5072)";

const DAY = 86400;

interface WalletCtx {
  url: string;
  inst: Client;
  alice: Client;
  bob: Client;
  /** alice's cap from the institution on both wallet streams. */
  cap: string;
  /** bob's cap from the institution on the same streams (not alice's to use). */
  bobCap: string;
  a: string;
  b: string;
  streamA: string;
}

type WalletStep = { name: string; goal: string; run(c: WalletCtx, ev: string[]): Promise<void> };

function steps(h: Harness): WalletStep[] {
  const at = (c: WalletCtx, who = c.alice) => ["--hub", c.url, "--client", who.dir];
  const show = async (c: WalletCtx, id: string, extra: string[] = []) =>
    await h.ok(["wallet", "show", ...at(c), "--wallet-id", id, ...extra]);
  const upto = (s: Record<string, unknown>) => (s.fold as { upto_seq: number }).upto_seq;
  const write = (c: WalletCtx, verb: string, id: string, ...rest: string[]) => [
    "wallet",
    verb,
    ...at(c),
    "--wallet-id",
    id,
    ...rest,
  ];
  const balanceIs = async (c: WalletCtx, id: string, want: number, what: string) => {
    const s = await show(c, id);
    check(s.balance === want, `${what}: balance ${s.balance}, expected ${want}`);
    return s;
  };
  return [
    {
      name: "open",
      goal: "wallet open under the institution's cap: the open names the institution key (Core)",
      async run(c, ev) {
        for (const [ctxId, id] of [["aa".repeat(32), c.a], ["bb".repeat(32), c.b]] as const) {
          const o = await h.ok([
            "wallet",
            "open",
            ...at(c),
            "--realm",
            "default",
            "--ctx",
            ctxId,
            "--currency",
            "USD",
            "--cap",
            c.cap,
          ]);
          check(
            o.wallet_id === id,
            `wallet open: wallet_id ${short(o.wallet_id)}, wallet id says ${short(id)}`,
          );
        }
        const s = await show(c, c.a);
        check(s.exists === true, "wallet show: the wallet is not open");
        check(
          s.institution_pk === c.inst.idSignPublic,
          `wallet show: institution_pk ${short(s.institution_pk)}`,
        );
        ev.push(`wallets ${short(c.a)} and ${short(c.b)} open; institution_pk ${short(s.institution_pk)}`);
      },
    },
    {
      name: "authorization",
      goal:
        "deposit without a cap, or under another client's cap, is refused with WAL.UNAUTHORIZED_OPERATION",
      async run(c, ev) {
        const before = upto(await show(c, c.a));
        await h.refused(write(c, "deposit", c.a, "--amount", "5"), "WAL.UNAUTHORIZED_OPERATION");
        await h.refused(
          write(c, "deposit", c.a, "--amount", "5", "--cap", c.bobCap),
          "WAL.UNAUTHORIZED_OPERATION",
        );
        const after = upto(await show(c, c.a));
        check(after === before, `the refused deposits appended: upto_seq ${before} → ${after}`);
        ev.push(
          "deposit without --cap and under bob's cap: exit 4 WAL.UNAUTHORIZED_OPERATION, nothing appended",
        );
      },
    },
    {
      name: "deposit-withdraw",
      goal: "deposit 100 (institution cap), withdraw 30: balance 70 (Core)",
      async run(c, ev) {
        await h.ok(write(c, "deposit", c.a, "--amount", "100", "--cap", c.cap));
        await h.ok(write(c, "withdraw", c.a, "--amount", "30", "--cap", c.cap));
        await balanceIs(c, c.a, 70, "after deposit 100 and withdraw 30");
        ev.push("deposit 100, withdraw 30: balance 70");
      },
    },
    {
      name: "refusal",
      goal:
        "a withdraw over the balance is refused before sending: exit 4 WAL.INSUFFICIENT_FUNDS, nothing appended",
      async run(c, ev) {
        const before = upto(await show(c, c.a));
        await h.refused(
          write(c, "withdraw", c.a, "--amount", "71", "--cap", c.cap),
          "WAL.INSUFFICIENT_FUNDS",
        );
        const s = await balanceIs(c, c.a, 70, "after a refused withdraw");
        check(upto(s) === before, `the refused withdraw appended: upto_seq ${before} → ${upto(s)}`);
        ev.push(`withdraw 71 of 70: exit 4 WAL.INSUFFICIENT_FUNDS; upto_seq still ${before}`);
      },
    },
    {
      name: "limits",
      goal:
        "daily limit 50: exactly 50 passes, one more is WAL.DAILY_LIMIT_EXCEEDED, the next UTC day resets (Limits)",
      async run(c, ev) {
        const t0 = 30 * DAY + 100;
        const ts = (t: number) => ["--ts", String(t), "--cap", c.cap];
        await h.ok(write(c, "limit", c.a, "--daily-limit", "50", ...ts(t0)));
        await h.ok(write(c, "withdraw", c.a, "--amount", "50", ...ts(t0)));
        await h.refused(
          write(c, "withdraw", c.a, "--amount", "1", ...ts(31 * DAY - 1)),
          "WAL.DAILY_LIMIT_EXCEEDED",
        );
        await h.ok(write(c, "withdraw", c.a, "--amount", "1", ...ts(31 * DAY)));
        const s = await balanceIs(c, c.a, 19, "after the limit steps");
        check(
          s.daily_limit === 50 && s.pending_daily_spent === 1,
          `limit ${s.daily_limit}, spent ${s.pending_daily_spent}`,
        );
        await h.ok(write(c, "limit", c.a, "--cap", c.cap)); // cleared
        ev.push("limit 50: withdraw 50 ok, 1 more the same day refused, 1 the next UTC day ok; balance 19");
      },
    },
    {
      name: "control",
      goal: "freeze refuses withdraws (WAL.FROZEN), unfreeze and adjust +1 (Control)",
      async run(c, ev) {
        await h.ok(write(c, "freeze", c.a, "--cap", c.cap, "--reason", "review"));
        await h.refused(write(c, "withdraw", c.a, "--amount", "1", "--cap", c.cap), "WAL.FROZEN");
        await h.ok(write(c, "unfreeze", c.a, "--cap", c.cap));
        await h.ok(write(c, "adjust", c.a, "--delta", "1", "--reason", "fix", "--cap", c.cap));
        await h.refused(
          write(c, "adjust", c.a, "--delta", "-21", "--reason", "fix", "--cap", c.cap),
          "WAL.INSUFFICIENT_FUNDS",
        );
        await balanceIs(c, c.a, 20, "after freeze, unfreeze and adjust +1");
        ev.push("freeze: withdraw exit 4 WAL.FROZEN; unfreeze; adjust +1 → 20; adjust -21 refused");
      },
    },
    {
      name: "transfer",
      goal: "transfer 15 and the CORE-GOALS form --stream --to 5; show --verify verifies both credits",
      async run(c, ev) {
        const transfer = (amount: string, ...from: string[]) => [
          "wallet",
          "transfer",
          ...at(c),
          ...from,
          "--amount",
          amount,
          "--cap",
          c.cap,
        ];
        const coreForm = ["--stream", c.streamA, "--to", c.b];
        await h.ok(transfer("15", "--wallet-id", c.a, "--to-wallet-id", c.b));
        await h.ok(transfer("5", ...coreForm));
        await balanceIs(c, c.a, 0, "source after transfers of 15 and 5");
        const v = await show(c, c.b, ["--verify"]);
        check(v.balance === 20, `destination balance ${v.balance}, expected 20`);
        const r = v.verify as { credits: number; verified: number };
        check(
          r.credits === 2 && r.verified === 2,
          `show --verify: ${r.verified} of ${r.credits} credits verified`,
        );
        await h.refused(transfer("1", ...coreForm), "WAL.INSUFFICIENT_FUNDS");
        const warm = await show(c, c.b);
        check((warm.fold as { fetched: number }).fetched === 0, "a warm show fetched items again");
        ev.push("a → b 15 and 5 (--stream form): a 0, b 20; --verify 2 of 2; a warm show fetched 0 items");
      },
    },
    {
      name: "close",
      goal: "close: a later deposit is refused with WAL.CLOSED",
      async run(c, ev) {
        await h.ok(write(c, "close", c.a, "--cap", c.cap));
        await h.refused(write(c, "deposit", c.a, "--amount", "1", "--cap", c.cap), "WAL.CLOSED");
        const s = await show(c, c.a);
        check(s.closed === true, "wallet show: not closed");
        check((s.violations as unknown[]).length === 0, `violations ${JSON.stringify(s.violations)}`);
        ev.push(
          "close; deposit exit 4 WAL.CLOSED; no violations recorded (every refusal was before sending)",
        );
      },
    },
    {
      name: "bridge",
      goal:
        "wallet bridge A → B: copies with parent_id, equal balances, a re-run copies nothing (Bridge, WALBR0)",
      async run(c, ev) {
        const b = await h.startHub(
          "wallet-b",
          { admission: "on", trustedIssuers: [c.inst.idSignPublic] },
          "admission on, trusted_issuers: wallet-inst (bridge target)",
        );
        const bridge = [
          "wallet",
          "bridge",
          "--from-hub",
          c.url,
          "--to-hub",
          b.url,
          "--client",
          c.alice.dir,
          "--wallet-id",
          c.b,
          "--cap",
          c.cap,
        ];
        const r1 = await h.ok(bridge);
        check(r1.balances_equal === true, `balances: A ${r1.source_balance}, B ${r1.target_balance}`);
        check((r1.mirrored_count as number) > 0, "the bridge copied nothing");
        const r2 = await h.ok(bridge);
        check(r2.mirrored_count === 0, `a re-run copied ${r2.mirrored_count} events again`);
        check(r2.balances_equal === true, `after a re-run: A ${r2.source_balance}, B ${r2.target_balance}`);
        const onB = await h.ok([
          "wallet",
          "show",
          "--hub",
          b.url,
          "--client",
          c.alice.dir,
          "--wallet-id",
          c.b,
        ]);
        check(onB.balance === 20, `wallet show on B: balance ${onB.balance}, expected 20`);
        ev.push(
          `bridge ${short(c.b)} to ${b.url}: ${r1.mirrored_count} copied, balances ${r1.source_balance} = ` +
            `${r1.target_balance}; re-run copied 0`,
        );
      },
    },
  ];
}

export async function walletSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, WALLET_GOAL);
  let c: WalletCtx | undefined;
  const ok = await h.step(
    SUITE,
    "setup",
    "start a hub with admission on whose trusted_issuers hold a new institution key; issue its caps",
    async (ev) => {
      if (h.deployed) {
        throw new StepSkipped(
          "needs a hub that trusts an institution key this run creates; not run with --hub",
        );
      }
      const inst = await keygen(h, "wallet-inst");
      const alice = await keygen(h, "wallet-alice");
      const bob = await keygen(h, "wallet-bob");
      const hub = await h.startHub(
        "wallet",
        { admission: "on", trustedIssuers: [inst.idSignPublic] },
        "admission on, trusted_issuers: wallet-inst",
      );
      const id = async (ctxId: string) =>
        await h.ok(["wallet", "id", "--realm", "default", "--ctx", ctxId, "--currency", "USD"]);
      const wa = await id("aa".repeat(32));
      const wb = await id("bb".repeat(32));
      const issue = async (who: Client) => {
        const out = `${who.dir}/wallet.cap`;
        await h.ok([
          "cap",
          "issue",
          "--issuer",
          inst.dir,
          "--subject",
          who.dir,
          "--stream",
          String(wa.stream_id),
          "--stream",
          String(wb.stream_id),
          "--ttl",
          "3600",
          "--out",
          out,
        ]);
        return out;
      };
      c = {
        url: hub.url,
        inst,
        alice,
        bob,
        cap: await issue(alice),
        bobCap: await issue(bob),
        a: String(wa.wallet_id),
        b: String(wb.wallet_id),
        streamA: String(wa.stream_id),
      };
      ev.push(
        `veen hub start: ${hub.url} pid ${hub.pid}, admission on, trusted issuer ${short(inst.idSignPublic)}`,
      );
    },
    { critical: true },
  );
  if (!ok || c === undefined) return;
  for (const s of steps(h)) await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev));
}
