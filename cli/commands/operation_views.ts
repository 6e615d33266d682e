/**
 * The folding commands of the operation profiles (CLI goals 3 §6.2-6.4), each resumed from the client's summary:
 * - `agreement status`: each party's last decision; active when all accepted, effective and unexpired (the
 *   agreement fold, overlays/agreement_status.ts: per agreement, not the operation log);
 * - `snapshot verify`: the state.checkpoint.v1 for (state_id, upto_stream_seq) against the recomputed state_hash
 *   and the hub's RECEIPT mmr_root at upto_stream_seq; exit 4 naming the first mismatch (wallet.ledger from the
 *   record index, cli/operation_reader.ts: the paid operations of state_id up to upto_stream_seq and the
 *   checkpoints of (state_id, upto_stream_seq), nothing else; the map classes from the block summaries of their
 *   folds, cli/state_classes.ts);
 * - `recovery timeline`: requests, approvals and executions of a target identity, each execution's verdict (the
 *   recovery log, overlays/operation_log.ts RECOVERY_LOG: the recovery records only, still a list since each
 *   execution is checked against the approvals before it).
 */
import { toHex, VeenError } from "../../core/mod.ts";
import { checkFailure, parseHex32, parseUint } from "../../cmd/mod.ts";
import {
  AGREEMENT_FOLD,
  agreementStatusOf,
  OPERATION_KEYS,
  RECOVERY_LOG,
  recoveryTimeline,
} from "../../overlays/mod.ts";
import {
  CLIENT_FLAG,
  type Command,
  HUB_FLAG,
  HUB_KEY_FLAG,
  nowSec,
  PASSPHRASE_FLAG,
  REFOLD_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { computeSnapshot } from "../operation_reader.ts";
import { foldJson, readFold } from "./crdt.ts";
import { RECOVERY_POLICY_FLAGS, recoveryPolicy } from "./recovery_flags.ts";

const READ = [HUB_FLAG, CLIENT_FLAG, STREAM_FLAG];
const TAIL = [REFOLD_FLAG, HUB_KEY_FLAG, PASSPHRASE_FLAG];

export const agreementStatusCmd: Command = {
  path: ["agreement", "status"],
  summary: "the status of an agreement: each party's last decision, active or not",
  usage:
    "veen agreement status --hub H --client DIR --stream NAME --agreement-id HEX32 [--version N] [--at UNIX]",
  flags: [
    ...READ,
    { name: "agreement-id", metavar: "HEX32", required: true, help: "agreement_id" },
    { name: "version", metavar: "N", help: "version (default: the highest defined)" },
    { name: "at", metavar: "UNIX", help: "time the status is evaluated at (default: now)" },
    ...TAIL,
  ],
  async run(ctx) {
    const id = parseHex32(ctx.flags.req("agreement-id"), "--agreement-id");
    const v = ctx.flags.str("version");
    const at = ctx.flags.str("at");
    const { cursor } = await readFold(ctx, AGREEMENT_FOLD);
    const s = agreementStatusOf(
      cursor.state,
      id,
      v === undefined ? undefined : parseUint(v, "--version"),
      at === undefined ? nowSec(ctx) : parseUint(at, "--at"),
    );
    ctx.out.result({ ...s, ...foldJson(cursor) }, [
      `agreement_id: ${s.agreement_id}`,
      `version: ${s.version ?? "none"}`,
      `defined: ${s.defined}`,
      `active: ${s.active}`,
      ...s.parties.map((p) => `party ${p.identity}: ${p.decision ?? "none"} (${p.decision_time ?? "-"})`),
    ]);
    return 0;
  },
};

export const snapshotVerify: Command = {
  path: ["snapshot", "verify"],
  summary: "check a state checkpoint: recomputed state_hash and the hub's mmr_root at upto_stream_seq",
  usage:
    "veen snapshot verify --hub H --client DIR --stream NAME --state-id HEX32 --upto-stream-seq N --state-class CLASS",
  flags: [
    ...READ,
    { name: "state-id", metavar: "HEX32", required: true, help: "state_id" },
    { name: "upto-stream-seq", metavar: "N", required: true, help: "upto_stream_seq" },
    {
      name: "state-class",
      metavar: "CLASS",
      required: true,
      help: "state_class: wallet.ledger, counter.map or configuration.map",
    },
    ...TAIL,
  ],
  async run(ctx) {
    const stateId = parseHex32(ctx.flags.req("state-id"), "--state-id");
    const upto = parseUint(ctx.flags.req("upto-stream-seq"), "--upto-stream-seq", { min: 1 });
    const cls = ctx.flags.req("state-class");
    const snap = await computeSnapshot(ctx, stateId, upto, cls);
    const id = toHex(stateId);
    // S1: the latest checkpoint in stream order for (state_id, upto_stream_seq) is the one checked.
    const cp = await snap.ops.latest(OPERATION_KEYS.checkpoint(id, upto));
    const json: Record<string, unknown> = {
      state_id: id,
      upto_stream_seq: upto,
      state_class: cls,
      computed_state_hash: toHex(snap.stateHash),
      receipt_mmr_root: toHex(snap.mmrRoot),
      checkpoint_stream_seq: cp?.seq ?? null,
    };
    const lines = Object.entries(json).map(([k, v]) => `${k}: ${v ?? "none"}`);
    const fold = foldJson(snap.cursor);
    const fail = (code: "E.NOT_FOUND" | "E.SIG", mismatch: string, detail: string) =>
      checkFailure(new VeenError(code, detail), {
        lines: [...lines, `consistent: false`, `first_mismatch: ${mismatch}`],
        json: { ...json, consistent: false, first_mismatch: mismatch, ...fold },
      });
    if (cp === undefined) {
      throw fail("E.NOT_FOUND", "checkpoint", `No state.checkpoint.v1 for state ${id} at stream_seq ${upto}`);
    }
    if (cp.body.state_class !== cls) {
      throw fail(
        "E.SIG",
        "state_class",
        `The checkpoint's state_class is "${cp.body.state_class}", not "${cls}"`,
      );
    }
    if (toHex(cp.body.mmr_root as Uint8Array) !== toHex(snap.mmrRoot)) {
      throw fail("E.SIG", "mmr_root", `The checkpoint's mmr_root is not the hub's RECEIPT root at ${upto}`);
    }
    if (toHex(cp.body.state_hash as Uint8Array) !== toHex(snap.stateHash)) {
      throw fail("E.SIG", "state_hash", "The checkpoint's state_hash is not the recomputed state_hash");
    }
    ctx.out.result({ ...json, consistent: true, first_mismatch: null, ...fold }, [
      ...lines,
      "consistent: true",
    ]);
    return 0;
  },
};

export const recoveryTimelineCmd: Command = {
  path: ["recovery", "timeline"],
  summary: "requests, approvals and executions of a recovery, and whether each execution takes effect",
  usage:
    "veen recovery timeline --hub H --client DIR --stream NAME --target-identity HEX32 [--threshold N] [--guardian HEX32]...",
  flags: [
    ...READ,
    { name: "target-identity", metavar: "HEX32", required: true, help: "target_identity" },
    ...RECOVERY_POLICY_FLAGS,
    ...TAIL,
  ],
  async run(ctx) {
    const target = ctx.flags.req("target-identity");
    parseHex32(target, "--target-identity");
    const { cursor } = await readFold(ctx, RECOVERY_LOG);
    const events = recoveryTimeline(cursor.state.records, recoveryPolicy(ctx), target.toLowerCase());
    const applied = events.filter((e) => e.type === "execution" && e.effective === true).at(-1);
    ctx.out.result(
      {
        target_identity: target.toLowerCase(),
        events,
        current_identity: applied?.new_identity ?? target.toLowerCase(),
        ...foldJson(cursor),
      },
      events.map((e) =>
        `${e.stream_seq} ${e.type} ${e.msg_id.slice(0, 16)}… ` +
        (e.type === "approval"
          ? `approver ${e.approver_identity} ${e.decision}`
          : e.type === "request"
          ? `new ${e.requested_new_identity}`
          : `new ${e.new_identity} ${e.effective ? "effective" : `rejected: ${e.reason}`}`)
      ),
    );
    return 0;
  },
};

export const OPERATION_VIEW_COMMANDS: readonly Command[] = [
  agreementStatusCmd,
  snapshotVerify,
  recoveryTimelineCmd,
];
