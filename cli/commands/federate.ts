/**
 * `veen federate mirror-plan` and `veen federate mirror-run` (CLI-GOALS-3 §7; spec-3 §10 federation.mirror.v1,
 * ANCHOR0.3; overlay decisions "FED1 / AUTH1", Mirroring). One pass does both: the source label is read from
 * stream_seq 1 with proofs and every item is verified as `veen stream --with-proof` does (hub_sig, label, profile,
 * I1, I2, MSG.sig, inclusion proof against its own RECEIPT root); an item that fails is counted as a verification
 * failure and never mirrored (F1). Items this client can open, in the asked range, are copied to the target label
 * as a new MSG with the same schema and plaintext body and parent_id = the source msg_id, followed by one
 * federation.mirror.v1 attestation each. A source label holding a federation.mirror.v1 record that names it as
 * target_label is a mirror target and is refused (E.AUTH) before anything is sent.
 *
 * Deduplication keeps no state of its own: the target label's items are read back (verified, opened with the
 * client's keys; the overlay summary in the client directory only saves re-reading them) and a source item whose
 * msg_id is already a parent_id there is not copied again, one already attested not attested again (F2). Copies
 * are sealed to the mirroring client, so it is the one that can read them back.
 */
import {
  bytesEqual,
  type ErrorCode,
  type PayloadHdr,
  type Receipt,
  toHex,
  VeenError,
} from "../../core/mod.ts";
import { FEDERATION_MIRROR, MIRROR_INDEX, type MirrorIndex } from "../../overlays/mod.ts";
import { checkFailure, type FlagSpec, usageError } from "../../cmd/mod.ts";
import {
  checkedViewOf,
  type ClientState,
  type LabelState,
  labelStateFor,
  readState,
  withStateLock,
  writeState,
} from "../client_state.ts";
import { checkItem, checkItemProof, checkReceipt, type ItemContext } from "../client_view.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  loadKeys,
  nowSec,
  PASSPHRASE_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { openForClient } from "../decrypt.ts";
import { readInputFile } from "../files.ts";
import { connectHub, type HubSession, type StreamTarget, streamTarget } from "../hub_session.ts";
import { type ClientKeys, decryptionSecrets } from "../keystore.ts";
import { OverlayCursor } from "../overlay_cursor.ts";
import { sendMessage } from "../sender.ts";
import { type BatchBody, BatchSender, offersBatch } from "../batch_sender.ts";
import { fetchItems } from "../view_sync.ts";
import { readCapAuthRef } from "./send.ts";

const FLAGS: FlagSpec[] = [
  { name: "source-hub", metavar: "URL|DIR", required: true, help: "hub to mirror from" },
  { name: "target-hub", metavar: "URL|DIR", required: true, help: "hub to mirror to" },
  STREAM_FLAG,
  {
    name: "label-map-file",
    metavar: "FILE",
    help: 'JSON object {"SOURCE_STREAM": "TARGET_STREAM", ...} (default: the same stream name)',
  },
  { name: "from-stream-seq", metavar: "M", help: "first source stream_seq to mirror (default 1)" },
  { name: "to-stream-seq", metavar: "N", help: "last source stream_seq to mirror (default: the last)" },
  CLIENT_FLAG,
  PASSPHRASE_FLAG,
];

/** Most verification failures listed by stream_seq in the report (all are counted). */
const MAX_LISTED_FAILURES = 16;

/** A verified, opened source item in the asked range. */
interface Candidate {
  receipt: Receipt;
  hdr: PayloadHdr;
  body: Uint8Array;
  size: number;
}

interface Pass {
  src: HubSession;
  dst: HubSession;
  from: StreamTarget;
  to: StreamTarget;
  first: number;
  last: number;
  srcSize: number;
  srcRoot: Uint8Array | undefined;
  index: MirrorIndex;
  candidates: Candidate[];
  notDecryptable: number;
  /** Items with attachments: not mirrored (their ciphertexts are bound to the source MSG). */
  withAttachments: number;
  failures: { stream_seq: number; code: ErrorCode; detail: string }[];
}

/** The target stream of `stream`: from `--label-map-file` when given, else the same name. */
async function targetStream(ctx: CommandContext, stream: string): Promise<string> {
  const file = ctx.flags.str("label-map-file");
  if (file === undefined) return stream;
  let map: unknown;
  try {
    map = JSON.parse(new TextDecoder().decode(await readInputFile(file, "label map")));
  } catch (e) {
    throw usageError(`Label map "${file}" is not JSON: ${e instanceof Error ? e.message : e}`);
  }
  const got = typeof map === "object" && map !== null && !Array.isArray(map)
    ? (map as Record<string, unknown>)[stream]
    : undefined;
  if (typeof got !== "string" || got === "") {
    throw usageError(`Label map "${file}" maps no target stream for "${stream}"`);
  }
  return got;
}

/** Reads and verifies the source label and the target label's mirror index; refuses a mirror target source. */
async function scan(
  ctx: CommandContext,
  dir: string,
  secrets: Uint8Array[],
  state: ClientState,
): Promise<Pass> {
  const common = { env: ctx.io.env, timeoutMs: ctx.timeoutMs, state };
  const src = await connectHub({ hub: ctx.flags.req("source-hub"), ...common });
  const dst = await connectHub({ hub: ctx.flags.req("target-hub"), ...common });
  const stream = ctx.flags.req("stream");
  const from = streamTarget(src, stream);
  const to = streamTarget(dst, await targetStream(ctx, stream));
  if (bytesEqual(src.hubId, dst.hubId) && bytesEqual(from.label, to.label)) {
    throw usageError("Source and target are the same label of the same hub");
  }
  const cursor = await OverlayCursor.open({
    session: dst,
    target: to,
    dir,
    secrets,
    fold: MIRROR_INDEX,
    warn: (m) => ctx.out.warn(m),
  });
  await cursor.catchUp();

  const srcSize = await src.http.labelSize(from.label);
  let srcRoot: Uint8Array | undefined;
  if (srcSize > 0) {
    const { receipt } = await src.http.receipt(from.label, srcSize);
    checkReceipt(receipt, src.hubPk, from.label);
    srcRoot = receipt.mmrRoot;
  }
  const first = ctx.flags.int("from-stream-seq", { min: 1 }) ?? 1;
  const last = Math.min(ctx.flags.int("to-stream-seq") ?? srcSize, srcSize);
  const pass: Pass = {
    src,
    dst,
    from,
    to,
    first,
    last,
    srcSize,
    srcRoot,
    index: cursor.state,
    candidates: [],
    notDecryptable: 0,
    withAttachments: 0,
    failures: [],
  };
  const ictx: ItemContext = { label: from.label, hubPk: src.hubPk, profileId: src.profileId };
  // The whole label is read: a federation.mirror.v1 record anywhere in it makes it a mirror target.
  let seen = 0;
  for await (const item of fetchItems(src.http, from.label, 1, { to: srcSize, withProof: true })) {
    const r = item.receipt;
    seen = r.streamSeq;
    try {
      checkItemProof(item.proof!, checkItem(r, item.msg, ictx), r);
    } catch (e) {
      if (!(e instanceof VeenError)) throw e;
      pass.failures.push({ stream_seq: r.streamSeq, code: e.code, detail: e.detail });
      continue;
    }
    const opened = await openForClient(item.msg, src.profile, secrets);
    const inRange = r.streamSeq >= first && r.streamSeq <= last;
    if (!opened.ok) {
      if (inRange) pass.notDecryptable++;
      continue;
    }
    const { hdr, body } = opened.payload;
    if (bytesEqual(hdr.schema, FEDERATION_MIRROR.schemaId)) {
      const rec = (() => {
        try {
          return FEDERATION_MIRROR.decode(body);
        } catch {
          return undefined;
        }
      })();
      if (rec !== undefined && bytesEqual(rec.target_label as Uint8Array, from.label)) {
        throw new VeenError(
          "E.AUTH",
          `Stream "${stream}" on the source hub is itself a mirror target (federation.mirror.v1 record at stream_seq ${r.streamSeq}): it is never mirrored from`,
        );
      }
      continue; // attestations about other labels are not copied
    }
    if (!inRange) continue;
    if (hdr.attRoot !== undefined) pass.withAttachments++;
    else pass.candidates.push({ receipt: r, hdr, body, size: item.msgBytes.length });
  }
  if (seen < srcSize) {
    throw new VeenError(
      "E.SEQ",
      `Source hub served items only up to stream_seq ${seen} of the ${srcSize} its signed RECEIPT covers (withheld items)`,
    );
  }
  return pass;
}

/** The fields both commands print about the two labels and the range. */
function describePass(p: Pass): Record<string, unknown> {
  return {
    source_hub: p.src.address.url,
    source_hub_id: toHex(p.src.hubId),
    source_stream: p.from.stream,
    source_label: toHex(p.from.label),
    source_last_stream_seq: p.srcSize,
    source_last_mmr_root: p.srcRoot === undefined ? null : toHex(p.srcRoot),
    target_hub: p.dst.address.url,
    target_hub_id: toHex(p.dst.hubId),
    target_stream: p.to.stream,
    target_label: toHex(p.to.label),
    first_stream_seq: p.first,
    last_stream_seq: p.last,
    not_decryptable: p.notDecryptable,
    with_attachments: p.withAttachments,
  };
}

/** Prints `json`, or fails with exit 4 and `json` as the report when source items failed verification. */
function finish(ctx: CommandContext, p: Pass, json: Record<string, unknown>): number {
  json.verification_failures = p.failures.length;
  json.failures = p.failures.slice(0, MAX_LISTED_FAILURES);
  const lines = Object.entries(json)
    .filter(([k]) => k !== "failures")
    .map(([k, v]) => `${k}: ${v}`);
  lines.push(
    ...p.failures.slice(0, MAX_LISTED_FAILURES).map((f) =>
      `failed: stream_seq ${f.stream_seq} ${f.code} ${f.detail}`
    ),
  );
  if (p.failures.length === 0) {
    ctx.out.result(json, lines);
    return 0;
  }
  const f = p.failures[0]!;
  throw checkFailure(
    new VeenError(
      f.code,
      `${p.failures.length} source items failed verification and were not mirrored (first: stream_seq ${f.stream_seq}: ${f.detail})`,
    ),
    { lines, json },
  );
}

const hexOf = (r: Receipt) => toHex(r.leafHash);

/** Under the client directory's state lock: loads keys and state, scans (hub pins saved), then runs `then`. */
async function withScan(
  ctx: CommandContext,
  then: (s: { p: Pass; keys: ClientKeys; state: ClientState; dir: string }) => Promise<number>,
): Promise<number> {
  const dir = clientDir(ctx);
  const keys = await loadKeys(ctx, dir);
  return await withStateLock(dir, async () => {
    const state = await readState(dir);
    const p = await scan(ctx, dir, decryptionSecrets(keys), state);
    await writeState(dir, state);
    return await then({ p, keys, state, dir });
  });
}

export const federateMirrorPlan: Command = {
  path: ["federate", "mirror-plan"],
  summary: "show what mirror-run would copy from a source stream to a target hub",
  usage:
    "veen federate mirror-plan --source-hub URL --target-hub URL --stream NAME --client DIR [--label-map-file F] [--from-stream-seq M] [--to-stream-seq N]",
  flags: FLAGS,
  async run(ctx) {
    return await withScan(ctx, async ({ p }) => {
      const todo = p.candidates.filter((c) => !p.index.copies.has(hexOf(c.receipt)));
      return finish(ctx, p, {
        ...describePass(p),
        target_last_stream_seq: await p.dst.http.labelSize(p.to.label),
        message_count: Math.max(0, p.last - p.first + 1),
        already_mirrored: p.candidates.length - todo.length,
        to_mirror: todo.length,
        to_attest: p.candidates.filter((c) => !p.index.attested.has(hexOf(c.receipt))).length,
        approx_bytes: todo.reduce((n, c) => n + c.size, 0),
      });
    });
  },
};

export const federateMirrorRun: Command = {
  path: ["federate", "mirror-run"],
  summary: "copy a source stream's verified items to a target hub with parent_id = origin msg_id",
  usage:
    "veen federate mirror-run --source-hub URL --target-hub URL --stream NAME --client DIR [--label-map-file F] [--from-stream-seq M] [--to-stream-seq N] [--cap FILE]",
  flags: [...FLAGS, { name: "cap", metavar: "FILE", help: "cap_token admitted on the target hub" }],
  async run(ctx) {
    const capPath = ctx.flags.str("cap");
    const authRef = capPath === undefined ? undefined : await readCapAuthRef(capPath);
    return await withScan(ctx, async ({ p, keys, state, dir }) => {
      const ls = labelStateFor(state, p.dst.hubId, p.to, keys.client.public, nowSec(ctx));
      const counts = { mirrored_count: 0, attested_count: 0, already_mirrored: 0 };
      // The copies and attestations, in order; each settles its dedup entry once the target accepted it.
      const out: { body: BatchBody; done: () => void }[] = [];
      const add = (hdr: PayloadHdr, body: Uint8Array, done: () => void) =>
        out.push({ body: { hdr, body, ...(authRef === undefined ? {} : { authRef }) }, done });
      for (const c of p.candidates) {
        const msgId = c.receipt.leafHash;
        const key = toHex(msgId);
        if (p.index.copies.has(key)) counts.already_mirrored++;
        else {
          const hdr: PayloadHdr = { schema: c.hdr.schema, parentId: msgId };
          if (c.hdr.expiresAt !== undefined) hdr.expiresAt = c.hdr.expiresAt;
          add(hdr, c.body, () => {
            p.index.copies.add(key);
            counts.mirrored_count++;
          });
        }
        if (p.index.attested.has(key)) continue;
        const record = FEDERATION_MIRROR.encode({
          source_hub_identifier: toHex(p.src.hubId),
          source_label: p.from.label,
          source_stream_seq: c.receipt.streamSeq,
          source_leaf_hash: msgId,
          source_receipt_root: c.receipt.mmrRoot,
          target_label: p.to.label,
          mirror_time: nowSec(ctx),
        });
        add({ schema: FEDERATION_MIRROR.schemaId, parentId: msgId }, record, () => {
          p.index.attested.add(key);
          counts.attested_count++;
        });
      }
      await sendAll(p.dst, p.to, keys, ls, out, () => writeState(dir, state));
      return finish(ctx, p, {
        ...describePass(p),
        ...counts,
        target_last_stream_seq: await p.dst.http.labelSize(p.to.label),
      });
    });
  },
};

/**
 * Sends `out` in order to the target: through the batching sender when the target offers /submit_batch, else one
 * `sendMessage` each. Stops with the first refusal (E.*), as one-by-one sending does; `save` persists state.json
 * whenever the accepted client_seq advanced.
 */
async function sendAll(
  session: HubSession,
  target: StreamTarget,
  keys: ClientKeys,
  ls: LabelState,
  out: readonly { body: BatchBody; done: () => void }[],
  save: () => Promise<void>,
): Promise<void> {
  let view = checkedViewOf(ls);
  if (!offersBatch(session)) {
    for (const o of out) {
      const seqBefore = ls.client_seq;
      try {
        view = (await sendMessage(session, target, keys, ls, view, {
          recipientPk: keys.prekey.public,
          hdr: o.body.hdr,
          bodyBytes: o.body.body,
          ...(o.body.authRef === undefined ? {} : { authRef: o.body.authRef }),
        })).view;
      } finally {
        if (ls.client_seq !== seqBefore) await save(); // accepted: never reuse client_seq
      }
      o.done();
    }
    return;
  }
  const sender = new BatchSender(session, target, keys, ls, view, {
    recipientPk: keys.prekey.public,
    onAccepted: (a) => out[a.index]!.done(),
    onStateAdvanced: save,
  });
  try {
    const sum = await sender.send(out.map((o) => o.body));
    const first = sum.refused[0];
    if (first !== undefined) throw first.error;
  } finally {
    await save();
  }
}

export const FEDERATE_COMMANDS: readonly Command[] = [federateMirrorPlan, federateMirrorRun];
