/**
 * `veen crdt lww|orset|counter ...` (CLI-GOALS-1 §11, CORE-GOALS 1.6 `crdt-lww` etc. as aliases; spec 004 §25).
 *
 * Every mutation is one sealed message on the stream (to the client itself, or `--to CARD`). Every read is the
 * deterministic fold of overlays/ over the verified stream, resumed from the client's summary in
 * `DIR/overlays/` (see overlay_cursor.ts): only items after the summary's upto_seq are fetched.
 *
 * Keys, values and elements are the UTF-8 bytes of the flag text; bytes that are not UTF-8 print as `0x<hex>`.
 */
import { defaultRandom, type PayloadHdr, toHex, utf8 } from "../../core/mod.ts";
import {
  counterFold,
  counterTotal,
  encodeCounterOp,
  encodeLwwOp,
  encodeOrSetAdd,
  encodeOrSetRemove,
  type Fold,
  GCNT_SCHEMA,
  LWW_SCHEMA,
  lwwFold,
  lwwGet,
  ORSET_SCHEMA,
  orsetElements,
  orsetFold,
  orsetObservedIds,
  type OverlayEntry,
} from "../../overlays/mod.ts";
import { type FlagSpec, parseHex32 } from "../../cmd/mod.ts";
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
import { type HubSession, streamTarget } from "../hub_session.ts";
import { type ClientKeys, decryptionSecrets } from "../keystore.ts";
import { OverlayCursor } from "../overlay_cursor.ts";
import { pinnedSession } from "../overlay_io.ts";
import { sendAndSave } from "../sender.ts";

const COMMON: FlagSpec[] = [HUB_FLAG, CLIENT_FLAG, STREAM_FLAG];
const TAIL: FlagSpec[] = [HUB_KEY_FLAG, PASSPHRASE_FLAG];
export const WRITE_TAIL: FlagSpec[] = [TO_FLAG, ...TAIL, ...POW_FLAGS];
export const READ_TAIL: FlagSpec[] = [REFOLD_FLAG, ...TAIL];

/** Bytes for display: the UTF-8 text, or `0x<hex>` when they are not UTF-8. */
export function showBytes(b: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    return `0x${toHex(b)}`;
  }
}

/**
 * Sends one overlay operation on `stream` (default `--stream`) and prints where it landed; `loaded` are the client's
 * keys when already read.
 */
export async function writeOp(
  ctx: CommandContext,
  schema: Uint8Array,
  body: Uint8Array | ((keys: ClientKeys) => Uint8Array),
  json: Record<string, unknown>,
  lines: string[],
  loaded?: ClientKeys,
  stream: string = ctx.flags.req("stream"),
): Promise<number> {
  const dir = clientDir(ctx);
  const keys = loaded ?? await loadKeys(ctx, dir);
  const to = await recipientOf(ctx, keys);
  const bodyBytes = typeof body === "function" ? body(keys) : body;
  const hdr: PayloadHdr = { schema };
  const { res, target } = await sendAndSave(ctx, dir, keys, stream, {
    hdr,
    bodyBytes,
    recipientPk: to.hpkePk,
  });
  ctx.out.result(
    {
      stream,
      label: toHex(target.label),
      stream_seq: res.receipt.streamSeq,
      msg_id: toHex(res.msgId),
      ...json,
    },
    [`stream_seq: ${res.receipt.streamSeq}`, `msg_id: ${toHex(res.msgId)}`, ...lines],
  );
  return 0;
}

/** A fold and what to fetch before each entry is applied (so that its apply reads lookups already filled). */
export interface FetchingFold<S> {
  fold: Fold<S>;
  before?: (e: OverlayEntry) => Promise<void>;
}

/**
 * Brings the fold of `fold` on `stream` (default `--stream`) up to the hub's last item, verifying every item as
 * `stream --with-proof` does; returns the cursor and the client's keys. `fold` may be built from the hub session
 * (a fold whose lookups are fetched from that hub, `FetchingFold`).
 */
export async function readFold<S>(
  ctx: CommandContext,
  fold: Fold<S> | ((session: HubSession) => FetchingFold<S>),
  stream: string = ctx.flags.req("stream"),
): Promise<{ cursor: OverlayCursor<S>; keys: ClientKeys }> {
  const dir = clientDir(ctx);
  const keys = await loadKeys(ctx, dir);
  const session = await pinnedSession(ctx, dir);
  const f = typeof fold === "function" ? fold(session) : { fold };
  const target = streamTarget(session, stream);
  const cursor = await OverlayCursor.open({
    session,
    target,
    dir,
    secrets: decryptionSecrets(keys),
    fold: f.fold,
    refold: ctx.flags.bool("refold"),
    warn: (m) => ctx.out.warn(m),
    ...(f.before === undefined ? {} : { before: f.before }),
  });
  const counts = await cursor.catchUp();
  const st = cursor.stats();
  ctx.out.debug(
    `fold ${f.fold.kind}: upto_seq ${st.upto_seq}, resumed from ${st.resumed_from}, fetched ${st.fetched}, ` +
      `applied ${counts.applied}, rejected ${counts.rejected}, opaque ${st.opaque}`,
  );
  return { cursor, keys };
}

export function foldJson(c: OverlayCursor<unknown>): Record<string, unknown> {
  return { fold: c.stats() };
}

export const crdtLwwSet: Command = {
  path: ["crdt", "lww", "set"],
  aliases: [["crdt-lww", "set"]],
  summary: "write an LWW register (crdt.lww.v1)",
  usage: "veen crdt lww set --hub H --client DIR --stream NAME --key KEY --value VALUE [--ts N] [--to CARD]",
  flags: [
    ...COMMON,
    { name: "key", metavar: "KEY", required: true, help: "register key (UTF-8)" },
    { name: "value", metavar: "VALUE", required: true, help: "value (UTF-8)" },
    { name: "ts", metavar: "N", help: "timestamp of the write (default: Unix milliseconds now)" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const key = ctx.flags.req("key", { allowEmpty: true });
    const value = ctx.flags.req("value", { allowEmpty: true });
    const ts = ctx.flags.int("ts") ?? ctx.io.now();
    return await writeOp(
      ctx,
      LWW_SCHEMA,
      encodeLwwOp({ key: utf8(key), ts, value: utf8(value) }),
      { key, value, ts },
      [`ts: ${ts}`],
    );
  },
};

export const crdtLwwGet: Command = {
  path: ["crdt", "lww", "get"],
  aliases: [["crdt-lww", "get"]],
  summary: "read an LWW register: the write greatest in (ts, stream_seq), or unset",
  usage: "veen crdt lww get --hub H --client DIR --stream NAME --key KEY [--refold]",
  flags: [
    ...COMMON,
    { name: "key", metavar: "KEY", required: true, help: "register key (UTF-8)" },
    ...READ_TAIL,
  ],
  async run(ctx) {
    const key = ctx.flags.req("key", { allowEmpty: true });
    const { cursor } = await readFold(ctx, lwwFold);
    const cell = lwwGet(cursor.state, utf8(key));
    if (cell === undefined) {
      ctx.out.result({ key, set: false, value: null, ...foldJson(cursor) }, ["unset"]);
    } else {
      const value = showBytes(cell.value);
      ctx.out.result(
        { key, set: true, value, ts: cell.ts, stream_seq: cell.seq, ...foldJson(cursor) },
        [value],
      );
    }
    return 0;
  },
};

export const crdtOrsetAdd: Command = {
  path: ["crdt", "orset", "add"],
  aliases: [["crdt-orset", "add"]],
  summary: "add an element to an OR-set (crdt.orset.v1) under a fresh 32-byte id",
  usage: "veen crdt orset add --hub H --client DIR --stream NAME --elem ELEM [--id HEX32] [--to CARD]",
  flags: [
    ...COMMON,
    { name: "elem", metavar: "ELEM", required: true, help: "element (UTF-8)" },
    { name: "id", metavar: "HEX32", help: "add id (default: 32 random bytes)" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const elem = ctx.flags.req("elem", { allowEmpty: true });
    const idFlag = ctx.flags.str("id");
    const id = idFlag === undefined ? defaultRandom(32) : parseHex32(idFlag, "--id");
    return await writeOp(ctx, ORSET_SCHEMA, encodeOrSetAdd(id, utf8(elem)), { elem, id: toHex(id) }, [
      `id: ${toHex(id)}`,
    ]);
  },
};

export const crdtOrsetRemove: Command = {
  path: ["crdt", "orset", "remove"],
  aliases: [["crdt-orset", "remove"]],
  summary: "remove an element from an OR-set: tombstone every add id of it observed so far",
  usage: "veen crdt orset remove --hub H --client DIR --stream NAME --elem ELEM [--to CARD]",
  flags: [
    ...COMMON,
    { name: "elem", metavar: "ELEM", required: true, help: "element (UTF-8)" },
    REFOLD_FLAG,
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const elem = ctx.flags.req("elem", { allowEmpty: true });
    const { cursor, keys } = await readFold(ctx, orsetFold);
    const ids = orsetObservedIds(cursor.state, utf8(elem));
    if (ids.length === 0) {
      ctx.out.result({ elem, removed: 0, sent: false, ...foldJson(cursor) }, [
        `not present: ${elem} (nothing sent)`,
      ]);
      return 0;
    }
    return await writeOp(
      ctx,
      ORSET_SCHEMA,
      encodeOrSetRemove(ids),
      { elem, removed: ids.length, sent: true, tomb: ids.map(toHex) },
      [`tombstoned: ${ids.length}`],
      keys,
    );
  },
};

export const crdtOrsetList: Command = {
  path: ["crdt", "orset", "list"],
  aliases: [["crdt-orset", "list"]],
  summary: "list an OR-set's elements (sorted by bytes, one per line)",
  usage: "veen crdt orset list --hub H --client DIR --stream NAME [--refold]",
  flags: [...COMMON, ...READ_TAIL],
  async run(ctx) {
    const { cursor } = await readFold(ctx, orsetFold);
    const elements = orsetElements(cursor.state).map(showBytes);
    ctx.out.result({ elements, ...foldJson(cursor) }, elements);
    return 0;
  },
};

export const crdtCounterAdd: Command = {
  path: ["crdt", "counter", "add"],
  aliases: [["crdt-counter", "add"]],
  summary: "add to a G-counter (crdt.gcnt.v1) in this client's shard",
  usage: "veen crdt counter add --hub H --client DIR --stream NAME --delta N [--to CARD]",
  flags: [
    ...COMMON,
    { name: "delta", metavar: "N", required: true, help: "non-negative increment" },
    ...WRITE_TAIL,
  ],
  async run(ctx) {
    const delta = ctx.flags.int("delta")!;
    return await writeOp(
      ctx,
      GCNT_SCHEMA,
      (keys) => encodeCounterOp({ shard: keys.client.public, delta }),
      { delta },
      [`delta: ${delta}`],
    );
  },
};

export const crdtCounterGet: Command = {
  path: ["crdt", "counter", "get"],
  aliases: [["crdt-counter", "get"]],
  summary: "read a G-counter: the sum of all shards' deltas",
  usage: "veen crdt counter get --hub H --client DIR --stream NAME [--refold]",
  flags: [...COMMON, ...READ_TAIL],
  async run(ctx) {
    const { cursor } = await readFold(ctx, counterFold);
    const total = counterTotal(cursor.state);
    const shards = Object.fromEntries([...cursor.state].map(([k, v]) => [k, v.toString()]));
    ctx.out.result({ value: total.toString(), shards, ...foldJson(cursor) }, [total.toString()]);
    return 0;
  },
};

/** Every crdt command, in help order. */
export const CRDT_COMMANDS: readonly Command[] = [
  crdtLwwSet,
  crdtLwwGet,
  crdtOrsetAdd,
  crdtOrsetRemove,
  crdtOrsetList,
  crdtCounterAdd,
  crdtCounterGet,
];
