/** The VEEN hub: HTTP server, admission pipeline, sequencer, durable store and process control. */
export { buildConfig, selfCommand } from "./main.ts";
// The hub's state file contract lives in cmd/hub_state.ts; re-exported for the hub's users.
export { LOG_FILE, PID_FILE, readState, runningPid, STATE_FILE } from "../cmd/mod.ts";
export { fsckMain, HUB_COMMANDS, hubMain, RETENTION_COMMANDS, retentionMain } from "./commands.ts";
export { type RunningHub, startHub, type StartOptions } from "./hub.ts";
export { CONFIG_KEYS, defaultConfig, envNameOf, type HubConfig } from "./config.ts";
export { Logger } from "./logger.ts";
export { fsck, type FsckProblem, type FsckReport } from "./fsck.ts";
export {
  readRetentionPolicy,
  RETENTION_FILE,
  type RetentionPolicy,
  writeRetentionPolicy,
} from "./retention.ts";
