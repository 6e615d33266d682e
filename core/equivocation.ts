/**
 * Equivocation (spec 004 §16 /report_equivocation, I-safety of the log): two statements signed by one hub key that
 * disagree about one position of a label prove the hub forked it. RECEIPTs agree when they share (label,
 * stream_seq) only if leaf_hash and mmr_root are equal; CHECKPOINTs for (label_curr, upto_seq) must have one
 * mmr_root; a RECEIPT and a CHECKPOINT at the same label and seq must have one mmr_root.
 */
import { type CborValue, expectArray } from "./cbor.ts";
import { bytesEqual } from "./bytes.ts";
import { type Checkpoint, checkpointFromCbor, verifyCheckpointSig } from "./checkpoint.ts";
import { VeenError } from "./errors.ts";
import { type Receipt, receiptFromCbor, verifyReceiptSig } from "./receipt.ts";

/** A signed statement about a label's position: a RECEIPT or a CHECKPOINT. */
export type Statement = { kind: "receipt"; r: Receipt } | { kind: "checkpoint"; c: Checkpoint };

/** Decodes a RECEIPT or a CHECKPOINT (E.SIZE when it is neither). */
export function statementFromCbor(v: CborValue): Statement {
  try {
    return { kind: "receipt", r: receiptFromCbor(v) };
  } catch {
    try {
      return { kind: "checkpoint", c: checkpointFromCbor(v) };
    } catch {
      throw new VeenError("E.SIZE", "Equivocation evidence must be a RECEIPT or a CHECKPOINT");
    }
  }
}

function position(s: Statement): { label: Uint8Array; seq: number; root: Uint8Array; leaf?: Uint8Array } {
  return s.kind === "receipt"
    ? { label: s.r.label, seq: s.r.streamSeq, root: s.r.mmrRoot, leaf: s.r.leafHash }
    : { label: s.c.labelCurr, seq: s.c.uptoSeq, root: s.c.mmrRoot };
}

function verifies(s: Statement, hubPk: Uint8Array): boolean {
  return s.kind === "receipt" ? verifyReceiptSig(s.r, hubPk) : verifyCheckpointSig(s.c, hubPk);
}

/** The position both statements are about when they prove equivocation under `hubPk`, else undefined. */
export function equivocation(
  a: Statement,
  b: Statement,
  hubPk: Uint8Array,
): { label: Uint8Array; seq: number } | undefined {
  const x = position(a);
  const y = position(b);
  if (!bytesEqual(x.label, y.label) || x.seq !== y.seq) return undefined;
  const differ = !bytesEqual(x.root, y.root) ||
    (x.leaf !== undefined && y.leaf !== undefined && !bytesEqual(x.leaf, y.leaf));
  if (!differ || !verifies(a, hubPk) || !verifies(b, hubPk)) return undefined;
  return { label: x.label, seq: x.seq };
}

/** Decodes the `[statement, statement]` body of /report_equivocation. */
export function decodeEquivocationReport(v: CborValue): [Statement, Statement] {
  const [a, b] = expectArray(v, 2, "equivocation report");
  return [statementFromCbor(a!), statementFromCbor(b!)];
}
