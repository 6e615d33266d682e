/** The VEEN hub: HTTP server, admission pipeline, sequencer, durable store and process control. */
export {
  buildConfig,
  hubMain,
  LOG_FILE,
  PID_FILE,
  readState,
  runningPid,
  selfCommand,
  STATE_FILE,
} from "./main.ts";
export { type RunningHub, startHub, type StartOptions } from "./hub.ts";
export { CONFIG_KEYS, defaultConfig, envNameOf, type HubConfig } from "./config.ts";
export { Logger } from "./logger.ts";
export { intFlagProblem, parseFlags } from "./command_args.ts";
export { fsck, fsckMain, type FsckProblem, type FsckReport } from "./fsck.ts";
export {
  readRetentionPolicy,
  RETENTION_FILE,
  retentionMain,
  type RetentionPolicy,
  writeRetentionPolicy,
} from "./retention.ts";
