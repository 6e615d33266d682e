/**
 * AGB0 export bundles (001 L971-1235; overlay decisions "Products"): the bundle file, its id, its verification,
 * and the bodies the bridge writes (imported events, audit records) through the one body codec.
 *
 * Bundle = CBOR `[CBOR(header) as bstr, CBOR(export checkpoint) as bstr, events]`, events `[[CBOR(MSG), CBOR(RECEIPT),
 * CBOR(mmr_proof)], ...]`: each MSG exactly as committed in the source zone (ciphertext untouched), its RECEIPT, and
 * an inclusion proof of its leaf in the label's MMR at the export checkpoint's last_seq. The header commits to the
 * events (`events_digest = H(CBOR(events))`) and to the export checkpoint (`export_checkpoint_id`), and
 * `bundle_id = Ht("veen/bundle", CBOR(header without bundle_id))`, so a change to any byte changes bundle_id or
 * fails a signature.
 */
import {
  bytesEqual,
  type CborValue,
  concat,
  decodeCbor,
  decodeExportCheckpoint,
  decodeMmrProof,
  decodeMsg,
  decodeReceipt,
  encodeCbor,
  type ErrorCode,
  type ExportCheckpoint,
  exportCheckpointId,
  exportCheckpointStream,
  H,
  Ht,
  hubIdFor,
  type Msg,
  type Receipt,
  toHex,
  VeenError,
  verifyExportCheckpointSig,
  verifyInclusion,
  verifyMsgSig,
  verifyReceiptForMsg,
} from "../core/mod.ts";
import { BodyCodec, type BodyField, type BodyRecord, MAX_BODY_STRING } from "./body_codec.ts";

const B32 = (name: string): BodyField => ({ name, type: "bytes32" });
const U = (name: string): BodyField => ({ name, type: "uint" });

const HEADER_FIELDS: BodyField[] = [
  B32("source_hub_id"),
  B32("source_profile_id"),
  { name: "export_stream", type: "text" },
  B32("export_stream_id"),
  B32("export_label"),
  U("export_seq_from"),
  U("export_seq_to"),
  U("export_time_from"),
  U("export_time_to"),
  B32("export_checkpoint_id"),
  B32("events_digest"),
  U("event_count"),
  U("created_at"),
];

/** The bundle header (001 L1006-1020), bundle_id first. */
export const BUNDLE_HEADER = new BodyCodec("veen.bridge.bundle.v1", [B32("bundle_id"), ...HEADER_FIELDS]);
const HEADER_WITHOUT_ID = new BodyCodec("veen.bridge.bundle.v1", HEADER_FIELDS);

/** An event as re-committed in the target zone (001 L1044-1050): the origin MSG unchanged, in chunks of 4096. */
export const BRIDGE_IMPORT = new BodyCodec("bridge.import.v1", [
  B32("bundle_id"),
  { name: "bridge_id", type: "text" },
  B32("source_hub_id"),
  B32("origin_label"),
  U("origin_seq"),
  { name: "origin_receipt", type: "bytes" },
  { name: "origin_msg", type: "any" },
  U("import_time"),
]);

/** bridge/online/log: a bundle was created (001 L1079-1085). */
export const BRIDGE_ONLINE_LOG = new BodyCodec("bridge.online.log.v1", [
  B32("bundle_id"),
  B32("bundle_hash"),
  B32("export_stream_id"),
  U("export_seq_from"),
  U("export_seq_to"),
  U("event_count"),
  B32("export_checkpoint_id"),
  { name: "operator", type: "text" },
]);

/** bridge/offline/log: an import, successful or not (001 L1087-1093, L1055-1059). */
export const BRIDGE_OFFLINE_LOG = new BodyCodec("bridge.offline.log.v1", [
  { name: "bundle_id", type: "bytes32", optional: true },
  B32("bundle_hash"),
  B32("target_stream_id"),
  { name: "target_seq_from", type: "uint", optional: true },
  { name: "target_seq_to", type: "uint", optional: true },
  U("event_count"),
  { name: "verification_result", type: "text", oneOf: ["success", "failure"] },
  { name: "error_code", type: "text", optional: true },
  { name: "reason", type: "text", optional: true },
  { name: "position", type: "uint", optional: true },
  { name: "operator", type: "text" },
]);

export interface BundleEvent {
  msgBytes: Uint8Array;
  receiptBytes: Uint8Array;
  proofBytes: Uint8Array;
}

export interface BundleParts {
  /** The header fields without bundle_id, events_digest, export_checkpoint_id and event_count. */
  header: Omit<BodyRecord, "bundle_id" | "events_digest" | "export_checkpoint_id" | "event_count">;
  exportCheckpoint: Uint8Array;
  events: BundleEvent[];
}

function eventsCbor(events: readonly BundleEvent[]): CborValue {
  return events.map((e) => [e.msgBytes, e.receiptBytes, e.proofBytes]);
}

/** `bundle_id = Ht("veen/bundle", CBOR(header without bundle_id))`. */
export function bundleIdOf(headerWithoutId: BodyRecord): Uint8Array {
  return Ht("veen/bundle", HEADER_WITHOUT_ID.encode(headerWithoutId));
}

/** The bundle file bytes and its bundle_id. */
export function encodeBundle(p: BundleParts): { bytes: Uint8Array; bundleId: Uint8Array } {
  const events = eventsCbor(p.events);
  const noId: BodyRecord = {
    ...p.header,
    export_checkpoint_id: exportCheckpointId(decodeExportCheckpoint(p.exportCheckpoint)),
    events_digest: H(encodeCbor(events)),
    event_count: p.events.length,
  };
  const bundleId = bundleIdOf(noId);
  const header = BUNDLE_HEADER.encode({ bundle_id: bundleId, ...noId });
  return { bytes: encodeCbor([header, p.exportCheckpoint, events]), bundleId };
}

export interface VerifiedEvent {
  msg: Msg;
  msgBytes: Uint8Array;
  receipt: Receipt;
  receiptBytes: Uint8Array;
}

export interface VerifiedBundle {
  header: BodyRecord;
  bundleId: Uint8Array;
  exportCheckpoint: ExportCheckpoint;
  events: VerifiedEvent[];
}

/** A failed verification: the code, the reason and the 0-based event position when an event failed. */
export interface BundleFailure {
  code: ErrorCode;
  reason: string;
  position?: number;
  /** The bundle_id the header claims, when the header decoded. */
  bundleId?: Uint8Array;
}

export interface VerifyOptions {
  /** Source hub keys to accept (001 L1036 "trusted list"); any hub key when absent. */
  trustedHubKeys?: readonly Uint8Array[];
  maxMsgBytes?: number;
}

function fail(code: ErrorCode, reason: string, position?: number): never {
  throw Object.assign(new VeenError(code, reason), { position });
}

/**
 * Verifies a bundle completely before anything is imported (001 L1033-1039): the header decodes and its bundle_id
 * is recomputed, the export checkpoint id matches, the export checkpoint's hub_sig verifies (under
 * a trusted key when a list is given) and covers the export label at or beyond export_seq_to, and each event: MSG
 * and RECEIPT decode, the RECEIPT's hub_sig, label, leaf binding (I1, I2), the MSG's signature and profile, its
 * stream_seq is the next of the range (no gap, no repeat), its inclusion proof leads to the checkpoint's root, and
 * its hub_ts lies in the header's time range (a failure names the event's position); last, the events digest.
 */
export function verifyBundle(
  bytes: Uint8Array,
  o: VerifyOptions = {},
): { ok: true; bundle: VerifiedBundle } | ({ ok: false } & BundleFailure) {
  let claimed: Uint8Array | undefined;
  try {
    const top = decodeCbor(bytes, "bundle");
    if (!Array.isArray(top) || top.length !== 3) fail("E.SIZE", "Bundle must be a CBOR array of 3");
    const [hv, cpv, evv] = top as CborValue[];
    if (!(hv instanceof Uint8Array)) fail("E.SIZE", "Bundle header must be a byte string");
    if (!(cpv instanceof Uint8Array)) fail("E.SIZE", "Bundle export checkpoint must be a byte string");
    if (!Array.isArray(evv)) fail("E.SIZE", "Bundle events must be an array");
    const header = BUNDLE_HEADER.decode(hv as Uint8Array);
    claimed = header.bundle_id as Uint8Array;
    const { bundle_id: _, ...noId } = header;
    const bundleId = bundleIdOf(noId);
    if (!bytesEqual(bundleId, claimed)) fail("E.SIG", "bundle_id does not match the bundle header");
    if (evv.length !== header.event_count) fail("E.SIZE", "event_count does not match the events");
    const cp = decodeExportCheckpoint(cpv as Uint8Array);
    if (!bytesEqual(exportCheckpointId(cp), header.export_checkpoint_id as Uint8Array)) {
      fail("E.SIG", "The export checkpoint does not match the header's export_checkpoint_id");
    }
    if (!verifyExportCheckpointSig(cp)) fail("E.SIG", "Export checkpoint hub_sig does not verify");
    if (!bytesEqual(hubIdFor(cp.hubPk), header.source_hub_id as Uint8Array)) {
      fail("E.SIG", "Export checkpoint is signed by another hub than source_hub_id");
    }
    if (o.trustedHubKeys !== undefined && !o.trustedHubKeys.some((k) => bytesEqual(k, cp.hubPk))) {
      fail("E.AUTH", `Source hub key ${toHex(cp.hubPk)} is not trusted`);
    }
    if (!bytesEqual(cp.profileId, header.source_profile_id as Uint8Array)) {
      fail("E.PROFILE", "Export checkpoint profile_id is not source_profile_id");
    }
    const label = header.export_label as Uint8Array;
    const from = header.export_seq_from as number;
    const to = header.export_seq_to as number;
    if (from < 1 || to < from || to - from + 1 !== evv.length) {
      fail("E.SEQ", `Seq range ${from}..${to} does not match ${evv.length} events`);
    }
    const covered = exportCheckpointStream(cp, label);
    if (covered === undefined) fail("E.SIG", "The export checkpoint does not cover the export label");
    if (covered.lastSeq < to) {
      fail("E.SEQ", `The export checkpoint covers stream_seq ${covered.lastSeq}, short of ${to}`);
    }
    const events: VerifiedEvent[] = [];
    evv.forEach((ev, i) => {
      try {
        if (!Array.isArray(ev) || ev.length !== 3 || !ev.every((x) => x instanceof Uint8Array)) {
          throw new VeenError("E.SIZE", "must be an array of 3 byte strings");
        }
        const [mb, rb, pb] = ev as Uint8Array[];
        const msg = decodeMsg(mb!, o.maxMsgBytes);
        const receipt = decodeReceipt(rb!);
        verifyReceiptForMsg(receipt, msg, cp.hubPk, [cp.profileId]);
        if (!verifyMsgSig(msg)) throw new VeenError("E.SIG", "MSG.sig does not verify");
        if (!bytesEqual(receipt.label, label)) throw new VeenError("E.SIG", "RECEIPT is for another label");
        if (receipt.streamSeq !== from + i) {
          throw new VeenError("E.SEQ", `stream_seq ${receipt.streamSeq} where ${from + i} was due`);
        }
        const proof = decodeMmrProof(pb!);
        if (
          !bytesEqual(proof.leafHash, receipt.leafHash) ||
          !verifyInclusion(proof, covered.mmrRoot, { seq: receipt.streamSeq, size: covered.lastSeq })
        ) {
          throw new VeenError(
            "E.SIG",
            "inclusion proof does not lead to the export checkpoint's mmr_root (I2)",
          );
        }
        const t0 = header.export_time_from as number;
        const t1 = header.export_time_to as number;
        if (receipt.hubTs < t0 || receipt.hubTs > t1) {
          throw new VeenError("E.TIME", `hub_ts ${receipt.hubTs} lies outside the header's ${t0}..${t1}`);
        }
        events.push({ msg, msgBytes: mb!, receipt, receiptBytes: rb! });
      } catch (e) {
        if (!(e instanceof VeenError)) throw e;
        fail(e.code, `Event ${i} (stream_seq ${from + i}): ${e.detail}`, i);
      }
    });
    if (!bytesEqual(H(encodeCbor(evv)), header.events_digest as Uint8Array)) {
      fail("E.SIG", "The events do not match the header's events_digest");
    }
    return { ok: true, bundle: { header, bundleId, exportCheckpoint: cp, events } };
  } catch (e) {
    if (!(e instanceof VeenError)) throw e;
    const position = (e as VeenError & { position?: number }).position;
    return {
      ok: false,
      code: e.code,
      reason: e.detail,
      ...(position === undefined ? {} : { position }),
      ...(claimed === undefined ? {} : { bundleId: claimed }),
    };
  }
}

/** The origin MSG as the import body carries it: chunks of at most 4096 bytes (body strings' bound). */
export function chunkBytes(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += MAX_BODY_STRING) out.push(b.subarray(i, i + MAX_BODY_STRING));
  return out;
}

/** The origin MSG bytes of an import body (its chunks joined); E.SIZE when origin_msg is not a list of bytes. */
export function originMsgBytes(rec: BodyRecord): Uint8Array {
  const v = rec.origin_msg;
  if (!Array.isArray(v) || !v.every((x) => x instanceof Uint8Array)) {
    throw new VeenError("E.SIZE", "bridge.import.v1 origin_msg must be a list of byte strings");
  }
  return concat(...(v as Uint8Array[]));
}
