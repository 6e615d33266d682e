/**
 * The command framework every role uses (client, hub, fsck, retention, ops, bridge, selftest, bench and the root
 * `mod.ts`): the strict flag parser, one Io/Output, one command error with its exit code, the runner with
 * generated help, the hub's on-disk state file and the environment descriptor parser. It imports only core/. See docs/architecture.md "Adding a
 * command".
 * @module
 */
export { checkFailure, CommandError, malformedError, transportError, usageError } from "./errors.ts";
export { Flags, type FlagSpec, GLOBAL_FLAGS, parseFlags, parseHex32, parseUint } from "./flags.ts";
export { type CapturedIo, captureIo, type Io, Output, type OutputMode, processIo } from "./io.ts";
export {
  type Command,
  type CommandContext,
  commandHelp,
  findCommand,
  firstWord,
  lazy,
  type Program,
  runProgram,
  runRole,
  type Section,
} from "./command.ts";
export {
  type HubState,
  LOG_FILE,
  PID_FILE,
  processAlive,
  readState,
  removeHubState,
  runningPid,
  STATE_FILE,
  stateUrl,
  writeHubState,
} from "./hub_state.ts";
export { ANCHOR_LOG_FILE, FileAnchorLog } from "./anchor_file_log.ts";
export {
  ENV_VERSION,
  type EnvDescriptor,
  type HubEntry,
  LABEL_CLASSES,
  type LabelClass,
  parseEnvDescriptor,
  type TenantEntry,
  tenantOfStream,
} from "./env_descriptor.ts";
