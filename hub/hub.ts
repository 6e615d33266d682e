/**
 * Assembles a running hub: data dir and key, store (log + KV), admission, sequencer, checkpointer, routes and
 * Deno.serve; and the graceful shutdown path (stop accepting → drain commits → final checkpoints → close store).
 */
import {
  DEFAULT_PROFILE,
  encodeProfile,
  fromHex,
  profileId,
  type SigningKey,
  toHex,
  VeenError,
} from "../core/mod.ts";
import { VERSION } from "../version.ts";
import { Admission } from "./admission.ts";
import { Checkpointer } from "./checkpointer.ts";
import { CryptoPool } from "./crypto_pool.ts";
import { admissionRequired, type HubConfig, parseListen } from "./config.ts";
import { loadOrCreateHubKey, prepareDataDir } from "./hub_key.ts";
import { Logger } from "./logger.ts";
import { Metrics } from "./metrics.ts";
import { RetentionEnforcer } from "./retention.ts";
import { Routes } from "./routes.ts";
import { Sequencer } from "./sequencer.ts";
import type { HubStore } from "./store.ts";

export interface RunningHub {
  url: string;
  port: number;
  hubKey: SigningKey;
  config: HubConfig;
  metrics: Metrics;
  /** Resolves when the hub has stopped (after close(), or after a fatal storage error). */
  finished: Promise<void>;
  /** Graceful stop: stop accepting, drain, checkpoint, close. Idempotent. */
  close(): Promise<void>;
  /** Runs one retention and attachment collection pass now (as the periodic timer does). */
  retentionPass(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Hub clock in milliseconds (tests move it to check TTLs and checkpoint cadence). */
  now?: () => number;
  /** Called after a storage failure has poisoned the hub (the CLI exits non-zero so a supervisor restarts it). */
  onFatal?: (e: unknown) => void;
  /** Storage to use instead of the disk store (tests: MemoryStore, fault injection). */
  store?: HubStore;
  /** Period of retention passes (DIR/retention.json) after the one at start-up (default 60 s; 0: start-up only). */
  retentionIntervalMs?: number;
}

export async function startHub(cfg: HubConfig, opts: StartOptions = {}): Promise<RunningHub> {
  const log = opts.logger ?? new Logger(cfg.logLevel);
  const now = opts.now ?? Date.now;
  const tls = cfg.tlsCert === "" ? {} : await readTls(cfg.tlsCert, cfg.tlsKey);
  await prepareDataDir(cfg.dataDir);
  const { key: hubKey, created } = await loadOrCreateHubKey(cfg.dataDir);
  if (created) log.info("created hub key", { hub_pk: toHex(hubKey.public) });
  const store: HubStore = opts.store ?? await (await import("./disk_store.ts")).openDiskStore(cfg.dataDir, {
    segmentBytes: cfg.segmentBytes,
    maxAttachmentBytes: cfg.limits.maxAttachmentBytes,
    attachments: {
      quotaBytes: cfg.attachmentQuotaBytes,
      pendingMaxBytes: cfg.attachmentPendingBytes,
      graceSec: cfg.attachmentGraceSec,
    },
    onRepair: (what) => log.warn("storage repair", { what }),
  });
  const metrics = new Metrics();
  const crypto = await CryptoPool.start(hubKey.secret, cfg.cryptoWorkers);
  const routingKey = fromHex(cfg.routingKeyHex, undefined, "routing_key");
  const admission = new Admission(store, {
    required: admissionRequired(cfg),
    trustedIssuers: [hubKey.public, ...cfg.trustedIssuers.map((k) => fromHex(k, 32, "trusted issuer"))],
    routingKey,
    maxCapChain: cfg.limits.maxCapChain,
    labelEpochs: cfg.labelEpochs,
    epochSec: DEFAULT_PROFILE.epochSec,
    clockSkewEpochs: cfg.limits.clockSkewEpochs,
  });
  const checkpointer = new Checkpointer(store, hubKey, metrics, log.child("checkpoint"), {
    every: cfg.checkpointEvery,
    intervalSec: cfg.checkpointIntervalSec,
    epochSec: DEFAULT_PROFILE.epochSec,
    now,
  });
  let ready = false;
  let lastLabel: Uint8Array | undefined;
  for (const h of store.heads()) {
    lastLabel = h.label;
    break;
  }
  let fatal: (e: unknown) => void = () => {};
  const sequencer = new Sequencer(store, crypto, admission, metrics, {
    batchMax: cfg.batchMax,
    batchWaitMs: cfg.batchWaitMs,
    queueMax: cfg.queueMax,
    onFatal: (e) => fatal(e),
    onCommitted: (entries) => {
      lastLabel = entries[entries.length - 1]?.label ?? lastLabel;
      checkpointer.noteCommitted(entries.map((e) => e.label));
    },
  });
  const retention = new RetentionEnforcer(cfg.dataDir, store, log.child("retention"), {
    now,
    ...(opts.retentionIntervalMs === undefined ? {} : { intervalMs: opts.retentionIntervalMs }),
  });
  await retention.run();
  retention.start();
  await checkpointer.start();
  const routes = new Routes({
    store,
    crypto,
    sequencer,
    admission,
    metrics,
    log,
    limits: cfg.limits,
    hubPk: hubKey.public,
    profileId: profileId(DEFAULT_PROFILE),
    profileCbor: encodeProfile(DEFAULT_PROFILE),
    routingKey,
    unsafeDisableSizeBounds: cfg.unsafeDisableSizeBounds,
    version: VERSION,
    dataDir: cfg.dataDir,
    isReady: () => ready && sequencer.healthy,
    lastLabel: () => lastLabel,
    now,
  });
  const { hostname, port } = parseListen(cfg.listen);
  const abort = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname, port, signal: abort.signal, onListen: () => {}, reusePort: false, ...tls },
      (req) => routes.handle(req),
    );
  } catch (e) {
    await retention.stop();
    await checkpointer.stop().catch(() => {});
    await store.close();
    crypto.close();
    throw e;
  }
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const scheme = cfg.tlsCert === "" ? "http" : "https";
  const url = `${scheme}://${
    host === "0.0.0.0" ? "127.0.0.1" : host === "[::]" ? "[::1]" : host
  }:${addr.port}`;
  ready = true;
  if (cfg.unsafeDisableSizeBounds) {
    log.warn(
      "UNSAFE TEST-ONLY CONFIG: unsafe_disable_size_bounds is on, max_msg_bytes is NOT enforced on /submit; " +
        "never run a real hub like this",
      { key: "unsafe_disable_size_bounds", max_msg_bytes: cfg.limits.maxMsgBytes },
    );
  }
  const { labels, entries } = store.stats();
  log.info("hub listening", {
    url,
    hub_pk: toHex(hubKey.public),
    admission: admission.required,
    labels,
    entries,
  });

  let closing: Promise<void> | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const close = (): Promise<void> => {
    closing ??= (async () => {
      ready = false;
      abort.abort();
      await server.finished.catch(() => {});
      await sequencer.drain();
      await retention.stop();
      if (sequencer.healthy) await checkpointer.stop();
      await store.close();
      crypto.close();
      log.info("hub stopped", {});
      finish();
    })();
    return closing;
  };
  fatal = (e) => {
    log.error("storage failure; stopping so a supervisor can restart and recover from the log", {
      error: String(e),
    });
    opts.onFatal?.(e);
    ready = false; // new submissions get 503 at once
    // Let the refused requests' error responses go out before the server stops.
    setTimeout(() => void close(), 50);
  };
  return {
    url,
    port: addr.port,
    hubKey,
    config: cfg,
    metrics,
    finished,
    close,
    retentionPass: () => retention.run(),
  };
}

/** Reads the PEM certificate chain and key; a missing or unreadable file is E.UNAVAILABLE naming the path. */
async function readTls(certPath: string, keyPath: string): Promise<{ cert: string; key: string }> {
  const read = async (p: string) => {
    try {
      return await Deno.readTextFile(p);
    } catch (e) {
      throw new VeenError("E.UNAVAILABLE", `Cannot read TLS file ${p}: ${(e as Error).message}`);
    }
  };
  return { cert: await read(certPath), key: await read(keyPath) };
}
