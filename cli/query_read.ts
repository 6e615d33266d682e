/**
 * How `veen query serve` reads recorder events and checks evidence (spec 001 query-api §6), through the client's
 * verified read path: every item of a scope stream is fetched with its proof and verified as `veen stream
 * --with-proof` does (hub_sig, MSG checks, leaf binding, inclusion proof, contiguity, MMR root), then opened with
 * the service's read keys; record.event.v1 bodies become engine events, anything else is counted and skipped.
 *
 * Evidence for one source event resolves its RECEIPT again (`GET /receipt`) and requires: a valid hub_sig by the
 * pinned key for the label, the same stream_seq, leaf_hash = the event's msg_id (its receipt_id), the mmr_root the
 * verified read saw at that seq, and an inclusion proof (`GET /proof`) of the leaf against that root. Any failure
 * is an E.* VeenError, which fails the query.
 */
import { bytesEqual, MmrAccumulator, toHex, VeenError } from "../core/mod.ts";
import { cborToJsonValue, RECORD_EVENT, type SourceEvent, type VerifiedEntry } from "../overlays/mod.ts";
import { checkItemProof, checkReceipt } from "./client_view.ts";
import { openForClient } from "./decrypt.ts";
import { type HubSession, itemContext, streamTarget } from "./hub_session.ts";
import { applyItem, fetchItems } from "./view_sync.ts";

/** A source event with what evidence needs: its label, msg_id and the verified mmr_root at its seq. */
export interface ReadEvent extends SourceEvent {
  label: Uint8Array;
  msgId: Uint8Array;
  mmrRoot: Uint8Array;
}

export interface StreamRead {
  events: ReadEvent[];
  /** Items verified but not record.event.v1 bodies this service can open. */
  skipped: number;
  /** Verified items of the stream. */
  items: number;
}

/** Every record.event.v1 of `stream` this service can open, verified, in stream order. */
export async function readRecordEvents(
  session: HubSession,
  stream: string,
  secrets: readonly Uint8Array[],
): Promise<StreamRead> {
  const target = streamTarget(session, stream);
  const view = new MmrAccumulator();
  const ictx = itemContext(session, target.label);
  const out: StreamRead = { events: [], skipped: 0, items: 0 };
  for await (const item of fetchItems(session.http, target.label, 1, { withProof: true })) {
    const leaf = applyItem(view, item, ictx);
    out.items++;
    const opened = await openForClient(item.msg, session.profile, secrets);
    if (!opened.ok || !bytesEqual(opened.payload.hdr.schema, RECORD_EVENT.schemaId)) {
      out.skipped++;
      continue;
    }
    let b;
    try {
      b = RECORD_EVENT.decode(opened.payload.body);
    } catch {
      out.skipped++;
      continue;
    }
    out.events.push({
      stream,
      streamSeq: item.receipt.streamSeq,
      receiptId: toHex(leaf),
      subjectId: b.subject_id as string,
      principalId: toHex(b.principal_id as Uint8Array),
      eventType: b.event_type as string,
      eventTime: b.event_time as number,
      origin: b.origin as string,
      payload: cborToJsonValue(b.payload!),
      label: target.label,
      msgId: leaf,
      mmrRoot: item.receipt.mmrRoot,
    });
  }
  return out;
}

/** Resolves and checks the RECEIPT of `e` (see the module comment); its evidence entry. */
export async function verifyEvidence(session: HubSession, e: ReadEvent): Promise<VerifiedEntry> {
  const where = `${e.stream} stream_seq ${e.streamSeq}`;
  const { receipt } = await session.http.receipt(e.label, e.streamSeq);
  checkReceipt(receipt, session.hubPk, e.label);
  if (receipt.streamSeq !== e.streamSeq) {
    throw new VeenError("E.SEQ", `RECEIPT resolved for ${where} has stream_seq ${receipt.streamSeq}`);
  }
  if (!bytesEqual(receipt.leafHash, e.msgId)) {
    throw new VeenError(
      "E.SIG",
      `RECEIPT resolved for ${where} has leaf_hash ${toHex(receipt.leafHash)}, not receipt_id ${e.receiptId}`,
    );
  }
  if (!bytesEqual(receipt.mmrRoot, e.mmrRoot)) {
    throw new VeenError(
      "E.SIG",
      `RECEIPT resolved for ${where} has an mmr_root the verified read did not see`,
    );
  }
  const { proof } = await session.http.proof(e.label, e.streamSeq, e.streamSeq);
  checkItemProof(proof, e.msgId, receipt);
  return {
    receipt_id: e.receiptId,
    mmr_root: toHex(receipt.mmrRoot),
    hub_id: toHex(session.hubId),
    stream: e.stream,
    stream_seq: e.streamSeq,
  };
}
