/**
 * Starts the real hub (hub/mod.ts) in-process for CLI integration tests, on 127.0.0.1 port 0 with a fresh data
 * directory, and writes `<dataDir>/hub.state.json` as a background hub does so `--hub DIR` works too.
 */
import { toHex } from "../../core/mod.ts";
import { defaultConfig, type HubConfig, Logger, startHub } from "../../hub/mod.ts";

export interface RealHub {
  url: string;
  hubPk: Uint8Array;
  dataDir: string;
  close(): Promise<void>;
  /** One retention and attachment collection pass at the hub's clock. */
  retentionPass(): Promise<void>;
  /** Resolves when the hub's background work has drained (checkpoints written, index writer idle). */
  settled(): Promise<void>;
}

export async function startRealHub(
  dataDir: string,
  opts: {
    admission?: boolean;
    trustedIssuers?: string[];
    checkpointEvery?: number;
    /** Further config keys (e.g. attachment quotas, segment size). */
    config?: Partial<HubConfig>;
    /** The hub clock in ms (no periodic retention passes then: call `retentionPass`). */
    now?: () => number;
  } = {},
): Promise<RealHub> {
  const cfg = {
    ...defaultConfig(dataDir),
    listen: "127.0.0.1:0",
    logLevel: "error" as const,
    ...opts.config,
  };
  if (opts.admission !== undefined) cfg.admission = opts.admission ? "on" : "off";
  if (opts.trustedIssuers !== undefined) cfg.trustedIssuers = opts.trustedIssuers;
  if (opts.checkpointEvery !== undefined) cfg.checkpointEvery = opts.checkpointEvery;
  const hub = await startHub(cfg, {
    logger: new Logger("error", "hub", "standalone", () => {}),
    ...(opts.now === undefined ? {} : { now: opts.now, retentionIntervalMs: 0 }),
  });
  const listen = hub.url.replace(/^http:\/\//, "");
  await Deno.writeTextFile(
    `${dataDir}/hub.state.json`,
    JSON.stringify({ listen, url: hub.url, pid: Deno.pid, hub_pk: toHex(hub.hubKey.public) }),
  );
  return {
    url: hub.url,
    hubPk: hub.hubKey.public,
    dataDir,
    retentionPass: () => hub.retentionPass(),
    settled: () => hub.settled(),
    close: async () => {
      await hub.close();
      await Deno.remove(`${dataDir}/hub.state.json`).catch(() => {});
    },
  };
}
