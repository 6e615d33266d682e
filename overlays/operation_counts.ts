/**
 * The operation counts fold (CLI goals 3 §8 `audit summary`; complexity contract, spec 001 L151-203): per profile
 * schema name, how many records of it a stream holds and the stream_seq of the first one. The summary has one entry
 * per profile (a bounded table), so a warm `audit summary` folds only the new items.
 *
 * merge of adjacent ranges adds the counts and keeps the left range's first stream_seq when it has one:
 * associative, identity the empty table. Entries rejected by the operation log (cap_ref, body) are not counted.
 */
import { damaged, type Fold, jsonObject, jsonUint } from "./fold.ts";
import { applyOperation } from "./operation_log.ts";
import { profileByName } from "./operation_profiles.ts";

export interface SchemaCount {
  count: number;
  /** stream_seq of the first record of the schema. */
  first: number;
}

/** schema name → its count. */
export type OperationCounts = Map<string, SchemaCount>;

export const OPERATION_COUNTS: Fold<OperationCounts> = {
  kind: "veen.operations.counts",
  schema: new Uint8Array(32),
  empty: () => new Map(),
  merge(l, r) {
    const out: OperationCounts = new Map();
    for (const [k, v] of l) out.set(k, { ...v });
    for (const [k, v] of r) {
      const o = out.get(k);
      out.set(k, o === undefined ? { ...v } : { count: o.count + v.count, first: o.first });
    }
    return out;
  },
  apply: applyOperation(() => true, (s: OperationCounts, r) => {
    const o = s.get(r.codec.name);
    if (o === undefined) s.set(r.codec.name, { count: 1, first: r.seq });
    else o.count++;
  }),
  toJson: (s) => Object.fromEntries([...s.keys()].sort().map((k) => [k, s.get(k)!])),
  fromJson(v: unknown): OperationCounts {
    const s: OperationCounts = new Map();
    for (const [k, x] of Object.entries(jsonObject(v, "operation counts"))) {
      if (profileByName(k) === undefined) damaged(`"${k}" is not a profile`);
      const o = jsonObject(x, k);
      s.set(k, { count: jsonUint(o.count, `${k}.count`), first: jsonUint(o.first, `${k}.first`) });
    }
    return s;
  },
};

/** The counts by schema name, in the order each schema first appears in the stream. */
export function countsJson(s: OperationCounts): Record<string, number> {
  const names = [...s.keys()].sort((a, b) => s.get(a)!.first - s.get(b)!.first);
  return Object.fromEntries(names.map((k) => [k, s.get(k)!.count]));
}
