/**
 * `veen wallet ...` (issue 21; spec 001 WAL lines 4447-5072; overlay decisions "Identity, wallet and operations").
 *
 * A wallet's events are sealed messages on its stream `Ht("wallet/stream", wallet_id)`, sealed to the client
 * itself. Every mutation first folds the wallet's stream (resumed from the client's summary, overlay_cursor.ts)
 * and checks the new event with the fold: one the fold would skip is refused before sending, with its WAL.* code
 * and exit 4, and nothing is appended. `transfer` appends the wallet.transfer.v1 to the source stream, then a copy
 * of the same body to the destination wallet's stream with parent_id = the source msg_id (sealed to `--to CARD`,
 * default the client); the destination fold credits it once per transfer_id.
 *
 * Authorization (001 §8): open, deposit, adjust, limit, freeze and unfreeze carry `--cap FILE`, a cap_token of
 * the wallet's institution for this client on the wallet's stream. The CLI installs it on the hub (POST
 * /authorize, so the hub serves it at `GET /cap` to every reader) and sends under its auth_ref; the fold applies
 * such an event only when the cap's issuer is the institution the wallet's open named (overlays/wallet.ts).
 */
import {
  bytesEqual,
  type CapToken,
  type CborValue,
  defaultRandom,
  fromHex,
  realmIdFor,
  streamIdFor,
  toHex,
  utf8,
} from "../../core/mod.ts";
import {
  type BodyRecord,
  capIssuerFor,
  ctxIdFor,
  decodeWalletBody,
  encodeWalletBody,
  isCurrencyCode,
  transferIdFor,
  WALLET_BODIES,
  walletCheck,
  type WalletEvent,
  walletIdFor,
  type WalletKind,
  type WalletState,
  walletStreamId,
} from "../../overlays/mod.ts";
import { CommandError, type FlagSpec, parseHex32, usageError } from "../../cmd/mod.ts";
import { checkRealmFlag, realmDescriptor } from "../admin.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  HUB_KEY_FLAG,
  nowSec,
  PASSPHRASE_FLAG,
  POW_FLAGS,
  recipientOf,
  REFOLD_FLAG,
  TO_FLAG,
} from "../context.ts";
import { installCap } from "../cap_fetch.ts";
import { readInputFile } from "../files.ts";
import { checkPrekey, readIdentityCard } from "../identity_card.ts";
import type { HubSession } from "../hub_session.ts";
import { pinnedSession } from "../overlay_io.ts";
import { sendAndSave } from "../sender.ts";
import { verifyCredits } from "../wallet_verify.ts";
import { walletBridge } from "./wallet_bridge.ts";
import { readWallet, walletStreamName } from "../wallet_view.ts";

export { walletStreamName };

const WALLET_ID_FLAG: FlagSpec = { name: "wallet-id", metavar: "HEX32", required: true, help: "wallet_id" };
const AMOUNT_FLAG: FlagSpec = {
  name: "amount",
  metavar: "N",
  required: true,
  help: "amount in the smallest unit",
};
const TS_FLAG: FlagSpec = { name: "ts", metavar: "N", help: "event time, Unix seconds (default: now)" };
const REALM_FLAG: FlagSpec = {
  name: "realm",
  metavar: "NAME|HEX32",
  required: true,
  help: "realm name or realm_id",
};
const CTX_FLAG: FlagSpec = { name: "ctx", metavar: "HEX32", required: true, help: "owner ctx_id" };
const CURRENCY_FLAG: FlagSpec = {
  name: "currency",
  metavar: "CODE",
  required: true,
  help: "currency code (ASCII)",
};
const CAP_FLAG: FlagSpec = {
  name: "cap",
  metavar: "FILE",
  help: "cap_token to send under (installed on the hub); open, deposit, adjust, limit, freeze and unfreeze " +
    "need one issued by the wallet's institution key for this client on the wallet's stream",
};
const TAIL: FlagSpec[] = [HUB_KEY_FLAG, PASSPHRASE_FLAG, REFOLD_FLAG];
const WRITE: FlagSpec[] = [HUB_FLAG, CLIENT_FLAG, WALLET_ID_FLAG, TS_FLAG, CAP_FLAG, ...TAIL, ...POW_FLAGS];

/** The `--cap` of a write, installed on the hub (POST /authorize answers the same auth_ref for a known cap). */
interface SendCap {
  token: CapToken;
  ref: Uint8Array;
}

async function capOf(ctx: CommandContext, session: HubSession): Promise<SendCap | undefined> {
  const path = ctx.flags.str("cap");
  if (path === undefined) return undefined;
  return await installCap(session.http, await readInputFile(path, "cap_token"));
}

function realmIdOf(r: string): Uint8Array {
  return /^[0-9a-fA-F]{64}$/.test(r) ? fromHex(r, 32, "--realm") : realmIdFor(r);
}

function currencyOf(ctx: CommandContext): string {
  const c = ctx.flags.req("currency");
  if (!isCurrencyCode(c)) {
    throw usageError(
      `--currency must be 1 to 32 printable ASCII characters, got "${c}"`,
      "WAL.INVALID_CURRENCY",
    );
  }
  return c;
}

/** The wallet's folded state (verified stream, summary resumed), the client's keys and the session. */
async function walletState(ctx: CommandContext, walletId: Uint8Array) {
  const r = await readWallet(ctx, walletId);
  return { state: r.state, keys: r.keys, session: r.session, fold: r.cursor.stats() };
}

/**
 * The fold's verdict on `rec` as the next event, sent by this client under `cap`; a WAL.* code is a refusal
 * (exit 4), nothing sent. `VEEN_UNSAFE_WALLET_SKIP_CHECK=1` (test-only) skips the check so that the selftest can
 * prove it fails when this rule is broken.
 */
function refuseIfSkipped(
  ctx: CommandContext,
  walletId: Uint8Array,
  state: WalletState,
  kind: WalletKind,
  rec: Record<string, CborValue>,
  clientId: Uint8Array,
  cap: SendCap | undefined,
) {
  const by = cap === undefined ? undefined : capIssuerFor(cap.token, clientId, walletId);
  const ev: WalletEvent = { seq: 0, kind, rec, ...(by === undefined ? {} : { authorizedBy: by }) };
  const code = walletCheck(walletId, state, ev);
  if (code === undefined) return;
  if (ctx.io.env("VEEN_UNSAFE_WALLET_SKIP_CHECK") === "1") {
    ctx.out.warn(
      `VEEN_UNSAFE_WALLET_SKIP_CHECK (test-only): sending although the fold would skip it (${code})`,
    );
    return;
  }
  throw new CommandError(
    "check",
    `The wallet fold would skip this ${WALLET_BODIES[kind].name} (nothing sent)`,
    { code },
  );
}

/** Checks and sends one event of `kind` on the wallet's own stream; prints where it landed. */
async function sendEvent(
  ctx: CommandContext,
  walletId: Uint8Array,
  kind: WalletKind,
  fields: Record<string, CborValue | undefined>,
  extra: Record<string, unknown> = {},
): Promise<number> {
  const { state, keys, session } = await walletState(ctx, walletId);
  const rec = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<
    string,
    CborValue
  >;
  if (kind === "open" && state.exists) {
    ctx.out.result({ wallet_id: toHex(walletId), ...extra, opened: false }, [
      toHex(walletId),
      "already open (nothing sent)",
    ]);
    return 0;
  }
  const cap = await capOf(ctx, session);
  refuseIfSkipped(ctx, walletId, state, kind, rec, keys.client.public, cap);
  const stream = walletStreamName(walletId);
  const { res } = await sendAndSave(ctx, clientDir(ctx), keys, stream, {
    hdr: { schema: WALLET_BODIES[kind].schemaId },
    bodyBytes: encodeWalletBody(kind, rec),
    recipientPk: keys.prekey.public,
    ...(cap === undefined ? {} : { authRef: cap.ref }),
  });
  ctx.out.result(
    {
      wallet_id: toHex(walletId),
      event: WALLET_BODIES[kind].name,
      stream_seq: res.receipt.streamSeq,
      msg_id: toHex(res.msgId),
      ...extra,
    },
    [`${WALLET_BODIES[kind].name}: stream_seq ${res.receipt.streamSeq}`, `msg_id: ${toHex(res.msgId)}`],
  );
  return 0;
}

const walletIdOf = (ctx: CommandContext, flag = "wallet-id") => parseHex32(ctx.flags.req(flag), `--${flag}`);
const tsOf = (ctx: CommandContext) => ctx.flags.int("ts") ?? nowSec(ctx);
const refOf = (ctx: CommandContext) => {
  const r = ctx.flags.str("ref");
  return r === undefined ? undefined : utf8(r);
};
const REF_FLAG: FlagSpec = {
  name: "ref",
  metavar: "TEXT",
  help: "external reference (stored as its UTF-8 bytes)",
};
const REASON_FLAG: FlagSpec = { name: "reason", metavar: "TEXT", help: "reason" };

export const walletId: Command = {
  path: ["wallet", "id"],
  summary: "print the wallet_id of (realm, ctx, currency) and its stream",
  usage: "veen wallet id --realm NAME|HEX32 --ctx HEX32 --currency CODE",
  flags: [REALM_FLAG, CTX_FLAG, CURRENCY_FLAG],
  run(ctx) {
    const id = walletIdFor(
      realmIdOf(ctx.flags.req("realm")),
      parseHex32(ctx.flags.req("ctx"), "--ctx"),
      currencyOf(ctx),
    );
    ctx.out.result({ wallet_id: toHex(id), stream_id: walletStreamName(id) }, [toHex(id)]);
    return Promise.resolve(0);
  },
};

export const walletOpen: Command = {
  path: ["wallet", "open"],
  summary: "open the wallet of (realm, ctx, currency) on its stream (wallet.open.v1); prints wallet_id",
  usage:
    "veen wallet open --hub H --client DIR --realm NAME|HEX32 --ctx HEX32 --currency CODE --cap FILE [--ts N]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    REALM_FLAG,
    CTX_FLAG,
    CURRENCY_FLAG,
    TS_FLAG,
    {
      ...CAP_FLAG,
      help: "cap_token of the institution for this client on the wallet's stream: its issuer " +
        "becomes the wallet's institution key",
    },
    ...TAIL,
    ...POW_FLAGS,
  ],
  async run(ctx) {
    const session = await pinnedSession(ctx, clientDir(ctx));
    const d = await realmDescriptor(session);
    checkRealmFlag(ctx, d);
    const realmId = realmIdOf(ctx.flags.req("realm"));
    const ctxId = parseHex32(ctx.flags.req("ctx"), "--ctx");
    const currency = currencyOf(ctx);
    const id = walletIdFor(realmId, ctxId, currency);
    return await sendEvent(ctx, id, "open", {
      wallet_id: id,
      realm_id: realmId,
      ctx_id: ctxId,
      currency,
      created_at: tsOf(ctx),
    }, { currency, opened: true });
  },
};

function amountCommand(kind: "deposit" | "withdraw"): Command {
  return {
    path: ["wallet", kind],
    summary: `${kind} an amount (wallet.${kind}.v1); refused with its WAL.* code when the fold would skip it`,
    usage: `veen wallet ${kind} --hub H --client DIR --wallet-id HEX32 --amount N ${
      kind === "deposit" ? "--cap FILE" : "[--cap FILE]"
    } [--ref TEXT] [--ts N]`,
    flags: [...WRITE, AMOUNT_FLAG, REF_FLAG],
    async run(ctx) {
      const id = walletIdOf(ctx);
      const amount = ctx.flags.int("amount")!;
      return await sendEvent(ctx, id, kind, { wallet_id: id, amount, ts: tsOf(ctx), ref: refOf(ctx) }, {
        amount,
      });
    },
  };
}

export const walletDeposit = amountCommand("deposit");
export const walletWithdraw = amountCommand("withdraw");

/**
 * The CORE-GOALS form `wallet transfer --stream NAME --to CARD|DIR|HEX32` (001 L5480; overlay decisions): the
 * source is the client's wallet on stream NAME, the wallet whose (validly derived) wallet.open.v1 on NAME has
 * stream_id_wallet = NAME's stream_id (one wallet per stream, so the first such open names it); the destination is
 * `--to` as a wallet_id, or the wallet of the same realm and currency of `--to`'s owner, whose ctx_id is the ID
 * layer's `Ht("id/ctx", principal_pk || realm_id)` of the card's id_sign key (the copy is then sealed to the card).
 */
async function coreGoalsEnds(
  ctx: CommandContext,
): Promise<{ id: Uint8Array; to: Uint8Array; sealTo?: Uint8Array }> {
  const stream = ctx.flags.req("stream");
  const sid = streamIdFor(stream);
  let open: BodyRecord | undefined;
  await readWallet(ctx, new Uint8Array(32), {
    stream,
    refold: true,
    noSave: true,
    observe: (e) => {
      if (open !== undefined || !bytesEqual(e.hdr.schema, WALLET_BODIES.open.schemaId)) return;
      try {
        const r = decodeWalletBody("open", e.body);
        const id = r.wallet_id as Uint8Array;
        const derived = walletIdFor(r.realm_id as Uint8Array, r.ctx_id as Uint8Array, r.currency as string);
        if (bytesEqual(walletStreamId(id), sid) && bytesEqual(derived, id)) open = r;
      } catch {
        // a malformed body names no wallet
      }
    },
  });
  if (open === undefined) {
    throw new CommandError("check", `No wallet is open on stream "${stream}" (nothing sent)`, {
      code: "WAL.NOT_OPEN",
    });
  }
  const id = open.wallet_id as Uint8Array;
  const toFlag = ctx.flags.req("to");
  if (/^[0-9a-fA-F]{64}$/.test(toFlag)) return { id, to: parseHex32(toFlag, "--to") };
  const card = await readIdentityCard(toFlag);
  checkPrekey(card, nowSec(ctx));
  const realmId = open.realm_id as Uint8Array;
  const to = walletIdFor(realmId, ctxIdFor(card.idSignPublic, realmId), open.currency as string);
  return { id, to, sealTo: card.hpkePk };
}

/** The source and destination of either form of `wallet transfer` (exactly one form must be given). */
async function transferEnds(
  ctx: CommandContext,
): Promise<{ id: Uint8Array; to: Uint8Array; sealTo?: Uint8Array }> {
  const has = (f: string) => ctx.flags.str(f) !== undefined;
  if (has("stream")) {
    if (has("wallet-id") || has("to-wallet-id") || !has("to")) {
      throw usageError("Give --stream NAME --to CARD|HEX32, or --wallet-id HEX32 --to-wallet-id HEX32");
    }
    return await coreGoalsEnds(ctx);
  }
  if (!has("wallet-id") || !has("to-wallet-id")) {
    throw usageError("Give --wallet-id HEX32 --to-wallet-id HEX32, or --stream NAME --to CARD|HEX32");
  }
  return { id: walletIdOf(ctx), to: walletIdOf(ctx, "to-wallet-id") };
}

export const walletTransfer: Command = {
  path: ["wallet", "transfer"],
  summary:
    "transfer to another wallet: wallet.transfer.v1 on the source stream, then its copy on the destination's",
  usage:
    "veen wallet transfer --hub H --client DIR (--wallet-id HEX32 --to-wallet-id HEX32 [--to CARD] | --stream NAME --to CARD|HEX32) --amount N [--cap FILE] [--ts N]",
  flags: [
    ...WRITE.map((f) => f === WALLET_ID_FLAG ? { ...f, required: false } : f),
    { name: "to-wallet-id", metavar: "HEX32", help: "destination wallet_id" },
    AMOUNT_FLAG,
    {
      ...TO_FLAG,
      metavar: "CARD|HEX32",
      help:
        "identity card (or client dir) of the destination owner: the copy is sealed to it; with --stream " +
        "also the destination (that owner's wallet of the same realm and currency, or a wallet_id)",
    },
    {
      name: "stream",
      metavar: "NAME",
      help: "CORE-GOALS form: the stream of the source wallet (the stream_id `wallet id` prints)",
    },
  ],
  async run(ctx) {
    const { id, to, sealTo } = await transferEnds(ctx);
    if (bytesEqual(id, to)) throw usageError("The destination must be another wallet");
    const amount = ctx.flags.int("amount")!;
    const ts = tsOf(ctx);
    const { state, keys, session } = await walletState(ctx, id);
    const fields = (transferId: Uint8Array) => ({
      wallet_id: id,
      to_wallet_id: to,
      amount,
      ts,
      transfer_id: transferId,
    });
    const cap = await capOf(ctx, session);
    refuseIfSkipped(ctx, id, state, "transfer", fields(defaultRandom(32)), keys.client.public, cap);
    const withCap = cap === undefined ? {} : { authRef: cap.ref };
    const dir = clientDir(ctx);
    const schema = WALLET_BODIES.transfer.schemaId;
    let body: Uint8Array = new Uint8Array();
    let transferId: Uint8Array = new Uint8Array();
    const src = await sendAndSave(ctx, dir, keys, walletStreamName(id), {
      hdr: { schema },
      bodyFor: (clientSeq, label) => {
        transferId = transferIdFor(label, keys.client.public, clientSeq);
        body = encodeWalletBody("transfer", fields(transferId));
        return body;
      },
      recipientPk: keys.prekey.public,
      ...withCap,
    });
    const copy = await sendAndSave(ctx, dir, keys, walletStreamName(to), {
      hdr: { schema, parentId: src.res.msgId },
      bodyBytes: body,
      recipientPk: sealTo ??
        (ctx.flags.str("stream") === undefined ? (await recipientOf(ctx, keys)).hpkePk : keys.prekey.public),
      ...withCap,
    });
    ctx.out.result(
      {
        wallet_id: toHex(id),
        to_wallet_id: toHex(to),
        amount,
        transfer_id: toHex(transferId),
        stream_seq: src.res.receipt.streamSeq,
        msg_id: toHex(src.res.msgId),
        copy_stream_seq: copy.res.receipt.streamSeq,
        copy_msg_id: toHex(copy.res.msgId),
      },
      [
        `transfer_id: ${toHex(transferId)}`,
        `source: stream_seq ${src.res.receipt.streamSeq}`,
        `destination: stream_seq ${copy.res.receipt.streamSeq}`,
      ],
    );
    return 0;
  },
};

function flagCommand(kind: "freeze" | "unfreeze" | "close"): Command {
  const withReason = kind !== "close";
  return {
    path: ["wallet", kind],
    summary: `${kind} a wallet (wallet.${kind}.v1)`,
    usage: `veen wallet ${kind} --hub H --client DIR --wallet-id HEX32${
      withReason ? " --cap FILE [--reason TEXT]" : " [--cap FILE]"
    } [--ts N]`,
    flags: withReason ? [...WRITE, REASON_FLAG] : WRITE,
    async run(ctx) {
      const id = walletIdOf(ctx);
      const reason = withReason ? ctx.flags.str("reason") : undefined;
      return await sendEvent(ctx, id, kind, { wallet_id: id, ts: tsOf(ctx), reason });
    },
  };
}

export const walletFreeze = flagCommand("freeze");
export const walletUnfreeze = flagCommand("unfreeze");
export const walletClose = flagCommand("close");

export const walletLimit: Command = {
  path: ["wallet", "limit"],
  summary: "set the daily outgoing limit (wallet.limit.v1); without --daily-limit the limit is cleared",
  usage: "veen wallet limit --hub H --client DIR --wallet-id HEX32 --cap FILE [--daily-limit N] [--ts N]",
  flags: [...WRITE, {
    name: "daily-limit",
    metavar: "N",
    help: "per UTC day outgoing limit (absent: clear)",
  }],
  async run(ctx) {
    const id = walletIdOf(ctx);
    const limit = ctx.flags.int("daily-limit");
    return await sendEvent(ctx, id, "limit", { wallet_id: id, daily_limit: limit, ts: tsOf(ctx) }, {
      daily_limit: limit ?? null,
    });
  },
};

export const walletAdjust: Command = {
  path: ["wallet", "adjust"],
  summary: "administrative correction by a signed delta (wallet.adjust.v1)",
  usage:
    "veen wallet adjust --hub H --client DIR --wallet-id HEX32 --delta N --reason TEXT --cap FILE [--ref TEXT] [--ts N]",
  flags: [
    ...WRITE,
    { name: "delta", metavar: "N", required: true, help: "signed integer added to the balance" },
    { ...REASON_FLAG, required: true },
    REF_FLAG,
  ],
  async run(ctx) {
    const id = walletIdOf(ctx);
    const text = ctx.flags.req("delta");
    if (!/^-?[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw usageError(`--delta must be an integer, got "${text}"`);
    }
    const delta = Number(text);
    return await sendEvent(ctx, id, "adjust", {
      wallet_id: id,
      delta,
      ts: tsOf(ctx),
      reason: ctx.flags.req("reason", { allowEmpty: true }),
      ref: refOf(ctx),
    }, { delta });
  },
};

export const walletShow: Command = {
  path: ["wallet", "show"],
  summary:
    "fold a wallet's stream: balance, limit, frozen, closed and the skipped events with their WAL.* codes; " +
    "--verify checks every incoming credit against its source stream",
  usage: "veen wallet show --hub H --client DIR --wallet-id HEX32 [--verify] [--refold]",
  flags: [HUB_FLAG, CLIENT_FLAG, WALLET_ID_FLAG, {
    name: "verify",
    arity: 0,
    help:
      "check every incoming credit against the source wallet's stream (proofs, same bytes, accepted there)",
  }, ...TAIL],
  async run(ctx) {
    const id = walletIdOf(ctx);
    const { state: s, fold } = await walletState(ctx, id);
    const violations = s.violations.map((v) => ({ stream_seq: v.seq, code: v.code }));
    const verify = ctx.flags.bool("verify") ? await verifyCredits(ctx, id) : undefined;
    ctx.out.result(
      {
        wallet_id: toHex(id),
        exists: s.exists,
        balance: s.balance,
        frozen: s.frozen,
        closed: s.closed,
        daily_limit: s.dailyLimit,
        pending_daily_spent: s.pendingDailySpent,
        last_limit_reset_ts: s.lastLimitResetTs,
        institution_pk: s.institutionPk,
        violations,
        ...(verify === undefined ? {} : { verify }),
        fold,
      },
      [
        `wallet_id: ${toHex(id)}`,
        `state: ${!s.exists ? "not open" : s.closed ? "closed" : s.frozen ? "frozen" : "open"}`,
        `balance: ${s.balance}`,
        `daily_limit: ${s.dailyLimit ?? "none"}${
          s.dailyLimit === null ? "" : ` (spent ${s.pendingDailySpent})`
        }`,
        `institution_pk: ${s.institutionPk ?? "none"}`,
        ...violations.map((v) => `violation: stream_seq ${v.stream_seq} ${v.code}`),
        ...(verify === undefined ? [] : [
          `credits verified: ${verify.verified} of ${verify.credits}`,
          ...verify.unverified.map((u) => `unverified credit: stream_seq ${u.stream_seq} ${u.reason}`),
        ]),
      ],
    );
    return 0;
  },
};

/** Every wallet command, in help order. */
export const WALLET_COMMANDS: readonly Command[] = [
  walletId,
  walletOpen,
  walletDeposit,
  walletWithdraw,
  walletTransfer,
  walletAdjust,
  walletLimit,
  walletFreeze,
  walletUnfreeze,
  walletClose,
  walletShow,
  walletBridge,
];
