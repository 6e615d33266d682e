/**
 * `veen rpc call` and `veen rpc serve` (CLI-GOALS-1 §10, CORE-GOALS 1.5; spec 004 §24 RPC0). See docs/overlays.md.
 *
 * call: seals an rpc.v1 request to the server (`--to CARD`, default the client itself) with reply_to = the
 * caller's HPKE public key, submits it, then polls `/stream` from the request's stream_seq, verifying every item,
 * until a reply from the server's client_id with schema rpc.res.v1 and parent_id = the request's msg_id opens.
 * The global `--timeout-ms` is the RPC deadline here (default 5000; also the body's timeout_ms). No reply in time
 * is E.TIME, exit 4; an ok = false reply prints error.code and error.detail and exits 4 with code E.RPC.
 *
 * serve: folds the stream's requests with overlays/rpc_serve.ts (idempotency by (method, client_id, idem)),
 * resuming from its summary in DIR/overlays/, and seals each reply to the request's reply_to. Replies to requests
 * whose deadline has passed are not sent (they still enter the idempotency table).
 */
import {
  bytesEqual,
  type CborValue,
  MAX_TIMER_MS,
  type PayloadHdr,
  toHex,
  VeenError,
} from "../../core/mod.ts";
import {
  BUILTIN_METHODS,
  decodeRpcReply,
  encodeRpcRequest,
  RPC_RES_SCHEMA,
  RPC_SCHEMA,
  type RpcReply,
  rpcReplyExpired,
  rpcServeFold,
  rpcServeStep,
} from "../../overlays/mod.ts";
import { cborToJson, jsonToCbor, parseJsonFlag } from "../body.ts";
import type { ItemContext } from "../client_view.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  PASSPHRASE_FLAG,
  POW_FLAGS,
  recipientOf,
  REFOLD_FLAG,
  STREAM_FLAG,
  TO_FLAG,
} from "../context.ts";
import { openForClient } from "../decrypt.ts";
import { checkFailure, CommandError } from "../../cmd/mod.ts";
import { itemContext, streamTarget } from "../hub_session.ts";
import { type ClientKeys, decryptionSecrets } from "../keystore.ts";
import { OverlayCursor } from "../overlay_cursor.ts";
import { pinnedSession, saveView } from "../overlay_io.ts";
import { sendAndSave } from "../sender.ts";
import { applyItem, fetchItems } from "../view_sync.ts";

/** RPC deadline when `--timeout-ms` is not given (CLI-GOALS-1 §10.1 example). */
export const DEFAULT_RPC_TIMEOUT_MS = 5000;

/** The reply's printed form: result JSON on success, the error report otherwise (exit 4, E.RPC). */
export function printReply(
  ctx: Parameters<Command["run"]>[0],
  reply: RpcReply,
  json: Record<string, unknown>,
): number {
  if (reply.ok) {
    const result = cborToJson(reply.result);
    ctx.out.result({ ...json, result }, [JSON.stringify(result)]);
    return 0;
  }
  const { code, detail } = reply.error;
  throw new CommandError("check", `${code}${detail === undefined ? "" : `: ${detail}`}`, {
    code: "E.RPC",
    report: {
      lines: [`error.code: ${code}`, ...(detail === undefined ? [] : [`error.detail: ${detail}`])],
      json: { ...json, error: { code, ...(detail === undefined ? {} : { detail }) } },
    },
  });
}

export const rpcCall: Command = {
  path: ["rpc", "call"],
  summary: "send an RPC request (rpc.v1), wait for its verified reply (--timeout-ms: deadline, default 5000)",
  usage:
    "veen rpc call --hub H --client DIR --stream NAME --method M [--args JSON] [--timeout-ms N] [--idem N] [--to CARD] [--pow-challenge HEX32 [--pow-nonce N]] [--pow-difficulty D]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    STREAM_FLAG,
    { name: "method", metavar: "NAME", required: true, help: "method name" },
    { name: "args", metavar: "JSON", help: "arguments as JSON, sent as CBOR (default null)" },
    {
      name: "idem",
      metavar: "N",
      help: "idempotency key (the server answers a repeat without re-executing)",
    },
    { name: "poll-ms", metavar: "N", help: "polling interval while waiting (default 100)" },
    { ...TO_FLAG, help: "the server's identity card (file or client dir); default: this client" },
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
    ...POW_FLAGS,
  ],
  async run(ctx) {
    const timeoutMs = ctx.flags.bool("timeout-ms") ? ctx.timeoutMs : DEFAULT_RPC_TIMEOUT_MS;
    const dir = clientDir(ctx);
    const keys = await loadKeys(ctx, dir);
    const idem = ctx.flags.int("idem");
    const { reply, json } = await rpcRoundTrip(ctx, dir, keys, await recipientOf(ctx, keys), {
      stream: ctx.flags.req("stream"),
      method: ctx.flags.req("method"),
      args: jsonToCbor(parseJsonFlag(ctx.flags.str("args") ?? "null", "--args"), "--args"),
      timeoutMs,
      pollMs: ctx.flags.int("poll-ms", { min: 1, max: MAX_TIMER_MS }) ?? 100,
      ...(idem === undefined ? {} : { idem }),
    });
    return printReply(ctx, reply, json);
  },
};

/** What one RPC call sends. */
export interface RpcCallParams {
  stream: string;
  method: string;
  args: CborValue;
  timeoutMs: number;
  pollMs: number;
  idem?: number;
  /** auth_ref of an authorized capability (MSG.auth_ref), when admission needs one. */
  authRef?: Uint8Array;
}

/**
 * Sends an rpc.v1 request sealed to `server` on the hub of ctx's `--hub` and waits for its verified reply (see the
 * module comment); E.TIME when none arrives in time. Returns the reply and the fields every caller reports.
 */
export async function rpcRoundTrip(
  ctx: CommandContext,
  dir: string,
  keys: ClientKeys,
  server: { hpkePk: Uint8Array; clientId: Uint8Array },
  p: RpcCallParams,
): Promise<{ reply: RpcReply; json: Record<string, unknown> }> {
  const { stream, method, timeoutMs, pollMs } = p;
  const deadline = ctx.io.now() + timeoutMs;
  const bodyBytes = encodeRpcRequest({
    method,
    args: p.args,
    timeoutMs,
    replyTo: keys.prekey.public,
    ...(p.idem === undefined ? {} : { idem: p.idem }),
  });
  const hdr: PayloadHdr = { schema: RPC_SCHEMA };
  const { res, session, target } = await sendAndSave(ctx, dir, keys, stream, {
    hdr,
    bodyBytes,
    recipientPk: server.hpkePk,
    ...(p.authRef === undefined ? {} : { authRef: p.authRef }),
  });
  const msgId = res.msgId;
  const json: Record<string, unknown> = {
    stream,
    method,
    msg_id: toHex(msgId),
    request_seq: res.receipt.streamSeq,
  };
  ctx.out.debug(`request stream_seq ${res.receipt.streamSeq} msg_id ${toHex(msgId)}`);

  const view = res.view;
  const ictx: ItemContext = itemContext(session, target.label);
  const secrets = decryptionSecrets(keys);
  let found: { reply: RpcReply; seq: number; msgId: Uint8Array } | undefined;
  let poisoned = false; // a failed check leaves the rejected leaf in the view: never save it then
  try {
    while (found === undefined) {
      for await (const item of fetchItems(session.http, target.label, view.size + 1, { withProof: true })) {
        try {
          applyItem(view, item, ictx);
        } catch (e) {
          poisoned = true;
          throw e;
        }
        if (!bytesEqual(item.msg.clientId, server.clientId)) continue;
        const opened = await openForClient(item.msg, session.profile, secrets);
        if (!opened.ok) continue;
        const h = opened.payload.hdr;
        if (
          !bytesEqual(h.schema, RPC_RES_SCHEMA) || h.parentId === undefined ||
          !bytesEqual(h.parentId, msgId)
        ) {
          continue;
        }
        found = {
          reply: decodeRpcReply(opened.payload.body),
          seq: item.receipt.streamSeq,
          msgId: item.receipt.leafHash,
        };
        break;
      }
      if (found !== undefined) break;
      const left = deadline - ctx.io.now();
      if (left <= 0) {
        throw checkFailure(
          new VeenError("E.TIME", `No reply to ${method} request ${toHex(msgId)} within ${timeoutMs} ms`),
          { lines: [`msg_id: ${toHex(msgId)}`, `request_seq: ${res.receipt.streamSeq}`], json },
        );
      }
      await ctx.io.sleep(Math.min(pollMs, left));
    }
  } finally {
    if (!poisoned) await saveView(ctx, dir, session, target, keys.client.public, view);
  }
  return { reply: found.reply, json: { ...json, reply_seq: found.seq, reply_msg_id: toHex(found.msgId) } };
}

export const rpcServe: Command = {
  path: ["rpc", "serve"],
  summary: "answer RPC requests on a stream with the built-in methods add and echo",
  usage:
    "veen rpc serve --hub H --client DIR --stream NAME [--once] [--max-requests N] [--poll-ms N] [--for-ms N]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    STREAM_FLAG,
    { name: "once", arity: 0, help: "answer what is on the stream now, then exit" },
    { name: "max-requests", metavar: "N", help: "exit after answering N requests" },
    { name: "poll-ms", metavar: "N", help: "polling interval (default 500)" },
    { name: "for-ms", metavar: "N", help: "exit after N milliseconds" },
    REFOLD_FLAG,
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
    ...POW_FLAGS,
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const stream = ctx.flags.req("stream");
    const once = ctx.flags.bool("once");
    const maxRequests = ctx.flags.int("max-requests", { min: 1 });
    const pollMs = ctx.flags.int("poll-ms", { min: 1, max: MAX_TIMER_MS }) ?? 500;
    const forMs = ctx.flags.int("for-ms", { min: 1 });
    const end = forMs === undefined ? Infinity : ctx.io.now() + forMs;
    const keys = await loadKeys(ctx, dir);
    const session = await pinnedSession(ctx, dir);
    const target = streamTarget(session, stream);
    const cursor = await OverlayCursor.open({
      session,
      target,
      dir,
      secrets: decryptionSecrets(keys),
      fold: rpcServeFold(BUILTIN_METHODS),
      refold: ctx.flags.bool("refold"),
      warn: (m) => ctx.out.warn(m),
    });
    const run = {
      handled: 0,
      executed: 0,
      deduplicated: 0,
      sent: 0,
      expired: 0,
      unanswerable: 0,
      rejected: 0,
    };
    let stop = false;
    while (!stop) {
      for await (const e of cursor.entries()) {
        const step = rpcServeStep(cursor.state, e, BUILTIN_METHODS);
        if (step.kind === "ignored") continue;
        if (step.kind === "rejected") {
          run.rejected++;
          ctx.out.warn(`stream_seq ${e.seq}: not an rpc.v1 request (${step.reason})`);
          continue;
        }
        run.handled++;
        run[step.executed ? "executed" : "deduplicated"]++;
        const req = step.request;
        let answered: string;
        let replySeq: number | undefined;
        if (req.replyTo === undefined) {
          answered = "no reply_to";
          run.unanswerable++;
        } else if (rpcReplyExpired(e.hubTs, req.timeoutMs, ctx.io.now())) {
          answered = "expired";
          run.expired++;
        } else {
          const { res } = await sendAndSave(ctx, dir, keys, stream, {
            hdr: { schema: RPC_RES_SCHEMA, parentId: e.msgId },
            bodyBytes: step.replyBytes,
            recipientPk: req.replyTo,
          });
          answered = "sent";
          replySeq = res.receipt.streamSeq;
          run.sent++;
        }
        await cursor.save();
        const ok = step.reply.ok;
        ctx.out.item(
          {
            stream_seq: e.seq,
            msg_id: toHex(e.msgId),
            client_id: toHex(e.clientId),
            method: req.method,
            ...(req.idem === undefined ? {} : { idem: req.idem }),
            reply_ok: ok,
            ...(ok ? {} : { error: step.reply.error.code }),
            executed: step.executed,
            answered,
            ...(replySeq === undefined ? {} : { reply_seq: replySeq }),
          },
          [
            `stream_seq ${e.seq}: ${req.method} from ${toHex(e.clientId).slice(0, 16)}: ${
              ok ? "ok" : step.reply.error.code
            } (${step.executed ? "executed" : "from idempotency table"}), ${
              replySeq === undefined ? answered : `reply stream_seq ${replySeq}`
            }`,
          ],
        );
        if (maxRequests !== undefined && run.handled >= maxRequests) {
          stop = true;
          break;
        }
      }
      await cursor.save();
      if (stop || once) break;
      const left = end - ctx.io.now();
      if (left <= 0) break;
      await ctx.io.sleep(Math.min(pollMs, left));
    }
    await saveView(ctx, dir, session, target, keys.client.public, cursor.view);
    const lines = Object.entries(run).map(([k, v]) => `${k}: ${v}`);
    lines.push(`upto_seq: ${cursor.view.size}`);
    ctx.out.result({ ...run, fold: cursor.stats() }, lines);
    return 0;
  },
};
