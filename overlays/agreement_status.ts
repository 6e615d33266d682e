/**
 * Agreement status (spec-3 §5.3-5.4; CLI goals 3 §6.2): definitions by (agreement_id, version), and for each party
 * its last confirmation in stream order (M1: a later decision supersedes an earlier one). A confirmation counts only
 * when its signer (MSG.client_id) is the party_identity it names and the party is listed in the definition. The
 * agreement is active at `now` when every party's last decision is "accept", effective_time (if any) has passed and
 * expiry_time (if any) has not.
 */
import { toHex } from "../core/mod.ts";
import type { OperationRecord } from "./operation_log.ts";

export interface PartyStatus {
  identity: string;
  decision: string | null;
  decision_time: number | null;
  stream_seq: number | null;
}

export interface AgreementStatus {
  agreement_id: string;
  version: number | null;
  defined: boolean;
  active: boolean;
  effective: boolean;
  expired: boolean;
  parties: PartyStatus[];
  /** Confirmations not counted: (stream_seq, why). */
  ignored: { stream_seq: number; reason: string }[];
}

/** The status of `agreementId` at `version` (default: the highest defined version) at time `now`. */
export function agreementStatus(
  records: readonly OperationRecord[],
  agreementId: Uint8Array,
  version: number | undefined,
  now: number,
): AgreementStatus {
  const id = toHex(agreementId);
  const defs = records.filter((r) =>
    r.codec.name === "agreement.definition.v1" && toHex(r.body.agreement_id as Uint8Array) === id
  );
  const v = version ??
    (defs.length === 0 ? undefined : Math.max(...defs.map((d) => d.body.version as number)));
  // The last definition of (agreement_id, version) in stream order describes it (M2: definitions are rare).
  const def = defs.filter((d) => d.body.version === v).at(-1);
  const out: AgreementStatus = {
    agreement_id: id,
    version: v ?? null,
    defined: def !== undefined,
    active: false,
    effective: false,
    expired: false,
    parties: [],
    ignored: [],
  };
  if (def === undefined) return out;
  const parties = (def.body.parties as Uint8Array[]).map(toHex);
  const last = new Map<string, OperationRecord>();
  for (const r of records) {
    if (r.codec.name !== "agreement.confirmation.v1") continue;
    if (toHex(r.body.agreement_id as Uint8Array) !== id || r.body.version !== v) continue;
    const party = toHex(r.body.party_identity as Uint8Array);
    if (!parties.includes(party)) {
      out.ignored.push({ stream_seq: r.seq, reason: "not a party of the definition" });
    } else if (toHex(r.clientId) !== party) {
      out.ignored.push({ stream_seq: r.seq, reason: "not signed by the party" });
    } else last.set(party, r);
  }
  out.parties = parties.map((p) => {
    const c = last.get(p);
    return {
      identity: p,
      decision: (c?.body.decision as string | undefined) ?? null,
      decision_time: (c?.body.decision_time as number | undefined) ?? c?.hubTs ?? null,
      stream_seq: c?.seq ?? null,
    };
  });
  const eff = def.body.effective_time as number | undefined;
  const exp = def.body.expiry_time as number | undefined;
  out.effective = eff === undefined || now >= eff;
  out.expired = exp !== undefined && now >= exp;
  out.active = out.effective && !out.expired && out.parties.length > 0 &&
    out.parties.every((p) => p.decision === "accept");
  return out;
}
