/**
 * What the air-gap bridge reads and writes on hubs (AGB0 §4.5-4.7): audit records on `bridge/online/log` and
 * `bridge/offline/log` (sealed to the bridge client's own key), and the imported events of a target stream,
 * each verified on the way in (cli replayRange) and opened with the client's keys.
 */
import { bytesEqual, type CborValue, toHex } from "../core/mod.ts";
import { type BodyCodec, type BodyRecord, BRIDGE_IMPORT } from "../overlays/mod.ts";
import {
  decryptionSecrets,
  type HubSession,
  loadKeys,
  openForClient,
  readCapAuthRef,
  replayRange,
  sendAndSave,
  streamTarget,
} from "../cli/mod.ts";
import type { CommandContext } from "../cmd/mod.ts";

export const ONLINE_LOG = "bridge/online/log";
export const OFFLINE_LOG = "bridge/offline/log";

/** The auth_ref of `--cap FILE` (the bridge client's capability), if given. */
export async function bridgeAuthRef(ctx: CommandContext): Promise<{ authRef?: Uint8Array }> {
  const path = ctx.flags.str("cap");
  return path === undefined ? {} : { authRef: await readCapAuthRef(path) };
}

/** Appends one record (schema `codec`) to `stream` as client `dir` (with `--cap`); returns its stream_seq. */
export async function appendRecord(
  ctx: CommandContext,
  dir: string,
  stream: string,
  codec: BodyCodec,
  rec: Record<string, CborValue | undefined>,
): Promise<number> {
  const keys = await loadKeys(ctx, dir);
  const { res } = await sendAndSave(ctx, dir, keys, stream, {
    recipientPk: keys.prekey.public,
    hdr: { schema: codec.schemaId },
    bodyBytes: codec.encode(rec),
    ...(await bridgeAuthRef(ctx)),
  });
  return res.receipt.streamSeq;
}

/** `hub_id:label:seq` of an origin event: how an imported event is matched to its origin (J1). */
export function originKey(sourceHubId: Uint8Array, label: Uint8Array, seq: number): string {
  return `${toHex(sourceHubId)}:${toHex(label)}:${seq}`;
}

export interface ImportedEvent {
  /** stream_seq in the stream read. */
  seq: number;
  body: BodyRecord;
}

/**
 * The records of schema `codec` on `stream`, every item of the stream verified (a gap or bad item fails); items
 * this client cannot open or of other schemas are counted in `unreadable`.
 */
export async function readRecords(
  ctx: CommandContext,
  session: HubSession,
  dir: string,
  stream: string,
  codec: BodyCodec,
): Promise<{ records: ImportedEvent[]; unreadable: number }> {
  const keys = await loadKeys(ctx, dir);
  const secrets = decryptionSecrets(keys);
  const label = streamTarget(session, stream).label;
  const records: ImportedEvent[] = [];
  let unreadable = 0;
  if (await session.http.labelSize(label) === 0) return { records, unreadable };
  for await (const item of replayRange(session, label, { from: 1, withProof: false })) {
    const opened = await openForClient(item.msg, session.profile, secrets);
    if (!opened.ok || !bytesEqual(opened.payload.hdr.schema, codec.schemaId)) {
      unreadable++;
      continue;
    }
    records.push({ seq: item.receipt.streamSeq, body: codec.decode(opened.payload.body) });
  }
  return { records, unreadable };
}

/** The bridge.import.v1 events of `stream` (see readRecords), keyed by origin. */
export async function importedEvents(
  ctx: CommandContext,
  session: HubSession,
  dir: string,
  stream: string,
): Promise<{ byOrigin: Map<string, ImportedEvent[]>; unreadable: number }> {
  const { records, unreadable } = await readRecords(ctx, session, dir, stream, BRIDGE_IMPORT);
  const byOrigin = new Map<string, ImportedEvent[]>();
  for (const r of records) {
    const b = r.body;
    const k = originKey(b.source_hub_id as Uint8Array, b.origin_label as Uint8Array, b.origin_seq as number);
    byOrigin.set(k, [...(byOrigin.get(k) ?? []), r]);
  }
  return { byOrigin, unreadable };
}
