/**
 * The SDR0 recorder from the CLI (001 L740-970, docs/recorder.md):
 * - `record init`: classifies recorder streams (`record/app|security|infrastructure/*`) with the label class
 *   `long_term` (retention_hint long_term: never dropped) and a sensitivity per namespace, as the admin;
 * - `record emit`: appends one `record.event.v1` as a producer; principal_id is always the producer's own client key
 *   (I3: one principal per VEEN client);
 * - `record replay`: replays one or more recorder streams by seq range or hub_ts window, every item verified against
 *   its RECEIPT (and proof with --with-proof) and the stream's latest CHECKPOINT (I2), events decoded when the
 *   client can open them (also inside AGB0 imports: the origin event of a bridge.import.v1). Any gap, withheld
 *   item or failed check fails the whole replay (exit 4).
 */
import {
  bytesEqual,
  type CborValue,
  type Checkpoint,
  decodeMsg,
  type Msg,
  toHex,
  VeenError,
} from "../../core/mod.ts";
import {
  BRIDGE_IMPORT,
  LABEL_CLASS,
  originMsgBytes,
  RECORD_CLASS,
  RECORD_EVENT,
  RECORD_NAMESPACES,
  recordNamespaceOf,
} from "../../overlays/mod.ts";
import { parseJsonFlag } from "../body.ts";
import { ADMIN_CAP_FLAG, adminDir, publishAdminRecord, REALM_FLAG, SIGNER_FLAG } from "../admin.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  nowSec,
  PASSPHRASE_FLAG,
  POW_FLAGS,
  recipientOf,
  TO_FLAG,
} from "../context.ts";
import { openForClient } from "../decrypt.ts";
import { type HubSession, streamTarget } from "../hub_session.ts";
import { decryptionSecrets } from "../keystore.ts";
import { replayRange } from "../replay.ts";
import { sendAndSave } from "../sender.ts";
import { pinnedSession } from "../overlay_io.ts";
import { usageError } from "../../cmd/mod.ts";
import { readCapAuthRef } from "./send.ts";
import { latestCheckpoint } from "./hub_checkpoint.ts";

const RECORD_STREAMS_FLAG = {
  name: "stream",
  metavar: "NAME",
  required: true,
  multiple: true,
  help: "a recorder stream record/app|security|infrastructure/NAME (repeatable)",
};

/** A recorder stream name, or a usage error naming the namespaces. */
function recorderStream(name: string): keyof typeof RECORD_NAMESPACES {
  const ns = recordNamespaceOf(name);
  if (ns === undefined) {
    throw usageError(
      `"${name}" is not a recorder stream (record/app/*, record/security/*, record/infrastructure/*)`,
    );
  }
  return ns;
}

export const recordInit: Command = {
  path: ["record", "init"],
  summary: "classify recorder streams: label class long_term, sensitivity by namespace (admin)",
  usage: "veen record init --hub H --stream record/NS/NAME... --admin DIR [--realm R] [--cap FILE]",
  details: "Publishes veen.label.class.v1 for each stream: class long_term (SDR0 retention_hint long_term, " +
    "never dropped by\nretention), sensitivity high for record/security/*, medium for record/infrastructure/*, " +
    "low for record/app/*.",
  flags: [
    HUB_FLAG,
    RECORD_STREAMS_FLAG,
    { ...SIGNER_FLAG, name: "admin" },
    REALM_FLAG,
    ADMIN_CAP_FLAG,
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const dir = adminDir(ctx);
    const streams = ctx.flags.list("stream");
    const namespaces = streams.map(recorderStream);
    const session = await pinnedSession(ctx, dir);
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < streams.length; i++) {
      const label = streamTarget(session, streams[i]!).label;
      const sensitivity = RECORD_NAMESPACES[namespaces[i]!];
      const { res } = await publishAdminRecord(ctx, dir, "label_class", LABEL_CLASS, {
        label,
        class: RECORD_CLASS,
        sensitivity,
      });
      out.push({
        stream: streams[i],
        label: toHex(label),
        class: RECORD_CLASS,
        sensitivity,
        record_stream_seq: res.receipt.streamSeq,
      });
    }
    ctx.out.result(
      { streams: out },
      out.map((o) => `${o.stream}: class ${o.class}, sensitivity ${o.sensitivity}`),
    );
    return 0;
  },
};

export const recordEmit: Command = {
  path: ["record", "emit"],
  summary: "append one record.event.v1 to a recorder stream (producer)",
  usage:
    "veen record emit --hub H --client DIR --stream record/NS/NAME --subject-id TEXT --event-type TEXT " +
    "--origin TEXT [--event-time UNIX] [--payload JSON] [--to CARD] [--cap FILE]",
  details:
    "principal_id is the producer's own client key (one principal per VEEN client, SDR0 I3); event_time " +
    "defaults to now.\nSeal to the recorder admin's identity card with --to so that the admin can replay it.",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    {
      ...RECORD_STREAMS_FLAG,
      multiple: false,
      help: "the recorder stream record/app|security|infrastructure/NAME",
    },
    { name: "subject-id", metavar: "TEXT", required: true, help: "stable actor id" },
    { name: "event-type", metavar: "TEXT", required: true, help: "application-defined event type" },
    { name: "origin", metavar: "TEXT", required: true, help: "service or component identifier" },
    { name: "event-time", metavar: "UNIX", help: "application-observed time, Unix seconds (default now)" },
    { name: "payload", metavar: "JSON", help: "structured content (default null); integers only" },
    TO_FLAG,
    { name: "cap", metavar: "FILE", help: "the producer's cap_token for this stream" },
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
    ...POW_FLAGS,
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const stream = ctx.flags.req("stream");
    recorderStream(stream);
    const keys = await loadKeys(ctx, dir);
    const rec = RECORD_EVENT.fromJson({
      subject_id: ctx.flags.req("subject-id"),
      principal_id: toHex(keys.client.public),
      event_type: ctx.flags.req("event-type"),
      event_time: ctx.flags.int("event-time", { min: 0 }) ?? nowSec(ctx),
      origin: ctx.flags.req("origin"),
      payload: parseJsonFlag(ctx.flags.str("payload") ?? "null", "--payload"),
    });
    const capPath = ctx.flags.str("cap");
    const ref = capPath === undefined ? undefined : await readCapAuthRef(capPath);
    const { hpkePk } = await recipientOf(ctx, keys);
    const { res, target } = await sendAndSave(ctx, dir, keys, stream, {
      recipientPk: hpkePk,
      hdr: { schema: RECORD_EVENT.schemaId },
      bodyBytes: RECORD_EVENT.encode(rec),
      ...(ref === undefined ? {} : { authRef: ref }),
    });
    const json = {
      stream,
      label: toHex(target.label),
      stream_seq: res.receipt.streamSeq,
      msg_id: toHex(res.msgId),
      hub_ts: res.receipt.hubTs,
      mmr_root: toHex(res.receipt.mmrRoot),
      principal_id: toHex(keys.client.public),
      event_time: rec.event_time,
    };
    ctx.out.result(json, [
      `stream_seq: ${json.stream_seq}`,
      `msg_id: ${json.msg_id}`,
      `hub_ts: ${json.hub_ts}`,
    ]);
    return 0;
  },
};

/** The latest CHECKPOINT of a stream, or undefined when the hub has none yet. */
async function checkpointOf(
  s: HubSession,
  stream: string,
): Promise<Checkpoint | undefined> {
  try {
    return (await latestCheckpoint(s, stream)).checkpoint;
  } catch (e) {
    if (e instanceof VeenError && e.code === "E.NOT_FOUND") return undefined;
    throw e;
  }
}

/**
 * The event fields of a MSG this client can open: a record.event.v1 (its principal_id must be the sending client,
 * I3, else E.AUTH), or a bridge.import.v1 (AGB0) whose origin MSG is described the same way under `origin` — its
 * RECEIPT was verified at import; `decrypted: false` when the client holds no key for it.
 */
async function describeRecord(
  msg: Msg,
  s: HubSession,
  secrets: Uint8Array[],
  where: string,
): Promise<Record<string, unknown>> {
  const opened = bytesEqual(msg.profileId, s.profileId)
    ? await openForClient(msg, s.profile, secrets)
    : { ok: false as const };
  if (!opened.ok) return { decrypted: false };
  const schema = opened.payload.hdr.schema;
  if (bytesEqual(schema, BRIDGE_IMPORT.schemaId)) {
    const imp = BRIDGE_IMPORT.decode(opened.payload.body);
    const origin = decodeMsg(originMsgBytes(imp));
    return {
      decrypted: true,
      origin: {
        source_hub_id: toHex(imp.source_hub_id as Uint8Array),
        origin_seq: imp.origin_seq,
        bundle_id: toHex(imp.bundle_id as Uint8Array),
        bridge_id: imp.bridge_id,
        import_time: imp.import_time,
        client_id: toHex(origin.clientId),
        ...(await describeRecord(origin, s, secrets, `${where} (origin seq ${imp.origin_seq})`)),
      },
    };
  }
  if (!bytesEqual(schema, RECORD_EVENT.schemaId)) return { decrypted: true, schema: toHex(schema) };
  const ev = RECORD_EVENT.decode(opened.payload.body);
  if (!bytesEqual(ev.principal_id as Uint8Array, msg.clientId)) {
    throw new VeenError(
      "E.AUTH",
      `${where}: principal_id ${toHex(ev.principal_id as Uint8Array)} is not the sending client ` +
        `${toHex(msg.clientId)} (I3)`,
    );
  }
  return { decrypted: true, ...RECORD_EVENT.toJson(ev as Record<string, CborValue>) };
}

/** One replayed event as printed: the RECEIPT's fields and, when the client can open it, the event's. */
interface ReplayedEvent {
  json: Record<string, unknown>;
  hubTs: number;
  order: number;
  seq: number;
}

async function replayStream(
  ctx: CommandContext,
  s: HubSession,
  stream: string,
  order: number,
  secrets: Uint8Array[],
): Promise<{ events: ReplayedEvent[]; checkpoint?: Checkpoint; verified: number }> {
  const label = streamTarget(s, stream).label;
  const checkpoint = await checkpointOf(s, stream);
  const t0 = ctx.flags.int("start-time", { min: 0 });
  const t1 = ctx.flags.int("end-time", { min: 0 });
  const to = ctx.flags.int("to", { min: 1 });
  const withProof = ctx.flags.bool("with-proof");
  const events: ReplayedEvent[] = [];
  let verified = 0;
  const range = {
    from: ctx.flags.int("from", { min: 1 }) ?? 1,
    withProof,
    ...(to === undefined ? {} : { to }),
    ...(checkpoint === undefined ? {} : { checkpoint }),
  };
  for await (const item of replayRange(s, label, range)) {
    verified++;
    const r = item.receipt;
    if ((t0 !== undefined && r.hubTs < t0) || (t1 !== undefined && r.hubTs > t1)) continue;
    const json: Record<string, unknown> = {
      stream,
      hub_commit_seq: r.streamSeq,
      hub_commit_time: r.hubTs,
      msg_id: toHex(r.leafHash),
      client_id: toHex(item.msg.clientId),
      mmr_root: toHex(r.mmrRoot),
      proof: withProof ? "verified" : "not requested",
    };
    Object.assign(json, await describeRecord(item.msg, s, secrets, `${stream} stream_seq ${r.streamSeq}`));
    events.push({ json, hubTs: r.hubTs, order, seq: r.streamSeq });
  }
  return { events, verified, ...(checkpoint === undefined ? {} : { checkpoint }) };
}

export const recordReplay: Command = {
  path: ["record", "replay"],
  summary: "replay recorder streams by seq range or hub_ts window, every item verified (SDR0 I1, I2)",
  usage: "veen record replay --hub H --client DIR --stream NAME... [--from N] [--to N] [--start-time UNIX] " +
    "[--end-time UNIX] [--with-proof]",
  details: "Replays [--from, --to] (default: 1 to the hub's head or its latest CHECKPOINT, whichever is " +
    "further) of each stream,\nverifying every item, chaining the roots and checking the latest CHECKPOINT's " +
    "mmr_root; prints the events whose\nhub_commit_time is in [--start-time, --end-time], ordered by " +
    "hub_commit_time, then stream, then seq. A range the\nhub does not serve in full, a withheld item or a " +
    "failed check fails the whole replay (exit 4).",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    { ...RECORD_STREAMS_FLAG, help: "a stream to replay (repeatable; any stream name works)" },
    { name: "from", metavar: "N", help: "first stream_seq (default 1)" },
    { name: "to", metavar: "N", help: "last stream_seq (default the head)" },
    { name: "start-time", metavar: "UNIX", help: "earliest hub_commit_time (hub_ts) printed" },
    { name: "end-time", metavar: "UNIX", help: "latest hub_commit_time (hub_ts) printed" },
    { name: "with-proof", arity: 0, aliases: ["with-proofs"], help: "verify an inclusion proof per item" },
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const from = ctx.flags.int("from", { min: 1 });
    const to = ctx.flags.int("to", { min: 1 });
    if (from !== undefined && to !== undefined && to < from) {
      throw usageError("--to must not be below --from");
    }
    const t0 = ctx.flags.int("start-time", { min: 0 });
    const t1 = ctx.flags.int("end-time", { min: 0 });
    if (t0 !== undefined && t1 !== undefined && t1 < t0) {
      throw usageError("--end-time must not be before --start-time");
    }
    const keys = await loadKeys(ctx, dir);
    const s = await pinnedSession(ctx, dir);
    const streams = ctx.flags.list("stream");
    const all: ReplayedEvent[] = [];
    const summary: Record<string, unknown>[] = [];
    for (let i = 0; i < streams.length; i++) {
      const r = await replayStream(ctx, s, streams[i]!, i, decryptionSecrets(keys));
      all.push(...r.events);
      summary.push({
        stream: streams[i],
        verified: r.verified,
        events: r.events.length,
        checkpoint_upto_seq: r.checkpoint?.uptoSeq ?? null,
      });
    }
    all.sort((a, b) => a.hubTs - b.hubTs || a.order - b.order || a.seq - b.seq);
    const lines = all.map((e) =>
      `${e.json.stream} ${e.json.hub_commit_seq} ${e.json.hub_commit_time} ` +
      (e.json.event_type === undefined
        ? (e.json.decrypted ? "(other schema)" : "(not decryptable)")
        : `${e.json.event_type} ${e.json.subject_id}`)
    );
    lines.push(...summary.map((x) => `${x.stream}: ${x.verified} verified, ${x.events} in window`));
    ctx.out.result({ events: all.map((e) => e.json), streams: summary }, lines);
    return 0;
  },
};

export const RECORD_COMMANDS: readonly Command[] = [recordInit, recordEmit, recordReplay];
