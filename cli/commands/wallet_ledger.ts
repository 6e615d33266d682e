/**
 * `veen wallet ledger` (CLI goals 3 §6.1; overlay decisions: the signed-balance fold over paid.operation.v1): for
 * the paid operations of `--stream` with stream_seq in [since, upto], debit payer_account and credit payee_account
 * (overlays/paid_ledger.ts), each (label, stream_seq) once. Identities remapped by effective recovery executions on
 * `--recovery-stream` (default the same stream) are shown under their new identity.
 *
 * The whole stream (no `--since-stream-seq`/`--upto-stream-seq`, or 1 and the hub's last) is read from the ledger
 * fold (overlays/ledger_fold.ts), whose summary is the balances: a warm read folds only the new items and never the
 * operations before them. A narrower range is read from the same fold's block summaries (cli/block_summaries.ts):
 * O(log n) stored ledgers of aligned blocks merged with the ledgers of at most two partial chunks (< 2C items).
 * The identity remap is computed from the recovery records of `--recovery-stream` (overlays/operation_log.ts
 * RECOVERY_LOG, which keeps only those) and applied to the balances when they are read. A paid operation outside
 * the bounds of the access grant it was sent under is skipped with its reason (cli/operation_reader.ts).
 */
import { parseHex32, parseUint } from "../../cmd/mod.ts";
import { balancesJson, identityRemap, type Ledger, RECOVERY_LOG, remapLedger } from "../../overlays/mod.ts";
import {
  CLIENT_FLAG,
  type Command,
  HUB_FLAG,
  HUB_KEY_FLAG,
  PASSPHRASE_FLAG,
  REFOLD_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { grantBoundLedger } from "../operation_reader.ts";
import { foldJson, readFold } from "./crdt.ts";
import { RECOVERY_POLICY_FLAGS, recoveryPolicy } from "./recovery_flags.ts";

export const walletLedger: Command = {
  path: ["wallet", "ledger"],
  summary: "signed balances over the paid operations of a stream (paid.operation.v1)",
  usage:
    "veen wallet ledger --hub H --client DIR --stream NAME [--upto-stream-seq N] [--since-stream-seq M] [--account HEX32] [--recovery-stream NAME] [--threshold N] [--guardian HEX32]...",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    STREAM_FLAG,
    { name: "upto-stream-seq", metavar: "N", help: "last stream_seq folded (default: the hub's last)" },
    { name: "since-stream-seq", metavar: "M", help: "first stream_seq folded (default 1)" },
    { name: "account", metavar: "HEX32", help: "print this account's balance only" },
    {
      name: "recovery-stream",
      metavar: "NAME",
      help: "stream of the recovery records whose executions remap identities (default --stream)",
    },
    ...RECOVERY_POLICY_FLAGS,
    REFOLD_FLAG,
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const stream = ctx.flags.req("stream");
    const uptoFlag = ctx.flags.str("upto-stream-seq");
    const sinceFlag = ctx.flags.str("since-stream-seq");
    const from = sinceFlag === undefined ? 1 : parseUint(sinceFlag, "--since-stream-seq", { min: 1 });
    const recStream = ctx.flags.str("recovery-stream") ?? stream;
    const remap = identityRemap(
      (await readFold(ctx, RECOVERY_LOG, recStream)).cursor.state.records,
      recoveryPolicy(ctx),
    );
    const { cursor } = await readFold<Ledger>(ctx, grantBoundLedger, stream);
    const upto = uptoFlag === undefined ? cursor.view.size : parseUint(uptoFlag, "--upto-stream-seq");
    const last = Math.min(upto, cursor.view.size);
    const ledger = remapLedger(
      from === 1 && last === cursor.view.size
        ? cursor.state
        : await cursor.range(Math.min(from - 1, last), last),
      remap,
    );
    const balances = balancesJson(ledger);
    const accountFlag = ctx.flags.str("account");
    const json = {
      stream,
      from,
      upto,
      balances,
      applied: ledger.applied,
      skipped: ledger.skipped.map((s) => ({ stream_seq: s.seq, reason: s.reason })),
      ...foldJson(cursor),
    };
    if (accountFlag !== undefined) {
      parseHex32(accountFlag, "--account");
      const acct = remap(accountFlag.toLowerCase());
      const bal = balances[acct] ?? 0;
      ctx.out.result({ ...json, account: acct, balance: bal }, [`${acct}: ${bal}`]);
      return 0;
    }
    ctx.out.result(json, Object.entries(balances).map(([k, v]) => `${k}: ${v}`));
    return 0;
  },
};
