/**
 * Routes of proven equivocation and of the witness role (docs/protocol.md "Equivocation and witnesses"):
 * `GET /equivocations`, `GET /witness/last`, `POST /witness/cosign`.
 */
import {
  type CborValue,
  checkpointFromCbor,
  decodeCbor,
  decodeConsistencyProof,
  encodeCbor,
  expectArray,
  expectBytes,
  toHex,
  VeenError,
} from "../core/mod.ts";
import type { EquivocationLog } from "./equivocation_log.ts";
import { cborResponse, jsonResponse, type Query } from "./http.ts";
import type { Witness } from "./witness.ts";

/** Proofs a GET /equivocations page holds at most. */
export const EQUIVOCATIONS_PAGE_MAX = 100;
/** Largest POST /witness/cosign body: a CHECKPOINT with witness_sigs and a consistency proof. */
export const COSIGN_BODY_MAX = 64 * 1024;

/** GET /equivocations[?from=N][&limit=M]: `{count, equivocations: [{label, stream_seq, reported_at, a, b}]}`. */
export function equivocationsPage(log: EquivocationLog, q: Query): Response {
  const from = q.uint("from", 0);
  const limit = Math.min(Math.max(1, q.uint("limit", EQUIVOCATIONS_PAGE_MAX)), EQUIVOCATIONS_PAGE_MAX);
  return jsonResponse({
    count: log.count,
    equivocations: log.list(from, limit).map((e) => ({
      label: toHex(e.label),
      stream_seq: e.seq,
      reported_at: e.reportedAt,
      a: toHex(e.a),
      b: toHex(e.b),
    })),
  });
}

/** GET /witness/last?hub_pk=HEX&label=HEX: `{upto_seq, mmr_root}` last cosigned; E.NOT_FOUND when none. */
export function witnessLast(w: Witness, q: Query): Response {
  const hubPk = q.label("hub_pk");
  const label = q.label();
  const last = w.last(hubPk, label);
  if (last === undefined) {
    throw new VeenError(
      "E.NOT_FOUND",
      `No CHECKPOINT of label ${toHex(label)} cosigned for hub ${toHex(hubPk)}`,
    );
  }
  return jsonResponse({
    upto_seq: last.uptoSeq,
    mmr_root: toHex(last.mmrRoot),
    witness_pk: toHex(w.publicKey),
  });
}

/** POST /witness/cosign `[CHECKPOINT, consistency_proof bytes / null]` → CBOR `{witness_pk, sig}`. */
export async function witnessCosign(w: Witness, body: Uint8Array): Promise<Response> {
  if (!w.active) throw new VeenError("E.AUTH", "This hub witnesses no hub (witness_for is empty)");
  const [cp, proof] = expectArray(decodeCbor(body, "cosign request"), 2, "cosign request");
  const c = checkpointFromCbor(cp!);
  const p = proof === null
    ? null
    : decodeConsistencyProof(expectBytes(proof, undefined, "consistency_proof"));
  const sig = await w.cosign(c, p);
  return cborResponse(encodeCbor(new Map<string, CborValue>([["witness_pk", w.publicKey], ["sig", sig]])));
}
