/**
 * Assembles a running hub: data dir and key, store (log + KV), admission, sequencer, checkpointer, routes and
 * Deno.serve; and the graceful shutdown path (stop accepting → drain commits → final checkpoints → close store).
 */
import {
  bytesEqual,
  DEFAULT_PROFILE,
  encodeProfile,
  fromHex,
  hasWitness,
  hubIdFor,
  profileId,
  type SigningKey,
  toHex,
  VeenError,
  verifyCheckpointSig,
} from "../core/mod.ts";
import { VERSION } from "../version.ts";
import { Admission } from "./admission.ts";
import { anchorBackendOf, Anchorer } from "./anchorer.ts";
import { AdminPlane } from "./admin_plane.ts";
import { AdminFollower } from "./admin_follower.ts";
import { AdminSource } from "./admin_source.ts";
import { AuthorityProbe } from "./authority_probe.ts";
import { BodyLimits } from "./body_limits.ts";
import { Checkpointer } from "./checkpointer.ts";
import { checkpointNow } from "./checkpoint_now.ts";
import { ReadLimit } from "./read_limit.ts";
import { ClientIdDenyList } from "./client_deny.ts";
import { CryptoPool } from "./crypto_pool.ts";
import {
  admissionRequired,
  applyProfile,
  checkOpenPublic,
  type HubConfig,
  isLoopback,
  isOpenPublic,
  parseListen,
  unsafeKeysOn,
} from "./config.ts";
import type { DataDirLock } from "./data_dir_lock.ts";
import { loadOrCreateHubKey, prepareDataDir } from "./hub_key.ts";
import { loadOrCreateRealmAdminKey, realmOf } from "./realm.ts";
import { memoryViewStore, openViewStore, VIEWS_FILE, type ViewStore } from "./view_store.ts";
import { hubFeatures } from "./features.ts";
import { type HubRole, LabelAuthority, type UnspecifiedPolicy } from "./label_authority.ts";
import { LabelPolicy, parseClassRates } from "./label_policy.ts";
import { Logger } from "./logger.ts";
import { AdminAuth } from "./admin_auth.ts";
import { BackupService } from "./backup_route.ts";
import { Metrics } from "./metrics.ts";
import { PeerFilter } from "./peer_filter.ts";
import { PowGate } from "./pow_gate.ts";
import { Replication, type ReplicationContext } from "./replication.ts";
import { RetentionEnforcer } from "./retention.ts";
import { Routes } from "./routes.ts";
import { Sequencer } from "./sequencer.ts";
import { EquivocationLog } from "./equivocation_log.ts";
import { Witness } from "./witness.ts";
import { collectWitnessSigs, witnessKeys } from "./witness_client.ts";
import { openRotation, readPreviousKeys, rotationSigs } from "./hub_key_rotation.ts";
import type { HubStore, LabelHead } from "./store.ts";
import { SubmitPipeline } from "./submit_pipeline.ts";

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
  /** Runs one anchoring pass now (as the periodic timer does; a no-op without `anchor_backend`). */
  anchorPass(): Promise<void>;
  /**
   * Resolves when the background work of what was accepted so far has drained: every submission durable, the
   * checkpoints it made due written, the store's index writer idle. Tests await this instead of sleeping.
   */
  settled(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Hub clock in milliseconds (tests move it to check TTLs and checkpoint cadence). */
  now?: () => number;
  /** Called after a storage failure has poisoned the hub (the CLI exits non-zero so a supervisor restarts it). */
  onFatal?: (e: unknown) => void;
  /** Storage to use instead of the disk store (tests: MemoryStore, fault injection). */
  store?: HubStore;
  /** Admin view storage to use instead of `DIR/views.kv` (tests: fault injection). */
  viewStore?: ViewStore;
  /** Period of retention passes (DIR/retention.json) after the one at start-up (default 60 s; 0: start-up only). */
  retentionIntervalMs?: number;
  /** Runs once the store is closed, before the data dir lock is released (the CLI removes hub.pid there). */
  onClosed?: () => Promise<void>;
}

/**
 * Starts a hub on `cfg.dataDir`, holding the data dir lock (data_dir_lock.ts) from before anything in the dir is
 * read until close() has closed the store: a second hub on the same dir fails with E.UNAVAILABLE naming it.
 */
export async function startHub(config: HubConfig, opts: StartOptions = {}): Promise<RunningHub> {
  const cfg = applyProfile(config);
  const tls = cfg.tlsCert === "" ? {} : await readTls(cfg.tlsCert, cfg.tlsKey);
  const lock = await prepareDataDir(cfg.dataDir);
  try {
    return await startLocked(cfg, opts, tls, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** POST /admin/backup for a store that can be backed up (hub/backup_route.ts). */
function backupRoute(
  dataDir: string,
  store: HubStore,
  views: ViewStore,
  hubPk: Uint8Array,
  now: () => number,
  log: Logger,
): { backup?: BackupService } {
  const snapshot = store.snapshot?.bind(store);
  if (snapshot === undefined) return {};
  const dump = views.dump?.bind(views);
  return {
    backup: new BackupService(new AdminAuth(hubPk, now), {
      dataDir,
      store: { snapshot },
      ...(dump === undefined ? {} : { views: dump }),
      hubPk,
      taken: "online",
      now,
    }, log.child("backup")),
  };
}

/**
 * The label /healthz reports without `?label` after a restart: the head with the latest hub_ts (heads are in memory,
 * O(labels) once). Labels last written within the same second tie; the first such head wins. While the hub runs,
 * the sequencer keeps it exact (the label of the last committed entry).
 */
function lastWrittenLabel(heads: Iterable<LabelHead>): Uint8Array | undefined {
  let last: LabelHead | undefined;
  for (const h of heads) if (last === undefined || h.lastHubTs > last.lastHubTs) last = h;
  return last?.label;
}

async function startLocked(
  cfg: HubConfig,
  opts: StartOptions,
  tls: { cert?: string; key?: string },
  lock: DataDirLock,
): Promise<RunningHub> {
  const log = opts.logger ?? new Logger(cfg.logLevel, "hub", cfg.role);
  checkOpenPublic(cfg);
  const now = opts.now ?? Date.now;
  const metrics = new Metrics();
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
    onRepair: (what) => {
      metrics.storageRepairs++;
      log.warn("storage repair", { what });
    },
  });
  let files: WitnessFiles | undefined;
  try {
    files = await openWitnessFiles(cfg, hubKey, log);
    return await startWithStore(cfg, opts, tls, lock, log, now, hubKey, store, files, metrics);
  } catch (e) {
    await files?.close().catch(() => {});
    await store.close().catch(() => {});
    throw e;
  }
}

/** The rest of a start once the store is open; the caller closes the store when this throws. */
async function startWithStore(
  cfg: HubConfig,
  opts: StartOptions,
  tls: { cert?: string; key?: string },
  lock: DataDirLock,
  log: Logger,
  now: () => number,
  hubKey: Awaited<ReturnType<typeof loadOrCreateHubKey>>["key"],
  store: HubStore,
  files: WitnessFiles,
  metrics: Metrics,
): Promise<RunningHub> {
  const previousKeys = await readPreviousKeys(cfg.dataDir);
  const crypto = await CryptoPool.start(hubKey.secret, cfg.cryptoWorkers);
  const routingKey = fromHex(cfg.routingKeyHex, undefined, "routing_key");
  const admission = new Admission(store, {
    required: admissionRequired(cfg),
    trustedIssuers: [
      hubKey.public,
      ...previousKeys.map((p) => p.key.public),
      ...cfg.trustedIssuers.map((k) => fromHex(k, 32, "trusted issuer")),
    ],
    routingKey,
    maxCapChain: cfg.limits.maxCapChain,
    labelEpochs: cfg.labelEpochs,
    epochSec: DEFAULT_PROFILE.epochSec,
    clockSkewEpochs: cfg.limits.clockSkewEpochs,
    unsafeCapTtlMillis: cfg.unsafeCapTtlMillis,
    maxCapTtlSec: cfg.maxCapTtlSec,
  });
  const { key: realmKey, created: realmKeyCreated } = await loadOrCreateRealmAdminKey(
    cfg.dataDir,
    cfg.realmAdminKey,
  );
  if (realmKeyCreated) {
    log.info("created realm admin key", { realm: cfg.realm, admin_pk: toHex(realmKey.public) });
  }
  const realm = realmOf(cfg.realm, hubKey, routingKey, realmKey);
  const adminKeys = cfg.adminKeys.map((k) => fromHex(k, 32, "admin key"));
  // The test-only unsafe_skip_admin_fold keeps views in memory: views.kv stays right for a later normal start.
  const viewStore = opts.viewStore ??
    (cfg.unsafeSkipAdminFold ? memoryViewStore() : await openViewStore(`${cfg.dataDir}/${VIEWS_FILE}`));
  let admin: AdminPlane;
  try {
    admin = await AdminPlane.open({
      realm,
      adminKeys,
      hubPk: hubKey.public,
      openHub: !admission.required && adminKeys.length === 0 && isLoopback(parseListen(cfg.listen).hostname),
      padBlock: DEFAULT_PROFILE.padBlock,
      limits: cfg.limits,
      store,
      views: viewStore,
      admission,
      log: log.child("admin"),
      metrics,
      unsafeSkipAdminFold: cfg.unsafeSkipAdminFold,
    });
  } catch (e) {
    viewStore.close();
    crypto.close();
    throw e;
  }
  const labelPolicy = new LabelPolicy({
    classes: admin.labelClasses,
    rates: parseClassRates(cfg.classRates),
    padBlock: DEFAULT_PROFILE.padBlock,
  });
  const anchorer = cfg.anchorBackend === "" ? undefined : await Anchorer.open(
    cfg.dataDir,
    anchorBackendOf(cfg.anchorBackend),
    store,
    metrics,
    log.child("anchor"),
    { intervalSec: cfg.anchorIntervalSec, now, onRepair: (what) => log.warn("storage repair", { what }) },
  );
  const checkpointer = new Checkpointer(store, hubKey, metrics, log.child("checkpoint"), {
    every: cfg.checkpointEvery,
    intervalSec: cfg.checkpointIntervalSec,
    epochSec: DEFAULT_PROFILE.epochSec,
    now,
    signs: (label, nowSec) => !replication.replicated(label, nowSec),
    cosign: async (c) => {
      const open = openRotation(previousKeys, hubKey, Math.floor(now() / 1000));
      const witnessed = cfg.witnesses.length === 0 ? [] : await collectWitnessSigs(
        cfg.witnesses,
        c,
        hubKey.public,
        store.nodeReader(c.labelCurr),
        log,
        metrics,
      );
      return [...(open === undefined ? [] : rotationSigs(c, open.key, hubKey)), ...witnessed];
    },
    stale: (c) => {
      const open = openRotation(previousKeys, hubKey, Math.floor(now() / 1000));
      return !verifyCheckpointSig(c, hubKey.public) ||
        (open !== undefined && !hasWitness(c, open.key.public));
    },
    written: (label, bytes) => {
      metrics.checkpointWritten(toHex(label));
      anchorer?.noteCheckpoint(label, bytes);
    },
  });
  let ready = false;
  let lastLabel = lastWrittenLabel(store.heads());
  let fatal: (e: unknown) => void = () => {};
  let upstream = () => 0; // the batch MSGs in the submit pipeline's stage 2, once it exists
  const sequencer = new Sequencer(store, crypto, metrics, {
    upstream: () => upstream(),
    batchMax: cfg.batchMax,
    batchWaitMs: cfg.batchWaitMs,
    queueMax: cfg.queueMax,
    onFatal: (e) => {
      metrics.storageFailures++;
      fatal(e);
    },
    onCommitted: (entries) => {
      lastLabel = entries[entries.length - 1]?.label ?? lastLabel;
      const at = now();
      const runs = labelRuns(entries);
      checkpointer.noteCommitted(runs.map((r) => r.label));
      for (const r of runs) metrics.committed(toHex(r.label), at, r.n);
    },
    clientKeyBounds: { maxLifetimeSec: cfg.maxClientIdLifetimeSec, maxMsgs: cfg.maxMsgsPerClientIdPerLabel },
  });
  const authority = new LabelAuthority({
    view: admin.authority,
    realmId: realm.realmId,
    routingKey,
    hubId: hubIdFor(hubKey.public),
    role: cfg.role as HubRole,
    unspecifiedPolicy: cfg.unspecifiedPolicy as UnspecifiedPolicy,
    metrics,
    unsafeSkip: cfg.unsafeSkipAuthority,
  });
  const tenant: ReplicationContext["tenant"] = cfg.adminSource === "" ? undefined : {
    source: new AdminSource({
      url: cfg.adminSource,
      ...(cfg.adminSourceKey === "" ? {} : { key: fromHex(cfg.adminSourceKey, 32, "admin_source_key") }),
      dataDir: cfg.dataDir,
      log: log.child("replication"),
    }),
    streams: realm.streams,
    adminStreamOf: (label) => realm.adminStreamOf(label),
    foldAdmin: (s) => admin.foldStored(s),
  };
  const replication = new Replication({
    store,
    sequencer,
    authority: admin.authority,
    labels: authority,
    hubPk: hubKey.public,
    routingKey,
    profileId: profileId(DEFAULT_PROFILE),
    maxMsgBytes: cfg.limits.maxMsgBytes,
    log: log.child("replication"),
    dataDir: cfg.dataDir,
    catchUp: { dataDir: cfg.dataDir, peers: cfg.peerHubs, now },
    ...(tenant === undefined ? {} : { tenant }),
  });
  const retention = new RetentionEnforcer(cfg.dataDir, store, log.child("retention"), {
    now,
    hold: (ls, lastHubTs, nowSec) => labelPolicy.holds(ls, lastHubTs, nowSec),
    ...(opts.retentionIntervalMs === undefined ? {} : { intervalMs: opts.retentionIntervalMs }),
  });
  try {
    await retention.run();
    retention.start();
    await checkpointer.start();
    // After a key rotation (KEX0.1) every label's head gets a CHECKPOINT under the new key (and, in the window,
    // the old one) at once.
    if (previousKeys.length > 0) await checkpointer.tick(true);
    anchorer?.start();
  } catch (e) {
    await retention.stop();
    await checkpointer.stop().catch(() => {});
    await anchorer?.close().catch(() => {});
    viewStore.close();
    crypto.close();
    throw e;
  }
  const bodies = new BodyLimits({
    idleTimeoutMs: cfg.bodyIdleTimeoutMs,
    totalTimeoutMs: cfg.bodyTimeoutMs,
    maxReads: cfg.maxBodyReads,
    maxReadsPerPeer: cfg.maxBodyReadsPerPeer,
    maxBufferBytes: cfg.maxBodyBufferBytes,
  }, metrics);
  const isReady = () => ready && sequencer.healthy;
  const pow = new PowGate(cfg.powDifficulty, now);
  const submit = new SubmitPipeline({
    limits: cfg.limits,
    profileId: profileId(DEFAULT_PROFILE),
    unsafeDisableSizeBounds: cfg.unsafeDisableSizeBounds,
    unsafeSkipSigCheck: cfg.unsafeSkipSigCheck,
    unsafeSkipRevocations: cfg.unsafeSkipRevocations,
    bodies,
    crypto,
    admission,
    admin,
    authority,
    denied: new ClientIdDenyList(cfg.clientIdDeny),
    labels: labelPolicy,
    sequencer,
    replication,
    metrics,
    log,
    isReady,
    now,
    pow,
    unsafeSkipPowCheck: cfg.unsafeSkipPowCheck,
    peers: new PeerFilter(cfg.ipAllow, cfg.ipDeny),
    stage2QueueMax: cfg.stage2QueueMax,
    stageQueueMax: { stage0: cfg.maxBodyReads, stage3: cfg.queueMax },
    bodyReads: () => bodies.active,
    batch: { maxItems: cfg.maxBatchItems, maxBytes: cfg.maxBatchBytes },
  });
  upstream = () => submit.batchItemsInStage2;
  const routes = new Routes({
    store,
    submit,
    admission,
    admin,
    realm,
    authority,
    labels: labelPolicy,
    features: hubFeatures(cfg),
    metrics,
    log,
    limits: cfg.limits,
    bodies,
    streamPageBytes: cfg.streamPageBytes,
    hubPk: hubKey.public,
    profileId: profileId(DEFAULT_PROFILE),
    profileCbor: encodeProfile(DEFAULT_PROFILE),
    routingKey,
    kexPolicy: cfg,
    version: VERSION,
    dataDir: cfg.dataDir,
    isReady,
    lastLabel: () => lastLabel,
    now,
    pow,
    replication,
    equivocations: files.equivocations,
    witness: files.witness,
    ...(anchorer === undefined ? {} : { anchors: anchorer }),
    ...backupRoute(cfg.dataDir, store, viewStore, hubKey.public, now, log),
    checkpointNow: (body) =>
      checkpointNow({
        hubKey,
        hubId: hubIdFor(hubKey.public),
        profileId: profileId(DEFAULT_PROFILE),
        admin,
        checkpointer,
        now,
        log: log.child("checkpoint"),
      }, body),
    ...(cfg.readRatePerSec === 0
      ? {}
      : { reads: new ReadLimit(cfg.readRatePerSec, cfg.readRateBurst, metrics, now) }),
    ...(cfg.authorityUrl === "" ? {} : { authorityProbe: new AuthorityProbe(cfg.authorityUrl, now) }),
    gauges: () => ({
      veen_ready: isReady() ? 1 : 0,
      veen_checkpoint_age_seconds: metrics.checkpointAgeSec(now()),
      veen_replication_lag_seconds: follower === undefined ? 0 : follower.lagSec(now()),
    }),
  });
  const { hostname, port } = parseListen(cfg.listen);
  const abort = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname, port, signal: abort.signal, onListen: () => {}, reusePort: false, ...tls },
      (req, info) => routes.handle(req, info.remoteAddr.hostname),
    );
  } catch (e) {
    await retention.stop();
    await checkpointer.stop().catch(() => {});
    await anchorer?.close().catch(() => {});
    viewStore.close();
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
  const follower = tenant === undefined || cfg.adminSourcePollMs === 0 ? undefined : new AdminFollower({
    ...tenant,
    replication,
    store,
    pollMs: cfg.adminSourcePollMs,
    log: log.child("replication"),
  });
  follower?.start();
  for (const { key, effect } of unsafeKeysOn(cfg)) {
    log.warn(`UNSAFE TEST-ONLY CONFIG: ${key} is on, ${effect}; never run a real hub like this`, {
      key,
      effect,
      max_msg_bytes: cfg.limits.maxMsgBytes,
    });
  }
  if (isOpenPublic(cfg)) {
    log.warn(
      "OPEN PUBLIC HUB: admission is off on a non-loopback address (allow_open_public); anyone who can reach " +
        `${url} can write to every label`,
      { key: "allow_open_public", listen: cfg.listen },
    );
  }
  const { labels, entries } = store.stats();
  log.info("hub listening", {
    url,
    hub_pk: toHex(hubKey.public),
    admission: admission.required,
    pow_difficulty: cfg.powDifficulty,
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
      bodies.close();
      await follower?.stop();
      await sequencer.drain();
      await retention.stop();
      if (sequencer.healthy) await checkpointer.stop();
      await anchorer?.close();
      await store.close();
      await files.close();
      viewStore.close();
      crypto.close();
      try {
        await opts.onClosed?.();
      } finally {
        lock.release();
      }
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
  // Deno.serve's accept loop ends for good when accept() fails, e.g. with EMFILE once connections (which
  // Deno.serve never times out) hold every file descriptor. Unhandled, that rejection killed the process without a
  // drain; now the hub stops in order and exits non-zero, and the supervisor's restart drops the held connections.
  server.finished.then(
    () => closing === undefined && listenerFailed(new Error("the listener stopped")),
    (e) => closing === undefined && listenerFailed(e),
  );
  const listenerFailed = (e: unknown) => {
    log.error("HTTP listener failed; stopping so a supervisor can restart", { error: String(e) });
    opts.onFatal?.(e);
    void close();
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
    anchorPass: () => anchorer?.pass() ?? Promise.resolve(),
    settled: async () => {
      await sequencer.drain();
      await checkpointer.settled();
      await anchorer?.settled();
      await store.settled?.();
    },
  };
}

/** The proven equivocations and the witness state (`DIR/equivocations.cborseq`, `DIR/witness.cborseq`). */
interface WitnessFiles {
  equivocations: EquivocationLog;
  witness: Witness;
  close(): Promise<void>;
}

async function openWitnessFiles(cfg: HubConfig, hubKey: SigningKey, log: Logger): Promise<WitnessFiles> {
  const onRepair = (what: string) => log.warn("storage repair", { what });
  const equivocations = await EquivocationLog.open(cfg.dataDir, onRepair);
  try {
    const witness = await Witness.open(cfg.dataDir, hubKey, witnessKeys(cfg.witnessFor), onRepair);
    return {
      equivocations,
      witness,
      close: async () => {
        await equivocations.close();
        await witness.close();
      },
    };
  } catch (e) {
    await equivocations.close();
    throw e;
  }
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

/** The runs of consecutive entries with the same label, and their lengths (a commit batch is mostly a few runs). */
function labelRuns(entries: readonly { label: Uint8Array }[]): { label: Uint8Array; n: number }[] {
  const runs: { label: Uint8Array; n: number }[] = [];
  for (const e of entries) {
    const last = runs[runs.length - 1];
    if (last !== undefined && bytesEqual(last.label, e.label)) last.n++;
    else runs.push({ label: e.label, n: 1 });
  }
  return runs;
}
