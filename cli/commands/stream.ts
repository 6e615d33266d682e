/**
 * `veen stream` (CLI-GOALS-1 §5.2): fetches pages from `--from` until a page is empty (or `--to`), verifies every
 * item (hub_sig, MSG checks, leaf binding, the proof against the item's own RECEIPT root with `--with-proof`,
 * contiguity, and the MMR root by appending to the client's view; items the client has verified before are
 * replayed and must form a prefix of its stored view), decrypts what this client can open, and prints each item.
 * `--follow` keeps polling. The advanced view is merged into state.json after each polling pass.
 * With `--to` the range is exact (SDR0 replay by range, 001 L905-909): a hub that serves less than `--from..--to` is
 * an error (E.NOT_FOUND), never a shorter answer. `--start-time`/`--end-time` print only items whose hub_ts is in
 * that window (SDR0 replay by time window); every item of the range is still verified.
 */
import { basename } from "node:path";
import {
  attRoot,
  bytesEqual,
  coidOf,
  MAX_TIMER_MS,
  MmrAccumulator,
  type PayloadHdr,
  toHex,
  VeenError,
} from "../../core/mod.ts";
import { type AttachmentEntry, decodeBody, describeAttachments } from "../body.ts";
import {
  checkedViewOf,
  type ClientState,
  labelStateFor,
  readState,
  setView,
  withStateLock,
  writeState,
} from "../client_state.ts";
import { appendChecked, checkItem, checkItemProof, type ItemContext } from "../client_view.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  nowSec,
  openLabel,
  PASSPHRASE_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { openForClient, type OpenResult } from "../decrypt.ts";
import { ensurePrivateDir, writeFileAtomic } from "../files.ts";
import { usageError } from "../../cmd/mod.ts";
import { type HubSession, itemContext, type StreamTarget } from "../hub_session.ts";
import type { StreamItem } from "../http_client.ts";
import { decryptionSecrets } from "../keystore.ts";
import { extendView, fetchItems, jumpView, provesPrefix } from "../view_sync.ts";

/** JSON and text lines of a payload header. */
export function describeHdr(hdr: PayloadHdr): { json: Record<string, unknown>; lines: string[] } {
  const json: Record<string, unknown> = { schema: toHex(hdr.schema) };
  const lines = [`schema: ${toHex(hdr.schema)}`];
  const add = (k: string, v: string | number | undefined) => {
    if (v === undefined) return;
    json[k] = v;
    lines.push(`${k}: ${v}`);
  };
  add("parent_id", hdr.parentId && toHex(hdr.parentId));
  add("att_root", hdr.attRoot && toHex(hdr.attRoot));
  add("cap_ref", hdr.capRef && toHex(hdr.capRef));
  add("expires_at", hdr.expiresAt);
  return { json, lines };
}

function safeName(name: string): string {
  const b = basename(name).replace(/[^A-Za-z0-9._-]/g, "_");
  return b === "" || b === "." || b === ".." ? "attachment" : b;
}

/** Fetches, checks (coid and att_root) and decrypts attachments into `dir`; returns the written paths. */
async function saveAttachments(
  session: HubSession,
  seq: number,
  opened: Extract<OpenResult, { ok: true }>["payload"],
  entries: AttachmentEntry[],
  dir: string,
): Promise<string[]> {
  const root = opened.hdr.attRoot;
  if (root === undefined || entries.length === 0 || !bytesEqual(attRoot(entries.map((e) => e.coid)), root)) {
    throw new VeenError(
      "E.SIG",
      `Attachment list of stream_seq ${seq} does not match payload_hdr.att_root (I5)`,
    );
  }
  await ensurePrivateDir(dir);
  const paths: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const c = await session.http.getAttachment(e.coid);
    if (!bytesEqual(coidOf(c), e.coid)) {
      throw new VeenError("E.SIG", `Hub served attachment ${toHex(e.coid)} with other bytes`);
    }
    const path = `${dir}/${seq}-${i}-${safeName(e.name)}`;
    await writeFileAtomic(path, await opened.openAttachment(i, c), 0o600);
    paths.push(path);
  }
  return paths;
}

/** The printed form of one verified item. */
async function renderItem(
  ctx: CommandContext,
  session: HubSession,
  item: StreamItem,
  opened: OpenResult,
  proof: "verified" | "not requested",
): Promise<{ json: Record<string, unknown>; lines: string[] }> {
  const r = item.receipt;
  const m = item.msg;
  const json: Record<string, unknown> = {
    stream_seq: r.streamSeq,
    msg_id: toHex(r.leafHash),
    client_id: toHex(m.clientId),
    client_seq: m.clientSeq,
    prev_ack: m.prevAck,
    auth_ref: m.authRef === null ? null : toHex(m.authRef),
    hub_ts: r.hubTs,
    mmr_root: toHex(r.mmrRoot),
    proof,
    decrypted: opened.ok,
  };
  const lines = [
    `stream_seq: ${r.streamSeq}`,
    `msg_id: ${toHex(r.leafHash)}`,
    `client_id: ${toHex(m.clientId)}`,
    `client_seq: ${m.clientSeq}`,
    `hub_ts: ${r.hubTs}`,
    `proof: ${proof}`,
  ];
  if (!opened.ok) {
    json.payload = opened.reason;
    lines.push(`payload: ${opened.reason}`);
  } else {
    const hdr = describeHdr(opened.payload.hdr);
    json.payload_hdr = hdr.json;
    lines.push(...hdr.lines);
    const body = decodeBody(opened.payload.body, opened.payload.hdr.attRoot !== undefined);
    if (body.rawHex !== undefined) {
      json.body_hex = body.rawHex;
      lines.push(`body_hex: ${body.rawHex}`);
    } else {
      json.body = body.json;
      lines.push(`body: ${JSON.stringify(body.json)}`);
    }
    const attachments = describeAttachments(body.attachments);
    json.attachments = attachments.json;
    lines.push(...attachments.lines);
    const saveDir = ctx.flags.str("save-attachments");
    if (saveDir !== undefined && body.attachments.length > 0) {
      const paths = await saveAttachments(session, r.streamSeq, opened.payload, body.attachments, saveDir);
      json.saved = paths;
      paths.forEach((p, i) => lines.push(`attachment ${i} saved: ${p}`));
    }
  }
  lines.push("");
  return { json, lines };
}

/** Merges a verified view (and recovered client_seq) into state.json under the lock. */
async function saveProgress(
  dir: string,
  mem: ClientState,
  session: HubSession,
  target: StreamTarget,
  clientId: Uint8Array,
  view: MmrAccumulator,
  ownSeq: number,
  now: number,
): Promise<void> {
  await withStateLock(dir, async () => {
    const s = await readState(dir);
    const addr = session.address.key;
    const hubIdHex = toHex(session.hubId);
    const before = s.pins[addr]?.hub_id;
    s.pins[addr] = mem.pins[addr]!;
    if (s.hubs[hubIdHex] === undefined) {
      // A new entry, or one a hub key rotation moved (cli/hub_rotation.ts): its labels and previous_keys go along,
      // and the entry of the key rotated away from goes.
      s.hubs[hubIdHex] = structuredClone(mem.hubs[hubIdHex]!);
      if (before !== undefined && before !== hubIdHex && mem.hubs[before] === undefined) {
        delete s.hubs[before];
      }
    }
    const ls = labelStateFor(s, session.hubId, target, clientId, now);
    if (view.size > ls.last_stream_seq) setView(ls, view);
    ls.client_seq = Math.max(ls.client_seq, ownSeq);
    await writeState(dir, s);
  });
}

export const stream: Command = {
  path: ["stream"],
  summary: "fetch, verify and decrypt a stream",
  usage:
    "veen stream --hub H --client DIR --stream NAME [--from N] [--to N] [--start-time UNIX] [--end-time UNIX] [--with-proof] [--follow]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    STREAM_FLAG,
    { name: "from", metavar: "N", help: "first stream_seq (default 1)" },
    { name: "to", metavar: "N", help: "last stream_seq (the range must be served in full)" },
    { name: "start-time", metavar: "UNIX", help: "print only items with hub_ts at or after this" },
    { name: "end-time", metavar: "UNIX", help: "print only items with hub_ts at or before this" },
    { name: "with-proof", arity: 0, help: "ask for and verify an mmr_proof per item" },
    { name: "follow", arity: 0, help: "keep polling for new items" },
    { name: "count", metavar: "N", help: "stop after N items" },
    { name: "poll-ms", metavar: "N", help: "polling interval with --follow (default 1000)" },
    { name: "save-attachments", metavar: "DIR", help: "fetch, verify and decrypt attachments into DIR" },
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const name = ctx.flags.req("stream");
    const from = Math.max(1, ctx.flags.int("from") ?? 1);
    const to = ctx.flags.int("to");
    if (to !== undefined && to < from) throw usageError("--to must not be below --from");
    const t0 = ctx.flags.int("start-time", { min: 0 }) ?? 0;
    const t1 = ctx.flags.int("end-time", { min: 0 }) ?? Number.MAX_SAFE_INTEGER;
    const inWindow = (ts: number) => ts >= t0 && ts <= t1;
    const withProof = ctx.flags.bool("with-proof");
    const follow = ctx.flags.bool("follow");
    const count = ctx.flags.int("count", { min: 1 });
    const pollMs = ctx.flags.int("poll-ms", { min: 10, max: MAX_TIMER_MS }) ?? 1000;
    const keys = await loadKeys(ctx, dir);
    const secrets = decryptionSecrets(keys);
    const { state, session, target, ls } = await openLabel(ctx, dir, name, keys.client.public);
    let view = checkedViewOf(ls);
    const ictx: ItemContext = itemContext(session, target.label);
    const me = keys.client.public;
    let ownSeq = ls.client_seq;
    const trackOwn = (it: StreamItem) => {
      if (bytesEqual(it.msg.clientId, me)) ownSeq = Math.max(ownSeq, it.msg.clientSeq);
    };
    if (from > view.size + 1) {
      // Verify the part before --from too (by items, or by a consistency jump), but only as far as the hub has.
      const hubSize = await session.http.labelSize(target.label);
      view = await extendView(session.http, ictx, view, Math.min(from - 1, hubSize), { onItem: trackOwn });
    }

    // Items the client verified before (stream_seq <= known) are replayed into `past`, started from the signed
    // RECEIPT before --from, which must end at the stored root or be proved a prefix of it: a hub cannot show a
    // rewritten history. Under --follow such items are printed only once bound.
    const known = view.size;
    const knownRoot = view.root();
    let past: MmrAccumulator | undefined = from > known
      ? undefined
      : from === 1
      ? new MmrAccumulator()
      : await jumpView(session.http, ictx, new MmrAccumulator(), from - 1);
    const held: { json: Record<string, unknown>; lines: string[] }[] = [];
    const bindPast = async () => {
      const p = past;
      past = undefined;
      if (p === undefined || p.size === 0) return;
      if (!(await provesPrefix(session.http, target.label, p.size, p.root()!, known, knownRoot!))) {
        throw new VeenError(
          "E.SEQ",
          `The hub's log up to stream_seq ${p.size} is not a prefix of the client's verified view of ${known} items: the hub forked its history`,
        );
      }
      for (const h of held.splice(0)) ctx.out.item(h.json, h.lines);
    };

    const items: Record<string, unknown>[] = [];
    const lines: string[] = [];
    let next = from;
    let shown = 0;
    outer: while (true) {
      const q: { to?: number; withProof?: boolean } = { withProof };
      if (to !== undefined) q.to = to;
      for await (const item of fetchItems(session.http, target.label, next, q)) {
        const r = item.receipt;
        const leaf = checkItem(r, item.msg, ictx);
        let proof: "verified" | "not requested" = "not requested";
        if (item.proof !== undefined) {
          checkItemProof(item.proof, leaf, r);
          proof = "verified";
        }
        if (past !== undefined && r.streamSeq <= known) {
          appendChecked(past, r.streamSeq, leaf, r.mmrRoot);
          if (past.size === known) await bindPast();
        } else {
          // /healthz may have under-reported the size for --from: verify the items before this one too.
          if (r.streamSeq > view.size + 1) {
            view = await extendView(session.http, ictx, view, r.streamSeq - 1, { onItem: trackOwn });
          }
          appendChecked(view, r.streamSeq, leaf, r.mmrRoot);
        }
        trackOwn(item);
        next = r.streamSeq + 1;
        if (!inWindow(r.hubTs)) continue;
        const shownItem = await renderItem(
          ctx,
          session,
          item,
          await openForClient(item.msg, session.profile, secrets),
          proof,
        );
        if (follow && past !== undefined) held.push(shownItem);
        else if (follow) ctx.out.item(shownItem.json, shownItem.lines);
        else {
          items.push(shownItem.json);
          lines.push(...shownItem.lines);
        }
        shown++;
        if (count !== undefined && shown >= count) break outer;
      }
      await saveProgress(dir, state, session, target, me, view, ownSeq, nowSec(ctx));
      if (!follow || (to !== undefined && next > to)) break;
      await ctx.io.sleep(pollMs);
    }
    await bindPast();
    await saveProgress(dir, state, session, target, me, view, ownSeq, nowSec(ctx));
    if (!follow && to !== undefined && next <= to && (count === undefined || shown < count)) {
      throw new VeenError(
        "E.NOT_FOUND",
        `The hub served stream_seq ${from}..${next - 1}, not the whole range ${from}..${to}`,
      );
    }
    if (!follow) {
      if (items.length === 0) lines.push(`no items from stream_seq ${from}`);
      ctx.out.result({ stream: name, label: toHex(target.label), items, last_stream_seq: view.size }, lines);
    }
    return 0;
  },
};
