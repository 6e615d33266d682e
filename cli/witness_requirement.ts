/**
 * A client's witness requirement (spec 002 §3.4, 004 §5 witness_sigs): `--witness-key HEX32` (repeatable) names the
 * witnesses the client trusts and `--require-witnesses K` refuses a CHECKPOINT unless at least K of those keys have
 * a valid witness signature on it (E.SIG). Without --require-witnesses nothing is required.
 */
import { type Checkpoint, fromHex, hasWitness, toHex, VeenError } from "../core/mod.ts";
import { type FlagSpec, usageError } from "../cmd/mod.ts";
import type { CommandContext } from "./context.ts";

export const WITNESS_FLAGS: FlagSpec[] = [
  { name: "witness-key", metavar: "HEX32", multiple: true, help: "a trusted witness public key" },
  {
    name: "require-witnesses",
    metavar: "K",
    help: "refuse a CHECKPOINT without valid signatures of K of the --witness-key keys",
  },
];

export interface WitnessRequirement {
  keys: Uint8Array[];
  k: number;
}

/** The requirement given by the flags; undefined without --require-witnesses. */
export function witnessRequirement(ctx: CommandContext): WitnessRequirement | undefined {
  const keys = ctx.flags.list("witness-key").map((h) => {
    if (!/^[0-9a-fA-F]{64}$/.test(h)) throw usageError(`--witness-key "${h}" must be 64 hex characters`);
    return fromHex(h.toLowerCase(), 32, "--witness-key");
  });
  const k = ctx.flags.int("require-witnesses", { min: 1 });
  if (k === undefined) {
    if (keys.length > 0) throw usageError("--witness-key needs --require-witnesses");
    return undefined;
  }
  const distinct = new Set(keys.map(toHex)).size;
  if (distinct < k) {
    throw usageError(
      `--require-witnesses ${k} needs at least ${k} distinct --witness-key keys, got ${distinct}`,
    );
  }
  return { keys, k };
}

/** The number of distinct trusted witnesses that signed `c`; E.SIG when fewer than required. */
export function checkWitnesses(c: Checkpoint, req: WitnessRequirement | undefined): number {
  if (req === undefined) return 0;
  const signed = new Set(req.keys.filter((k) => hasWitness(c, k)).map(toHex)).size;
  if (signed < req.k) {
    throw new VeenError(
      "E.SIG",
      `CHECKPOINT upto_seq ${c.uptoSeq} has valid signatures of ${signed} trusted witnesses, ${req.k} required`,
    );
  }
  return signed;
}
