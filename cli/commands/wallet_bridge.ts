/**
 * `veen wallet bridge` (WALBR0, spec 001 §11, L4953-5000): copies wallet `--wallet-id`'s stream from hub A to
 * hub B with the copy loop of cli/stream_mirror.ts:
 * - every item of the wallet's stream on A is read with proofs and verified as `stream --with-proof` does; one that
 *   fails is never copied and makes the command exit 4 after the others were copied;
 * - the wallet is folded on A (caps from A's `GET /cap`), and only the events A's fold applied are copied, in
 *   stream order: a copy keeps payload_hdr.schema and the body bytes, has parent_id = the origin msg_id and is
 *   followed by a federation.mirror.v1 attestation (so B's stream is a mirror target, never bridged back from);
 *   events A's fold skipped are listed with their WAL.* code, never copied (B's fold would otherwise judge them
 *   on B's state and under the bridge's cap);
 * - copies are sent under `--cap`, the institution's cap for the bridging client on B (installed there, so B's
 *   readers can check it): on B the privileged copies are authorized by the same institution key;
 * - a re-run copies nothing twice (B's parent_ids are read back), and B's fold ignores a second copy of a
 *   parent_id (§11.4). Both hubs are folded at the end: equal balances mean B replays A.
 * Copies are sealed to the bridging client, or to `--to CARD` (the wallet's reader on B).
 */
import { toHex } from "../../core/mod.ts";
import { parseHex32 } from "../../cmd/mod.ts";
import { installCap } from "../cap_fetch.ts";
import { readState, withStateLock, writeState } from "../client_state.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  loadKeys,
  PASSPHRASE_FLAG,
  recipientOf,
  TO_FLAG,
} from "../context.ts";
import { readInputFile } from "../files.ts";
import { connectHub, type HubSession } from "../hub_session.ts";
import { type MirrorCandidate, mirrorReport, runMirror } from "../stream_mirror.ts";
import { readWallet, walletStreamName } from "../wallet_view.ts";

/** A session to hub `hub`, its pin checked and saved in the client directory. */
async function pinned(ctx: CommandContext, dir: string, hub: string): Promise<HubSession> {
  return await withStateLock(dir, async () => {
    const state = await readState(dir);
    const session = await connectHub({ hub, env: ctx.io.env, timeoutMs: ctx.timeoutMs, state });
    await writeState(dir, state);
    return session;
  });
}

export const walletBridge: Command = {
  path: ["wallet", "bridge"],
  summary:
    "copy a wallet's stream from hub A to hub B as mirrored events (WALBR0, parent_id = origin msg_id)",
  usage: "veen wallet bridge --from-hub A --to-hub B --client DIR --wallet-id HEX32 [--cap FILE] [--to CARD]",
  details:
    "Verified on A with proofs; only events A's fold applied are copied, in order; re-runs copy nothing " +
    "twice. Prints both hubs' balances.",
  flags: [
    { name: "from-hub", required: true, metavar: "URL|DIR", help: "hub A (authoritative)" },
    { name: "to-hub", required: true, metavar: "URL|DIR", help: "hub B (replica)" },
    CLIENT_FLAG,
    { name: "wallet-id", metavar: "HEX32", required: true, help: "wallet_id" },
    {
      name: "cap",
      metavar: "FILE",
      help: "the institution's cap_token for this client on the wallet's stream, installed on hub B",
    },
    {
      ...TO_FLAG,
      help: "identity card (or client dir) of the wallet's reader on B: copies are sealed to it",
    },
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const id = parseHex32(ctx.flags.req("wallet-id"), "--wallet-id");
    const dir = clientDir(ctx);
    const keys = await loadKeys(ctx, dir);
    const from = ctx.flags.req("from-hub");
    const to = ctx.flags.req("to-hub");
    const src = await pinned(ctx, dir, from);
    const dst = await pinned(ctx, dir, to);
    const capPath = ctx.flags.str("cap");
    const cap = capPath === undefined
      ? undefined
      : await installCap(dst.http, await readInputFile(capPath, "cap_token"));
    // The origin's verdicts: msg_ids of the events A's fold applied.
    const accepted = new Set<string>();
    const a = await readWallet(ctx, id, {
      session: src,
      refold: true,
      noSave: true,
      observe: (e, ok) => {
        if (ok) accepted.add(toHex(e.msgId));
      },
    });
    const codes = new Map(a.state.violations.map((v) => [v.seq, v.code]));
    const { scan, counts, skipped } = await runMirror(ctx, dir, keys, {
      sourceHub: from,
      targetHub: to,
      stream: walletStreamName(id),
    }, {
      select: (c: MirrorCandidate) => accepted.has(toHex(c.receipt.leafHash)),
      recipientPk: (await recipientOf(ctx, keys)).hpkePk,
      ...(cap === undefined ? {} : { authRef: cap.ref }),
    });
    const b = await readWallet(ctx, id, { session: dst });
    const events = skipped.filter((c) => codes.has(c.receipt.streamSeq));
    if (a.state.balance !== b.state.balance) {
      ctx.out.warn(
        `the balance on B (${b.state.balance}) is not A's (${a.state.balance}): ` +
          `see wallet show on B (copies need --cap, B may hold events of its own)`,
      );
    }
    return mirrorReport(ctx, scan.failures, {
      wallet_id: toHex(id),
      source_hub: src.address.url,
      target_hub: dst.address.url,
      stream: walletStreamName(id),
      source_last_stream_seq: scan.srcSize,
      ...counts,
      not_copied: events.map((c) => ({
        stream_seq: c.receipt.streamSeq,
        code: codes.get(c.receipt.streamSeq)!,
      })),
      not_decryptable: scan.notDecryptable,
      source_balance: a.state.balance,
      target_balance: b.state.balance,
      balances_equal: a.state.balance === b.state.balance,
    });
  },
};
