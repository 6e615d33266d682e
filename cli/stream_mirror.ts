/**
 * Copying one stream from a source hub to a target hub (spec-3 §10 federation.mirror.v1, ANCHOR0.3, WALBR0, ID
 * §12.1 ID Bridge; overlay decisions "FED1 / AUTH1", Mirroring): the loop `veen federate mirror-run`, `veen id
 * bridge` and `veen wallet bridge` share.
 *
 * `scanMirror` reads the source label from stream_seq 1 with proofs and verifies every item as `veen stream
 * --with-proof` does (hub_sig, label, profile, I1, I2, MSG.sig, inclusion proof against its own RECEIPT root); an
 * item that fails is counted as a verification failure and never copied (F1). Items this client can open, in the
 * asked range and without attachments, are the candidates. A source label holding a federation.mirror.v1 record
 * that names it as target_label is a mirror target and is refused (E.AUTH) before anything is sent.
 *
 * `copyMirror` copies each candidate to the target label as a new MSG with the same schema and plaintext body and
 * parent_id = the source msg_id, followed (unless `attest: false`) by one federation.mirror.v1 attestation each.
 * Deduplication keeps no state of its own: the target label's items are read back (verified, opened with the
 * client's keys; the overlay summary in the client directory only saves re-reading them) and a source item whose
 * msg_id is already a parent_id there is not copied again, one already attested not attested again (F2). Copies
 * are sealed to the mirroring client (or `recipientPk`), so it is the one that can read them back.
 *
 * `planMirror` and `runMirror` do either under the client directory's state lock, from hub addresses and a stream
 * name; `mirrorReport` prints a result, or fails with exit 4 when source items failed verification.
 */
import { bytesEqual, type ErrorCode, type PayloadHdr, type Receipt, toHex, VeenError } from "../core/mod.ts";
import { FEDERATION_MIRROR, MIRROR_INDEX, type MirrorIndex } from "../overlays/mod.ts";
import { checkFailure, usageError } from "../cmd/mod.ts";
import { type ClientState, labelStateFor, readState, withStateLock, writeState } from "./client_state.ts";
import { checkItem, checkItemProof, checkReceipt, type ItemContext } from "./client_view.ts";
import { type CommandContext, nowSec } from "./context.ts";
import { openForClient } from "./decrypt.ts";
import { connectHub, type HubSession, type StreamTarget, streamTarget } from "./hub_session.ts";
import { type ClientKeys, decryptionSecrets } from "./keystore.ts";
import { OverlayCursor } from "./overlay_cursor.ts";
import { type Outgoing, sendInOrder } from "./batch_sender.ts";
import { fetchItems } from "./view_sync.ts";

/** Most verification failures listed by stream_seq in a report (all are counted). */
export const MAX_LISTED_FAILURES = 16;

/** A verified, opened source item in the asked range. */
export interface MirrorCandidate {
  receipt: Receipt;
  hdr: PayloadHdr;
  body: Uint8Array;
  /** Size of the source MSG in bytes. */
  size: number;
}

/** A source item that failed verification (never copied). */
export interface MirrorFailure {
  stream_seq: number;
  code: ErrorCode;
  detail: string;
}

/** What one scan found on the source label and knows of the target label. */
export interface MirrorScan {
  src: HubSession;
  dst: HubSession;
  from: StreamTarget;
  to: StreamTarget;
  first: number;
  last: number;
  srcSize: number;
  srcRoot: Uint8Array | undefined;
  /** The target label's mirror index (updated by `copyMirror`). */
  index: MirrorIndex;
  candidates: MirrorCandidate[];
  notDecryptable: number;
  /** Items with attachments: not mirrored (their ciphertexts are bound to the source MSG). */
  withAttachments: number;
  failures: MirrorFailure[];
}

export interface ScanOptions {
  src: HubSession;
  dst: HubSession;
  from: StreamTarget;
  to: StreamTarget;
  /** Client directory (holds the target label's mirror index summary). */
  dir: string;
  secrets: readonly Uint8Array[];
  /** First source stream_seq to copy (default 1). */
  first?: number;
  /** Last source stream_seq to copy (default: the last). */
  last?: number;
  warn?: (msg: string) => void;
}

/** Reads and verifies the source label and the target label's mirror index; refuses a mirror target source. */
export async function scanMirror(o: ScanOptions): Promise<MirrorScan> {
  const { src, dst, from, to, secrets } = o;
  if (bytesEqual(src.hubId, dst.hubId) && bytesEqual(from.label, to.label)) {
    throw usageError("Source and target are the same label of the same hub");
  }
  const cursor = await OverlayCursor.open({
    session: dst,
    target: to,
    dir: o.dir,
    secrets,
    fold: MIRROR_INDEX,
    ...(o.warn === undefined ? {} : { warn: o.warn }),
  });
  await cursor.catchUp();

  const srcSize = await src.http.labelSize(from.label);
  let srcRoot: Uint8Array | undefined;
  if (srcSize > 0) {
    const { receipt } = await src.http.receipt(from.label, srcSize);
    checkReceipt(receipt, src.hubPk, from.label);
    srcRoot = receipt.mmrRoot;
  }
  const first = o.first ?? 1;
  const last = Math.min(o.last ?? srcSize, srcSize);
  const scan: MirrorScan = {
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
      scan.failures.push({ stream_seq: r.streamSeq, code: e.code, detail: e.detail });
      continue;
    }
    const opened = await openForClient(item.msg, src.profile, secrets);
    const inRange = r.streamSeq >= first && r.streamSeq <= last;
    if (!opened.ok) {
      if (inRange) scan.notDecryptable++;
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
          `Stream "${from.stream}" on the source hub is itself a mirror target (federation.mirror.v1 record at stream_seq ${r.streamSeq}): it is never mirrored from`,
        );
      }
      continue; // attestations about other labels are not copied
    }
    if (!inRange) continue;
    if (hdr.attRoot !== undefined) scan.withAttachments++;
    else scan.candidates.push({ receipt: r, hdr, body, size: item.msgBytes.length });
  }
  if (seen < srcSize) {
    throw new VeenError(
      "E.SEQ",
      `Source hub served items only up to stream_seq ${seen} of the ${srcSize} its signed RECEIPT covers (withheld items)`,
    );
  }
  return scan;
}

/** The candidates not yet copied to the target label. */
export function pendingCopies(scan: MirrorScan): MirrorCandidate[] {
  return scan.candidates.filter((c) => !scan.index.copies.has(toHex(c.receipt.leafHash)));
}

export interface CopyOptions {
  keys: ClientKeys;
  /** The client state (read under the state lock); saved to `dir` after every accepted send. */
  state: ClientState;
  dir: string;
  /** Unix seconds (mirror_time, label state). */
  now: number;
  /** auth_ref of a cap_token admitted on the target hub. */
  authRef?: Uint8Array;
  /** Send a federation.mirror.v1 attestation after each copy (default true). */
  attest?: boolean;
  /** HPKE recipient of the copies (default: the client's own prekey). */
  recipientPk?: Uint8Array;
}

export interface MirrorCounts {
  mirrored_count: number;
  attested_count: number;
  already_mirrored: number;
}

/**
 * Copies every candidate not yet on the target label (and attests it), in source order, through the batching
 * sender when the target hub offers `/submit_batch` (one `/submit` each otherwise). A candidate's dedup entry is
 * settled once the target accepted it; the client state is saved whenever client_seq advances.
 */
export async function copyMirror(scan: MirrorScan, o: CopyOptions): Promise<MirrorCounts> {
  const { keys, state, dir } = o;
  const ls = labelStateFor(state, scan.dst.hubId, scan.to, keys.client.public, o.now);
  const counts: MirrorCounts = { mirrored_count: 0, attested_count: 0, already_mirrored: 0 };
  const out: Outgoing[] = [];
  const add = (hdr: PayloadHdr, body: Uint8Array, done: () => void) =>
    out.push({ body: { hdr, body, ...(o.authRef === undefined ? {} : { authRef: o.authRef }) }, done });
  for (const c of scan.candidates) {
    const msgId = c.receipt.leafHash;
    const key = toHex(msgId);
    if (scan.index.copies.has(key)) counts.already_mirrored++;
    else {
      const hdr: PayloadHdr = { schema: c.hdr.schema, parentId: msgId };
      if (c.hdr.expiresAt !== undefined) hdr.expiresAt = c.hdr.expiresAt;
      add(hdr, c.body, () => {
        scan.index.copies.add(key);
        counts.mirrored_count++;
      });
    }
    if (o.attest === false || scan.index.attested.has(key)) continue;
    const record = FEDERATION_MIRROR.encode({
      source_hub_identifier: toHex(scan.src.hubId),
      source_label: scan.from.label,
      source_stream_seq: c.receipt.streamSeq,
      source_leaf_hash: msgId,
      source_receipt_root: c.receipt.mmrRoot,
      target_label: scan.to.label,
      mirror_time: o.now,
    });
    add({ schema: FEDERATION_MIRROR.schemaId, parentId: msgId }, record, () => {
      scan.index.attested.add(key);
      counts.attested_count++;
    });
  }
  await sendInOrder(
    scan.dst,
    scan.to,
    keys,
    ls,
    o.recipientPk ?? keys.prekey.public,
    out,
    () => writeState(dir, state),
  );
  return counts;
}

/** Which stream to copy where: hub addresses (URL or data directory) and stream names. */
export interface MirrorSpec {
  sourceHub: string;
  targetHub: string;
  stream: string;
  /** Stream name on the target hub (default: `stream`). */
  targetStream?: string;
  first?: number;
  last?: number;
}

/**
 * Under the state lock of client directory `dir`: connects to both hubs (pins checked and saved), scans, then runs
 * `then` with the scan and the state (still under the lock).
 */
async function withMirrorScan<T>(
  ctx: CommandContext,
  dir: string,
  keys: ClientKeys,
  spec: MirrorSpec,
  then: (scan: MirrorScan, state: ClientState) => Promise<T>,
): Promise<T> {
  return await withStateLock(dir, async () => {
    const state = await readState(dir);
    const common = { env: ctx.io.env, timeoutMs: ctx.timeoutMs, state };
    const src = await connectHub({ hub: spec.sourceHub, ...common });
    const dst = await connectHub({ hub: spec.targetHub, ...common });
    const scan = await scanMirror({
      src,
      dst,
      from: streamTarget(src, spec.stream),
      to: streamTarget(dst, spec.targetStream ?? spec.stream),
      dir,
      secrets: decryptionSecrets(keys),
      ...(spec.first === undefined ? {} : { first: spec.first }),
      ...(spec.last === undefined ? {} : { last: spec.last }),
      warn: (m) => ctx.out.warn(m),
    });
    await writeState(dir, state);
    return await then(scan, state);
  });
}

/** Scans without sending anything (what a run would copy: `pendingCopies`). */
export async function planMirror(
  ctx: CommandContext,
  dir: string,
  keys: ClientKeys,
  spec: MirrorSpec,
): Promise<MirrorScan> {
  return await withMirrorScan(ctx, dir, keys, spec, (scan) => Promise.resolve(scan));
}

/**
 * Scans and copies what is not on the target yet (see `copyMirror`); with `select`, only the candidates it keeps
 * (the others are returned as `skipped`).
 */
export async function runMirror(
  ctx: CommandContext,
  dir: string,
  keys: ClientKeys,
  spec: MirrorSpec,
  opts: Pick<CopyOptions, "authRef" | "attest" | "recipientPk"> & {
    select?: (c: MirrorCandidate) => boolean;
  } = {},
): Promise<{ scan: MirrorScan; counts: MirrorCounts; skipped: MirrorCandidate[] }> {
  const { select, ...copy } = opts;
  return await withMirrorScan(ctx, dir, keys, spec, async (scan, state) => {
    const skipped = select === undefined ? [] : scan.candidates.filter((c) => !select(c));
    if (select !== undefined) scan.candidates = scan.candidates.filter(select);
    const counts = await copyMirror(scan, { keys, state, dir, now: nowSec(ctx), ...copy });
    return { scan, counts, skipped };
  });
}

/** The fields every mirror report prints about the two labels and the range. */
export function describeMirror(s: MirrorScan): Record<string, unknown> {
  return {
    source_hub: s.src.address.url,
    source_hub_id: toHex(s.src.hubId),
    source_stream: s.from.stream,
    source_label: toHex(s.from.label),
    source_last_stream_seq: s.srcSize,
    source_last_mmr_root: s.srcRoot === undefined ? null : toHex(s.srcRoot),
    target_hub: s.dst.address.url,
    target_hub_id: toHex(s.dst.hubId),
    target_stream: s.to.stream,
    target_label: toHex(s.to.label),
    first_stream_seq: s.first,
    last_stream_seq: s.last,
    not_decryptable: s.notDecryptable,
    with_attachments: s.withAttachments,
  };
}

/** The first verification failure of `failures` as the error a mirror command exits with. */
export function failuresError(failures: readonly MirrorFailure[]): VeenError | undefined {
  const f = failures[0];
  if (f === undefined) return undefined;
  return new VeenError(
    f.code,
    `${failures.length} source items failed verification and were not mirrored (first: stream_seq ${f.stream_seq}: ${f.detail})`,
  );
}

/**
 * Prints `json` (with the verification failures added), or fails with exit 4 and `json` as the report when
 * `failures` is not empty.
 */
export function mirrorReport(
  ctx: CommandContext,
  failures: readonly MirrorFailure[],
  json: Record<string, unknown>,
): number {
  json.verification_failures = failures.length;
  json.failures = failures.slice(0, MAX_LISTED_FAILURES);
  const lines = Object.entries(json)
    .filter(([k]) => k !== "failures")
    .map(([k, v]) => `${k}: ${typeof v === "object" && v !== null ? JSON.stringify(v) : v}`);
  lines.push(
    ...failures.slice(0, MAX_LISTED_FAILURES).map((f) =>
      `failed: stream_seq ${f.stream_seq} ${f.code} ${f.detail}`
    ),
  );
  const err = failuresError(failures);
  if (err === undefined) {
    ctx.out.result(json, lines);
    return 0;
  }
  throw checkFailure(err, { lines, json });
}
