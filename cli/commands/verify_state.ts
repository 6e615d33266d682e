/**
 * `veen verify-state` (CLI-GOALS-1 §9.3, CORE-GOALS 1.4): compares the client's stored view (last_stream_seq,
 * last_mmr_root, peaks) with the hub's signed RECEIPTs, proofs and latest CHECKPOINT, without changing state.
 * Prints `consistent: yes|no` and, on no, `mismatch_at: K`, the first stream_seq known to differ (for a peak
 * mismatch, the first leaf of the oldest differing peak). Exit 4 on no, and exit 4 E.NOT_FOUND when the client has
 * no state for the stream: with nothing to verify it does not claim consistency.
 */
import { toHex, VeenError } from "../../core/mod.ts";
import { findLabel, readState, viewOf } from "../client_state.ts";
import {
  checkCheckpoint,
  checkpointKey,
  checkReceipt,
  firstDifferingPeak,
  type ItemContext,
  peaksFromLastLeafProof,
  receiptKey,
  storedRootMatches,
} from "../client_view.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  connectFromFlags,
  HUB_FLAG,
  HUB_KEY_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { checkFailure } from "../../cmd/mod.ts";
import { itemContext, streamTarget } from "../hub_session.ts";
import { provesPrefix, viewAgrees } from "../view_sync.ts";
import { heldCheckpointEquivocation } from "../equivocation_report.ts";
import { checkWitnesses, WITNESS_FLAGS, witnessRequirement } from "../witness_requirement.ts";

export const verifyState: Command = {
  path: ["verify-state"],
  summary: "check the client's stored view against the hub",
  usage:
    "veen verify-state --hub H --client DIR --stream NAME [--witness-key HEX32... --require-witnesses K]",
  flags: [HUB_FLAG, CLIENT_FLAG, STREAM_FLAG, HUB_KEY_FLAG, ...WITNESS_FLAGS],
  async run(ctx) {
    const witnesses = witnessRequirement(ctx);
    const dir = clientDir(ctx);
    const state = await readState(dir);
    const session = await connectFromFlags(ctx, state);
    const target = streamTarget(session, ctx.flags.req("stream"));
    const http = session.http;
    const ictx: ItemContext = itemContext(session, target.label);
    const ls = findLabel(state, session.hubId, target.label);
    const view = viewOf(ls);
    const s = view.size;
    if (s === 0) {
      throw checkFailure(
        new VeenError(
          "E.NOT_FOUND",
          `No local state for stream "${target.stream}" at this hub: nothing to verify (run resync first)`,
        ),
        { json: { stream: target.stream, label: toHex(target.label), local_stream_seq: 0 } },
      );
    }
    const stored = ls?.last_mmr_root ?? null;
    const problems: string[] = [];
    let mismatchAt: number | undefined;
    const mismatch = (k: number, why: string) => {
      problems.push(why);
      mismatchAt = mismatchAt === undefined ? k : Math.min(mismatchAt, k);
    };

    const localOk = storedRootMatches(view, stored);
    if (!localOk) mismatch(s, "the stored mmr_root is not the root of the stored peaks");
    const n = await http.labelSize(target.label);
    let hubRootAtS: string | undefined;
    if (s > n) mismatch(n + 1, `the hub has ${n} items but the client's view has ${s}`);
    if (s > 0 && s <= n) {
      const { receipt } = await http.receipt(target.label, s);
      checkReceipt(receipt, receiptKey(receipt, ictx), target.label);
      hubRootAtS = toHex(receipt.mmrRoot);
      if (hubRootAtS !== stored) {
        const { proof } = await http.proof(target.label, s, s);
        const diff = firstDifferingPeak(s, view.peaks(), peaksFromLastLeafProof(proof, s, receipt.mmrRoot));
        mismatch(diff?.from ?? s, `the hub's root at stream_seq ${s} is not the client's stored root`);
      } else if (s < n) {
        const { receipt: last } = await http.receipt(target.label, n);
        checkReceipt(last, receiptKey(last, ictx), target.label);
        if (!(await provesPrefix(http, target.label, s, receipt.mmrRoot, n, last.mmrRoot))) {
          mismatch(s + 1, `the hub cannot prove that its log at ${n} extends the client's view at ${s}`);
        }
      }
    }
    const latest = await http.checkpointLatest(target.label);
    const held = ls?.checkpoint ?? null;
    const eq = held === null
      ? undefined
      : await heldCheckpointEquivocation(http, session.hubPk, target.label, held, latest);
    if (eq !== undefined) mismatch(held!.upto_seq, eq);
    let cpLine = "checkpoint: none";
    if (latest !== undefined) {
      const cp = latest.checkpoint;
      cpLine = `checkpoint: upto_seq ${cp.uptoSeq} epoch ${cp.epoch}`;
      checkWitnesses(cp, witnesses);
      if (localOk && problems.length === 0) {
        checkCheckpoint(cp, checkpointKey(cp, ictx), ictx.label);
        if (!(await viewAgrees(http, target.label, cp.uptoSeq, cp.mmrRoot, view))) {
          mismatch(
            Math.min(cp.uptoSeq, s),
            `CHECKPOINT upto_seq ${cp.uptoSeq} is inconsistent with the client's view`,
          );
        }
      }
    }
    const consistent = problems.length === 0;
    const lines = [
      `label: ${toHex(target.label)}`,
      `local_stream_seq: ${s}`,
      `local_mmr_root: ${stored ?? "-"}`,
      `hub_stream_seq: ${n}`,
      `hub_mmr_root_at_local_seq: ${hubRootAtS ?? "-"}`,
      cpLine,
      `consistent: ${consistent ? "yes" : "no"}`,
      ...(mismatchAt === undefined ? [] : [`mismatch_at: ${mismatchAt}`]),
      ...problems.map((p) => `problem: ${p}`),
    ];
    const json = {
      stream: target.stream,
      label: toHex(target.label),
      local_stream_seq: s,
      local_mmr_root: stored,
      hub_stream_seq: n,
      hub_mmr_root_at_local_seq: hubRootAtS ?? null,
      checkpoint_upto_seq: latest?.checkpoint.uptoSeq ?? null,
      consistent,
      mismatch_at: mismatchAt ?? null,
      problems,
    };
    if (!consistent) {
      throw checkFailure(new VeenError("E.SEQ", `State is inconsistent: ${problems[0]}`), { lines, json });
    }
    ctx.out.result(json, lines);
    return 0;
  },
};
