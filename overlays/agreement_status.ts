/**
 * Agreement status (spec-3 §5.3-5.4; CLI goals 3 §6.2): definitions by (agreement_id, version), and for each party
 * its last confirmation in stream order (M1: a later decision supersedes an earlier one). A confirmation counts only
 * when its signer (MSG.client_id) is the party_identity it names and the party is listed in the definition. The
 * agreement is active at `now` when every party's last decision is "accept", effective_time (if any) has passed and
 * expiry_time (if any) has not.
 *
 * The agreement fold (AGREEMENT_FOLD; complexity contract, spec 001 L151-203) keeps per (agreement_id, version)
 * the last definition, each identity's last self-signed decision and, for the `ignored` list of the status, the
 * (stream_seq, party, signed) of each confirmation — never the other operations of the stream, nor bodies. merge
 * of adjacent ranges: the right range's definition and decisions replace the left's (they are later in stream
 * order), confirmations concatenate; associative with the empty summary as identity.
 */
import { toHex } from "../core/mod.ts";
import { damaged, type Fold, jsonArray, jsonObject, jsonUint } from "./fold.ts";
import { applyOperation, type OperationRecord } from "./operation_log.ts";

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

interface Definition {
  seq: number;
  parties: string[];
  effective_time?: number;
  expiry_time?: number;
}
interface Decision {
  decision: string;
  decision_time: number;
  seq: number;
}
interface Confirmation {
  seq: number;
  party: string;
  signed: boolean;
}
interface VersionSummary {
  def?: Definition;
  /** party → its last self-signed decision. */
  last: Map<string, Decision>;
  confirmations: Confirmation[];
}
/** agreement_id hex → version → what the range says of it. */
export type Agreements = Map<string, Map<number, VersionSummary>>;

function versionOf(s: Agreements, id: string, v: number): VersionSummary {
  let byVersion = s.get(id);
  if (byVersion === undefined) s.set(id, byVersion = new Map());
  let vs = byVersion.get(v);
  if (vs === undefined) byVersion.set(v, vs = { last: new Map(), confirmations: [] });
  return vs;
}

/** Folds one record (in stream order) into `s`; false when it is not an agreement record. */
export function applyAgreement(s: Agreements, r: OperationRecord): boolean {
  const kind = r.codec.name;
  if (kind !== "agreement.definition.v1" && kind !== "agreement.confirmation.v1") return false;
  const vs = versionOf(s, toHex(r.body.agreement_id as Uint8Array), r.body.version as number);
  if (kind === "agreement.definition.v1") {
    const eff = r.body.effective_time as number | undefined;
    const exp = r.body.expiry_time as number | undefined;
    vs.def = {
      seq: r.seq,
      parties: (r.body.parties as Uint8Array[]).map(toHex),
      ...(eff === undefined ? {} : { effective_time: eff }),
      ...(exp === undefined ? {} : { expiry_time: exp }),
    };
    return true;
  }
  const party = toHex(r.body.party_identity as Uint8Array);
  const signed = toHex(r.clientId) === party;
  vs.confirmations.push({ seq: r.seq, party, signed });
  if (signed) {
    vs.last.set(party, {
      decision: r.body.decision as string,
      decision_time: (r.body.decision_time as number | undefined) ?? r.hubTs,
      seq: r.seq,
    });
  }
  return true;
}

function mergeAgreements(l: Agreements, r: Agreements): Agreements {
  const out: Agreements = new Map();
  for (const side of [l, r]) {
    for (const [id, byVersion] of side) {
      for (const [v, vs] of byVersion) {
        const o = versionOf(out, id, v);
        if (vs.def !== undefined) o.def = vs.def;
        for (const [p, d] of vs.last) o.last.set(p, d);
        o.confirmations.push(...vs.confirmations);
      }
    }
  }
  return out;
}

const optUint = (v: unknown, what: string) => v === undefined ? undefined : jsonUint(v, what);
const hex32 = (v: unknown, what: string): string => {
  if (typeof v !== "string" || !/^[0-9a-f]{64}$/.test(v)) damaged(`${what} is not 32 bytes of hex`);
  return v;
};

export const AGREEMENT_FOLD: Fold<Agreements> = {
  kind: "veen.operations.agreements",
  schema: new Uint8Array(32),
  empty: () => new Map(),
  merge: mergeAgreements,
  apply: applyOperation((name) => name.startsWith("agreement."), applyAgreement),
  toJson: (s) =>
    [...s.keys()].sort().map((id) => ({
      agreement_id: id,
      versions: [...s.get(id)!.keys()].sort((a, b) => a - b).map((v) => {
        const vs = s.get(id)!.get(v)!;
        return {
          version: v,
          ...(vs.def === undefined ? {} : { definition: vs.def }),
          last: [...vs.last.keys()].sort().map((p) => ({ party: p, ...vs.last.get(p)! })),
          confirmations: vs.confirmations,
        };
      }),
    })),
  fromJson(v: unknown): Agreements {
    const s: Agreements = new Map();
    for (const a of jsonArray(v, "agreements")) {
      const ao = jsonObject(a, "agreements[]");
      const id = hex32(ao.agreement_id, "agreement_id");
      for (const x of jsonArray(ao.versions, "versions")) {
        const xo = jsonObject(x, "versions[]");
        const vs = versionOf(s, id, jsonUint(xo.version, "version"));
        if (xo.definition !== undefined) {
          const d = jsonObject(xo.definition, "definition");
          const eff = optUint(d.effective_time, "effective_time");
          const exp = optUint(d.expiry_time, "expiry_time");
          vs.def = {
            seq: jsonUint(d.seq, "definition.seq"),
            parties: jsonArray(d.parties, "parties").map((p) => hex32(p, "parties[]")),
            ...(eff === undefined ? {} : { effective_time: eff }),
            ...(exp === undefined ? {} : { expiry_time: exp }),
          };
        }
        for (const l of jsonArray(xo.last, "last")) {
          const lo = jsonObject(l, "last[]");
          if (typeof lo.decision !== "string") damaged("last[].decision is not text");
          vs.last.set(hex32(lo.party, "last[].party"), {
            decision: lo.decision,
            decision_time: jsonUint(lo.decision_time, "last[].decision_time"),
            seq: jsonUint(lo.seq, "last[].seq"),
          });
        }
        for (const c of jsonArray(xo.confirmations, "confirmations")) {
          const co = jsonObject(c, "confirmations[]");
          if (typeof co.signed !== "boolean") damaged("confirmations[].signed is not a boolean");
          vs.confirmations.push({
            seq: jsonUint(co.seq, "confirmations[].seq"),
            party: hex32(co.party, "confirmations[].party"),
            signed: co.signed,
          });
        }
      }
    }
    return s;
  },
};

/** The status of `agreementId` at `version` (default: the highest defined version) at time `now`. */
export function agreementStatus(
  records: readonly OperationRecord[],
  agreementId: Uint8Array,
  version: number | undefined,
  now: number,
): AgreementStatus {
  const s: Agreements = new Map();
  for (const r of records) applyAgreement(s, r);
  return agreementStatusOf(s, agreementId, version, now);
}

/** agreementStatus from the fold's summary. */
export function agreementStatusOf(
  s: Agreements,
  agreementId: Uint8Array,
  version: number | undefined,
  now: number,
): AgreementStatus {
  const id = toHex(agreementId);
  const byVersion = s.get(id) ?? new Map<number, VersionSummary>();
  const defined = [...byVersion].filter(([, vs]) => vs.def !== undefined).map(([v]) => v);
  const v = version ?? (defined.length === 0 ? undefined : Math.max(...defined));
  // The last definition of (agreement_id, version) in stream order describes it (M2: definitions are rare).
  const vs = v === undefined ? undefined : byVersion.get(v);
  const def = vs?.def;
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
  if (vs === undefined || def === undefined) return out;
  const parties = def.parties;
  for (const c of vs.confirmations) {
    if (!parties.includes(c.party)) {
      out.ignored.push({ stream_seq: c.seq, reason: "not a party of the definition" });
    } else if (!c.signed) out.ignored.push({ stream_seq: c.seq, reason: "not signed by the party" });
  }
  out.parties = parties.map((p) => {
    const c = vs.last.get(p);
    return {
      identity: p,
      decision: c?.decision ?? null,
      decision_time: c?.decision_time ?? null,
      stream_seq: c?.seq ?? null,
    };
  });
  const eff = def.effective_time;
  const exp = def.expiry_time;
  out.effective = eff === undefined || now >= eff;
  out.expired = exp !== undefined && now >= exp;
  out.active = out.effective && !out.expired && out.parties.length > 0 &&
    out.parties.every((p) => p.decision === "accept");
  return out;
}
