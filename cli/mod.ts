/**
 * The client side of the `veen` CLI (CLI-GOALS-1): the table of client commands. The root `mod.ts` runs it
 * together with the other roles' tables through the command framework (cmd/).
 *
 * @example Run a command with captured output
 * ```ts
 * import assert from "node:assert/strict";
 * import { cliMain } from "./mod.ts";
 * import { captureIo } from "../cmd/mod.ts";
 * const io = captureIo();
 * assert.equal(await cliMain(["schema-id", "wallet.transfer.v1"], io), 0);
 * assert.match(io.stdout(), /^[0-9a-f]{64}\n$/);
 * ```
 * @module
 */
import { findCommand, type Io, processIo, type Program, runProgram } from "../cmd/mod.ts";
import { anchorPublish, anchorVerify } from "./commands/anchor.ts";
import { attachmentVerify } from "./commands/attachment_verify.ts";
import { benchSend } from "./commands/bench.ts";
import { benchFold } from "./commands/bench_fold.ts";
import { capAuthorize, capFetch, capIssue, capStatus } from "./commands/cap.ts";
import { CRDT_COMMANDS } from "./commands/crdt.ts";
import { explainError } from "./commands/explain_error.ts";
import { FEDERATE_COMMANDS } from "./commands/federate.ts";
import { FED_AUTHORITY_COMMANDS } from "./commands/fed_authority.ts";
import { hubCheckpoint, hubVerifyRotation } from "./commands/hub_checkpoint.ts";
import { hubAdmission, hubAdmissionLog } from "./commands/hub_admission.ts";
import { hubId } from "./commands/hub_id.ts";
import { hubKexPolicy } from "./commands/hub_kex_policy.ts";
import { hubTlsInfo } from "./commands/hub_tls_info.ts";
import { hubMetrics } from "./commands/hub_metrics.ts";
import { hubHealth, hubKey, hubStatus } from "./commands/hub_status.ts";
import { hubProfile } from "./commands/hub_profile.ts";
import { idRotate, idShow, idUsage } from "./commands/id.ts";
import { ID_LAYER_COMMANDS } from "./commands/id_layer.ts";
import { idBridge } from "./commands/id_bridge.ts";
import { ID_CTX_COMMANDS } from "./commands/id_ctx.ts";
import { ID_ORG_COMMANDS } from "./commands/id_org.ts";
import { idStatus } from "./commands/id_status.ts";
import { idAuthenticate } from "./commands/id_authenticate.ts";
import { LABEL_CLASS_COMMANDS } from "./commands/label_class.ts";
import { RECORD_COMMANDS } from "./commands/record.ts";
import { keygen } from "./commands/keygen.ts";
import { powRequest, powSolve } from "./commands/pow.ts";
import { reportEquivocation } from "./commands/report_equivocation.ts";
import { resync } from "./commands/resync.ts";
import { capRevocations, capRevoke } from "./commands/revoke.ts";
import { QUERY_COMMANDS } from "./commands/query.ts";
import { DISC_COMMANDS } from "./commands/disc.ts";
import { connect } from "./commands/connect.ts";
import { rpcCall, rpcServe } from "./commands/rpc.ts";
import { SCHEMA_COMMANDS } from "./commands/schema.ts";
import { schemaId } from "./commands/schema_id.ts";
import { send } from "./commands/send.ts";
import { stream } from "./commands/stream.ts";
import { verifyReceipt } from "./commands/verify_receipt.ts";
import { verifyState } from "./commands/verify_state.ts";
import { WALLET_COMMANDS } from "./commands/wallet.ts";
import { walletLedger } from "./commands/wallet_ledger.ts";
import { OP_COMMANDS } from "./commands/op.ts";
import { OPERATION_VIEW_COMMANDS } from "./commands/operation_views.ts";
import { AUDIT_COMMANDS } from "./commands/audit.ts";
import { OPERATION_CHECK_COMMANDS } from "./commands/operation_checks.ts";
import type { Command } from "./context.ts";
import { DEFAULT_TIMEOUT_MS } from "./http_client.ts";

export type { Io } from "../cmd/mod.ts";
export { captureIo, processIo } from "../cmd/mod.ts";

/** Every client command, in help order. */
export const COMMANDS: readonly Command[] = [
  keygen,
  idShow,
  idRotate,
  idUsage,
  ...ID_LAYER_COMMANDS,
  idStatus,
  idAuthenticate,
  ...ID_CTX_COMMANDS,
  ...ID_ORG_COMMANDS,
  idBridge,
  send,
  stream,
  attachmentVerify,
  verifyReceipt,
  capIssue,
  capAuthorize,
  capStatus,
  capRevoke,
  capRevocations,
  capFetch,
  resync,
  verifyState,
  reportEquivocation,
  benchSend,
  benchFold,
  explainError,
  schemaId,
  ...SCHEMA_COMMANDS,
  ...LABEL_CLASS_COMMANDS,
  hubId,
  hubTlsInfo,
  hubStatus,
  hubKey,
  hubHealth,
  hubMetrics,
  hubKexPolicy,
  hubProfile,
  hubCheckpoint,
  hubVerifyRotation,
  rpcCall,
  rpcServe,
  ...CRDT_COMMANDS,
  anchorPublish,
  anchorVerify,
  ...FEDERATE_COMMANDS,
  powRequest,
  powSolve,
  hubAdmission,
  hubAdmissionLog,
  ...FED_AUTHORITY_COMMANDS,
  ...WALLET_COMMANDS,
  ...RECORD_COMMANDS,
  walletLedger,
  ...OP_COMMANDS,
  ...OPERATION_VIEW_COMMANDS,
  ...AUDIT_COMMANDS,
  ...OPERATION_CHECK_COMMANDS,
  ...QUERY_COMMANDS,
  ...DISC_COMMANDS,
  connect,
];

/** The client commands as a program of their own (in-process tests; `mod.ts` runs every role's table). */
const CLIENT_PROGRAM: Program = {
  name: "veen",
  sections: [{ title: "client commands", commands: COMMANDS }],
  defaultTimeoutMs: DEFAULT_TIMEOUT_MS,
};

/** Finds the client command spelled by the first words of `words` (longest match, aliases included). */
export function findClientCommand(words: readonly string[]): { cmd: Command; used: number } | undefined {
  return findCommand(COMMANDS, words);
}

/** Runs one client command invocation and returns its exit code; `io` is injectable for tests. */
export async function cliMain(args: string[], io: Io = processIo()): Promise<number> {
  return await runProgram(CLIENT_PROGRAM, args, io);
}

if (import.meta.main) {
  Deno.exit(await cliMain(Deno.args));
}

// Client pieces other roles reuse (bridge/, selftest/).
export { HubHttp, type HubInfo, type StreamItem } from "./http_client.ts";

/** What `veen bridge export|import|reconcile` (bridge/airgap.ts) builds on: connection, keys, sending, replay. */
export {
  CLIENT_FLAG,
  clientDir,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  nowSec,
  PASSPHRASE_FLAG,
  recipientOf,
  TO_FLAG,
} from "./context.ts";
export { pinnedSession } from "./overlay_io.ts";
export { type HubSession, streamTarget } from "./hub_session.ts";
export { sendAndSave } from "./sender.ts";
export { sendInOrderAndSave } from "./batch_sender.ts";
export { replayRange } from "./replay.ts";
export { openForClient } from "./decrypt.ts";
export { decryptionSecrets } from "./keystore.ts";
export { checkpointsNow } from "./checkpoint_now.ts";
export { readInputFile, writeOutputFile } from "./files.ts";
export { readCapAuthRef } from "./commands/send.ts";
export { requestSignerDir } from "./commands/hub_checkpoint.ts";
