/**
 * `veen send` (CLI-GOALS-1 §5.1, §6.1, §7.3; CORE-GOALS 1.1-1.2 `send-with-attachment` as an alias).
 * Seals the JSON body to the client itself (or to `--to CARD`), signs, uploads attachments, submits, verifies the
 * RECEIPT against the MSG and the local MMR view, and saves client_seq/prev_ack/view atomically.
 */
import { basename } from "node:path";
import { authRef, decodeCapToken, fromHex, type PayloadHdr, schemaIdFor, toHex } from "../../core/mod.ts";
import { parseHex32, parseUint, usageError } from "../../cmd/mod.ts";
import { OVERLAY_BODY_CODECS } from "../../overlays/mod.ts";
import { describeAttachments, parseJsonFlag } from "../body.ts";
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
  STREAM_FLAG,
  TO_FLAG,
} from "../context.ts";
import { readInputFile, writeOutputFile } from "../files.ts";
import { type OutgoingAttachment, sendAndSave } from "../sender.ts";
import { sendBatch } from "./send_batch.ts";

/** Default payload_hdr.schema of CLI JSON bodies. */
export const DEFAULT_SCHEMA_NAME = "veen.cli.json.v1";

/** `--schema`: 64 hex characters, or a schema name mapped through schema-id. */
export function parseSchema(s: string | undefined): Uint8Array {
  if (s === undefined) return schemaIdFor(DEFAULT_SCHEMA_NAME);
  if (/^[0-9a-fA-F]{64}$/.test(s)) return fromHex(s, 32, "--schema");
  if (s === "") throw usageError("--schema must not be empty");
  return schemaIdFor(s);
}

/** Reads a cap_token file; returns its auth_ref (also the payload's cap_ref). */
export async function readCapAuthRef(path: string): Promise<Uint8Array> {
  return authRef(decodeCapToken(await readInputFile(path, "cap_token")));
}

/** payload_hdr fields from flags (schema, parent_id, expires_at). */
export function hdrFromFlags(ctx: CommandContext): PayloadHdr {
  const hdr: PayloadHdr = { schema: parseSchema(ctx.flags.str("schema")) };
  const parent = ctx.flags.str("parent");
  if (parent !== undefined) hdr.parentId = parseHex32(parent, "--parent");
  const exp = ctx.flags.str("expires-at");
  if (exp !== undefined) hdr.expiresAt = parseUint(exp, "--expires-at");
  return hdr;
}

/** `--body-json` of an overlay schema with a codec (overlays/mod.ts OVERLAY_BODY_CODECS): its body bytes. */
function overlayBodyFromFlags(ctx: CommandContext): Uint8Array | undefined {
  const text = ctx.flags.str("body-json");
  if (text === undefined) return undefined;
  const name = ctx.flags.str("schema");
  const codec = OVERLAY_BODY_CODECS.find((c) => c.name === name);
  if (codec === undefined) {
    throw usageError(
      `--body-json needs --schema naming an overlay schema (${
        OVERLAY_BODY_CODECS.map((c) => c.name).join(", ")
      })`,
    );
  }
  return codec.encode(codec.fromJson(parseJsonFlag(text, "--body-json")));
}

export const send: Command = {
  path: ["send"],
  aliases: [["send-with-attachment"]],
  summary: "seal, sign and submit a message; verify its RECEIPT",
  usage:
    "veen send --hub H --client DIR --stream NAME (--body JSON [--attach FILE]... [--to CARD] [--dump-raw MSG RECEIPT] | --batch FILE|-) [--cap FILE] [--profile-id HEX32] [--pow-challenge HEX32 [--pow-nonce N]] [--pow-difficulty D]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    STREAM_FLAG,
    { name: "body", metavar: "JSON", help: "JSON body (required unless attachments are given; then {})" },
    {
      name: "batch",
      metavar: "FILE|-",
      help: "send every line of FILE (or stdin) as one JSON body through POST /submit_batch",
    },
    {
      name: "body-json",
      metavar: "JSON",
      help: "an overlay body (--schema names it, e.g. record.event.v1) as JSON, encoded per its schema",
    },
    {
      name: "schema",
      metavar: "HEX32|NAME",
      help: `payload_hdr.schema (default: schema-id ${DEFAULT_SCHEMA_NAME})`,
    },
    { name: "parent", metavar: "HEX32", help: "payload_hdr.parent_id (a msg_id)" },
    { name: "expires-at", metavar: "UNIX_SEC", help: "payload_hdr.expires_at" },
    { name: "cap", metavar: "FILE", help: "cap_token (sets MSG.auth_ref and payload_hdr.cap_ref)" },
    { name: "attach", metavar: "FILE", multiple: true, aliases: ["file"], help: "attachment file" },
    TO_FLAG,
    {
      name: "dump-raw",
      arity: 2,
      metavar: "MSG.cbor RECEIPT.cbor",
      help: "write the exact MSG and RECEIPT bytes",
    },
    {
      name: "no-store-body",
      arity: 0,
      help: "accepted for CLI-GOALS compatibility: the client never stores bodies",
    },
    HUB_KEY_FLAG,
    {
      name: "profile-id",
      metavar: "HEX32",
      help: "refuse (E.PROFILE) unless the hub serves this profile_id (CLI-GOALS-3 §3.2, kube job send)",
    },
    PASSPHRASE_FLAG,
    ...POW_FLAGS,
  ],
  async run(ctx) {
    const batch = ctx.flags.str("batch");
    if (batch !== undefined) return await sendBatch(ctx, batch);
    const dir = clientDir(ctx);
    const stream = ctx.flags.req("stream");
    const attachPaths = ctx.flags.list("attach");
    const overlayBody = overlayBodyFromFlags(ctx);
    if (overlayBody !== undefined && (ctx.flags.bool("body") || attachPaths.length > 0)) {
      throw usageError("--body-json cannot be combined with --body or --attach");
    }
    const bodyText = ctx.flags.str("body") ??
      (attachPaths.length > 0 || overlayBody !== undefined ? "{}" : undefined);
    if (bodyText === undefined) throw usageError("Missing required flag --body");
    const body = parseJsonFlag(bodyText, "--body");
    const hdr = hdrFromFlags(ctx);
    const attachments: OutgoingAttachment[] = [];
    for (const p of attachPaths) {
      attachments.push({ name: basename(p), bytes: await readInputFile(p, "attachment") });
    }
    const capPath = ctx.flags.str("cap");
    const ref = capPath === undefined ? undefined : await readCapAuthRef(capPath);
    const keys = await loadKeys(ctx, dir);
    const { hpkePk: recipientPk } = await recipientOf(ctx, keys);
    const dump = ctx.flags.pair("dump-raw");
    const { res, target } = await sendAndSave(ctx, dir, keys, stream, {
      recipientPk,
      hdr,
      body,
      attachments,
      ...(overlayBody === undefined ? {} : { bodyBytes: overlayBody }),
      ...(ref === undefined ? {} : { authRef: ref }),
    });
    if (dump !== undefined) {
      await writeOutputFile(dump[0], res.msgBytes, "--dump-raw MSG file");
      await writeOutputFile(dump[1], res.receiptBytes, "--dump-raw RECEIPT file");
    }
    const lines = [`stream_seq: ${res.receipt.streamSeq}`, `msg_id: ${toHex(res.msgId)}`];
    if (ctx.out.mode.verbose) {
      lines.push(
        `label: ${toHex(target.label)}`,
        `client_seq: ${res.msg.clientSeq}`,
        `mmr_root: ${toHex(res.receipt.mmrRoot)}`,
      );
    }
    const sent = describeAttachments(res.attachments);
    lines.push(...sent.lines);
    ctx.out.result(
      {
        stream,
        label: toHex(target.label),
        stream_seq: res.receipt.streamSeq,
        msg_id: toHex(res.msgId),
        client_id: toHex(res.msg.clientId),
        client_seq: res.msg.clientSeq,
        prev_ack: res.msg.prevAck,
        mmr_root: toHex(res.receipt.mmrRoot),
        hub_ts: res.receipt.hubTs,
        attachments: sent.json,
      },
      lines,
    );
    return 0;
  },
};
