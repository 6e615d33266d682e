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
  replayRange,
  sendAndSave,
  streamTarget,
} from "../cli/mod.ts";
import type { CommandContext } from "../cmd/mod.ts";

export const ONLINE_LOG = "bridge/online/log";
export const OFFLINE_LOG = "bridge/offline/log";

/** Appends one record (schema `codec`) to `stream` as client `dir`; returns its stream_seq. */
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
  });
  return res.receipt.streamSeq;
}

/** `hub_id:label:seq` of an origin event: how an imported event is matched to its origin (J1). */
export function originKey(sourceHubId: Uint8Array, label: Uint8Array, seq: number): string {
  return `${toHex(sourceHubId)}:${toHex(label)}:${seq}`;
}

export interface ImportedEvent {
  /** stream_seq in the target stream. */
  seq: number;
  body: BodyRecord;
}

/**
 * The bridge.import.v1 events of `stream`, every item of the stream verified (a gap or bad item fails), keyed by
 * origin; items this client cannot open or of other schemas are counted in `unreadable`.
 */
export async function importedEvents(
  ctx: CommandContext,
  session: HubSession,
  dir: string,
  stream: string,
): Promise<{ byOrigin: Map<string, ImportedEvent[]>; unreadable: number; size: number }> {
  const keys = await loadKeys(ctx, dir);
  const secrets = decryptionSecrets(keys);
  const label = streamTarget(session, stream).label;
  const byOrigin = new Map<string, ImportedEvent[]>();
  let unreadable = 0;
  let size = 0;
  if (await session.http.labelSize(label) === 0) return { byOrigin, unreadable, size };
  for await (const item of replayRange(session, label, { from: 1, withProof: false })) {
    size = item.receipt.streamSeq;
    const opened = await openForClient(item.msg, session.profile, secrets);
    if (!opened.ok || !bytesEqual(opened.payload.hdr.schema, BRIDGE_IMPORT.schemaId)) {
      unreadable++;
      continue;
    }
    const body = BRIDGE_IMPORT.decode(opened.payload.body);
    const k = originKey(
      body.source_hub_id as Uint8Array,
      body.origin_label as Uint8Array,
      body.origin_seq as number,
    );
    byOrigin.set(k, [...(byOrigin.get(k) ?? []), { seq: item.receipt.streamSeq, body }]);
  }
  return { byOrigin, unreadable, size };
}
