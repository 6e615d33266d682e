/** The VEEN hub: HTTP server, admission pipeline, sequencer, durable store and process control. */
export { hubMain, readState, runningPid, selfCommand, STATE_FILE, PID_FILE, LOG_FILE, buildConfig } from "./main.ts";
export { startHub, type RunningHub, type StartOptions } from "./hub.ts";
export { defaultConfig, type HubConfig, CONFIG_KEYS, envNameOf } from "./config.ts";
export { Logger } from "./logger.ts";
