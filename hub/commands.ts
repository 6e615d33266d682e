/**
 * The hub's command table (CLI-GOALS-1 §2.1-2.2, §13.3): `veen hub start|run|stop|fsck|backup|restore|rotate-key` and
 * `veen retention show|set`. Handlers live in main.ts, fsck.ts and retention.ts and load only when they run.
 */
import {
  type Command,
  type CommandContext,
  type FlagSpec,
  type Io,
  lazy,
  processIo,
  runRole,
  usageError,
} from "../cmd/mod.ts";

/** `--data-dir DIR` of the commands that work on a hub's data dir (VEEN_DATA_DIR is the default). */
export const DATA_DIR_FLAG: FlagSpec = {
  name: "data-dir",
  metavar: "DIR",
  help: "hub data directory (default: $VEEN_DATA_DIR)",
};

/** The data dir of `--data-dir`, else VEEN_DATA_DIR; a usage error without either. */
export function dataDirOf(ctx: CommandContext): string {
  const d = ctx.flags.str("data-dir") ?? ctx.io.env("VEEN_DATA_DIR");
  if (d === undefined || d === "") {
    throw usageError("Missing required flag --data-dir (or set VEEN_DATA_DIR)");
  }
  return d;
}

const START_FLAGS: FlagSpec[] = [
  { ...DATA_DIR_FLAG, help: "hub data directory, created 0700 if missing (default: $VEEN_DATA_DIR)" },
  {
    name: "listen",
    metavar: "HOST:PORT",
    help: "address to serve on (default 127.0.0.1:37411, VEEN_LISTEN)",
  },
  {
    name: "config",
    metavar: "FILE",
    help: "config file: TOML, or YAML when it ends .yaml/.yml (docs/hub-config.md)",
  },
  {
    name: "profile",
    metavar: "PROFILE",
    help: "spec 000 deployment profile: authority or tenant (profile; tenant needs --authority-url)",
  },
  { name: "authority-url", metavar: "URL", help: "profile tenant: the authority hub (authority_url)" },
  { name: "profile-id", metavar: "HEX32", help: "profile_id the hub serves (default: the v0.0.1 profile)" },
  { name: "log-level", metavar: "LEVEL", help: "debug, info, warn or error" },
  { name: "admission", metavar: "MODE", help: "auto, on or off (auto: on for non-loopback addresses)" },
  { name: "allow-open-public", arity: 0, help: "allow admission off on a non-loopback address" },
  { name: "trusted-issuer", metavar: "HEX32", multiple: true, help: "issuer key admitted by /authorize" },
  { name: "tls-cert", metavar: "PEM", help: "serve HTTPS with this certificate (with --tls-key)" },
  { name: "tls-key", metavar: "PEM", help: "private key of --tls-cert" },
  {
    name: "pow-difficulty",
    metavar: "N",
    help: "require a Veen-PoW cookie of N leading zero bits on /submit (0: off; pow_difficulty)",
  },
  {
    name: "role",
    metavar: "ROLE",
    help:
      "standalone (default), primary or replica: what /info and hub role report (role; docs/federation.md)",
  },
];

const START_DETAILS =
  `Without --foreground the command detaches, writes DIR/hub.pid and DIR/hub.state.json, logs to DIR/hub.log,
and returns once the hub serves. Admission (cap tokens via /authorize) is required by default on non-loopback
addresses; --admission off there is refused unless --allow-open-public (allow_open_public) is given. One hub per
data dir: while a process holds DIR/lock, a start exits 2 naming the dir and that process. A listen address that
cannot be bound is refused before anything in DIR is created.`;

const startCommand: (foreground: boolean) => Command["run"] = (foreground) =>
  lazy(() => import("./main.ts"), (m) => (ctx) => m.start(ctx, foreground));

const FSCK_DETAILS =
  `Offline consistency check of a hub data dir: re-derives every label's MMR from the log, checks every RECEIPT
(signature under DIR/hub_key or a key of DIR/primaries.json, leaf against the stored MSG, contiguous stream_seq,
mmr_root), the index heads, node and position files, every CHECKPOINT (signature, mmr_root at upto_seq), every
admission record (cap_token chain, auth_ref, fields) and every attachment (bytes hash to the name). Entries in segments dropped by
retention are checked through the node files. Exit 0 when consistent, 4 at the first inconsistency (file, label,
seq, what). Holds DIR's lock while it runs, so it refuses (exit 4) while a hub runs on DIR; --force checks
without the lock (results may then be inconsistent).`;

/** `veen hub start|run|stop|fsck|rotate-key`. */
export const HUB_COMMANDS: readonly Command[] = [
  {
    path: ["hub", "start"],
    summary: "start a hub (detached; --foreground to stay attached)",
    usage: "veen hub start --data-dir DIR [--listen HOST:PORT] [--config FILE] [--foreground] [FLAGS]",
    details: START_DETAILS,
    flags: [...START_FLAGS, { name: "foreground", arity: 0, help: "run in this process until stopped" }],
    run: startCommand(false),
  },
  {
    path: ["hub", "run"],
    summary: "run a hub in the foreground (hub start --foreground)",
    usage: "veen hub run --data-dir DIR [--listen HOST:PORT] [--config FILE] [FLAGS]",
    details: "The spec's `veen-hub run`: the same flags as hub start; the hub runs in this process until " +
      "SIGINT or SIGTERM.",
    flags: [...START_FLAGS, { name: "foreground", arity: 0, help: "accepted; hub run is always foreground" }],
    run: startCommand(true),
  },
  {
    path: ["hub", "stop"],
    summary: "stop the hub running on a data dir",
    usage: "veen hub stop --data-dir DIR [--timeout-ms N]",
    details: "Gracefully stops the hub running on DIR (flush, fsync, final checkpoints) and waits up to " +
      "--timeout-ms (default 30000). Exits 0 when no hub is running.",
    flags: [DATA_DIR_FLAG],
    run: lazy(() => import("./main.ts"), (m) => m.stop),
  },
  {
    path: ["hub", "fsck"],
    summary: "check a stopped hub's data dir offline",
    usage: "veen hub fsck --data-dir DIR [--json] [--force]",
    details: FSCK_DETAILS,
    flags: [DATA_DIR_FLAG, { name: "force", arity: 0, help: "check without the data dir lock" }],
    run: lazy(() => import("./fsck.ts"), (m) => m.fsckCommand),
  },
  {
    path: ["hub", "promote"],
    summary: "force the cutover of a stream to this hub after a flip (disaster recovery)",
    usage: "veen hub promote --stream NAME --hub DIR [--old-primary URL]",
    details:
      "After an authority record made the hub on DIR primary of the stream, it answers 503 `catching " +
      "up` until it\nholds the old primary's entries. promote ends that now (DIR/promotions.json) and prints " +
      "what may be lost:\nthe old primary's last seq (asked at --old-primary) against the local head " +
      "(docs/replication.md).",
    flags: [
      { name: "stream", metavar: "NAME", required: true, help: "the stream to take over" },
      { name: "hub", metavar: "DIR", required: true, help: "data directory of the hub running here" },
      { name: "old-primary", metavar: "URL", help: "the old primary, asked for its last seq" },
    ],
    run: lazy(() => import("./promote.ts"), (m) => m.promoteCommand),
  },
  {
    path: ["hub", "backup"],
    summary: "back up a hub's data dir, online through the running hub or from a stopped data dir",
    usage: "veen hub backup --hub URL|DIR --out FILE [--hub-key FILE] [--json]",
    details:
      "A consistent backup at one commit boundary: the log, node, position and index state, the admin views, " +
      "attachments and the secret keys (hub_key, hub_key.previous, realm_admin_key), with metadata (profile_id, " +
      "per-label last_stream_seq and mmr_root, time, format version) and a SHA-256 over everything. With a URL, " +
      "or a DIR a hub holds, the running hub takes it (POST /admin/backup, signed with the hub key: --hub-key, " +
      "default DIR/hub_key) while it keeps serving; a DIR no process holds is read under its lock. FILE is " +
      'checked before it appears; an existing FILE is refused (docs/operations.md "Back up and restore").',
    flags: [
      { name: "hub", metavar: "URL|DIR", required: true, help: "the hub's URL, or its data dir" },
      { name: "out", metavar: "FILE", required: true, help: "the backup file to write (must not exist)" },
      {
        name: "hub-key",
        metavar: "FILE",
        help: "the hub's key file, to sign the request (default DIR/hub_key)",
      },
    ],
    run: lazy(() => import("./backup_command.ts"), (m) => m.backupCommand),
  },
  {
    path: ["hub", "restore"],
    summary: "restore a backup into an empty data dir and check it against the backup's metadata",
    usage: "veen hub restore --backup FILE --data-dir DIR [--check] [--json]",
    details:
      "Checks the whole backup first (frames, sizes, checksum; a damaged or cut file exits 4 and writes " +
      "nothing), refuses a non-empty DIR (E.DUP) or one a hub holds (E.UNAVAILABLE), restores into a staging " +
      "dir inside DIR, opens the restored store there (only the log past the backed-up index is replayed) and " +
      "checks every label's last_stream_seq, mmr_root and head RECEIPT against the metadata before moving the " +
      "files into place. Start the hub on DIR afterwards. --check only checks the backup and prints its " +
      "metadata.",
    flags: [
      { name: "backup", metavar: "FILE", required: true, help: "the backup file (veen hub backup --out)" },
      { ...DATA_DIR_FLAG, help: "the empty or new data dir to restore into (default: $VEEN_DATA_DIR)" },
      { name: "check", arity: 0, help: "only check the backup (frames, sizes, checksum); write nothing" },
    ],
    run: lazy(() => import("./backup_command.ts"), (m) => m.restoreCommand),
  },
  {
    path: ["hub", "rotate-key"],
    summary: "replace a stopped hub's key, keeping the old one for a rotation window (KEX0.1)",
    usage: "veen hub rotate-key --data-dir DIR [--window-sec N] [--key-file FILE]",
    details:
      "Offline (holds DIR's lock): the current key is kept in DIR/hub_key.previous, then DIR/hub_key is " +
      "replaced by a new key. Until the window ends (default 86400 s) every CHECKPOINT the hub writes carries " +
      "witness signatures of the old and the new key; clients that pinned the old key move to the new one only " +
      'through such a CHECKPOINT (docs/protocol.md "Hub key rotation"). Refused while a window is open.',
    flags: [DATA_DIR_FLAG, {
      name: "window-sec",
      metavar: "N",
      help: "rotation window in seconds (default: VEEN_ROTATION_WINDOW_SEC, else 86400)",
    }, {
      name: "key-file",
      metavar: "FILE",
      help: "the new key, a hub_key file (spec 000 veen-hub-keys-next): installed on a dir without a key, " +
        "nothing done when it is the current key, refused when it is a previous one",
    }],
    run: lazy(() => import("./hub_key_rotation.ts"), (m) => (ctx) => m.rotateKeyCommand(ctx, dataDirOf(ctx))),
  },
];

const DAYS = (what: string): FlagSpec => ({
  name: `${what}-days`,
  metavar: "N|forever",
  help: `keep ${what} this many days`,
});

const RETENTION_DETAILS =
  `Per-family log retention (COMP0.1), stored in DIR/retention.json. The hub drops whole rotated log segments whose
newest entry is older than the retention, at start-up and periodically; MMR nodes, positions and each label's
latest checkpoint are kept, so proofs keep working for every entry. Checkpoints are kept forever unless
--checkpoints-days is set.`;

/** `veen retention show|set`. */
export const RETENTION_COMMANDS: readonly Command[] = [
  {
    path: ["retention", "show"],
    summary: "print the retention policy and boundaries of a data dir",
    usage: "veen retention show --data-dir DIR [--json]",
    details: RETENTION_DETAILS +
      "\n'show' also prints the dropped segments and the first retained stream_seq " +
      "per label.",
    flags: [DATA_DIR_FLAG],
    run: lazy(() => import("./retention.ts"), (m) => m.retentionShow),
  },
  {
    path: ["retention", "set"],
    summary: "change the retention policy of a data dir",
    usage: "veen retention set --data-dir DIR [--receipts-days N|forever] [--payloads-days N|forever] " +
      "[--checkpoints-days N|forever]",
    details: RETENTION_DETAILS,
    flags: [DATA_DIR_FLAG, DAYS("receipts"), DAYS("payloads"), DAYS("checkpoints")],
    run: lazy(() => import("./retention.ts"), (m) => m.retentionSet),
  },
];

/** `veen hub start|run|stop|fsck ...` in-process (`args` follow the word "hub"); returns the exit code. */
export async function hubMain(args: string[], io: Io = processIo()): Promise<number> {
  return await runRole("hub", HUB_COMMANDS, args, io);
}

/** `veen hub fsck ...` in-process (`args` follow "fsck"). */
export async function fsckMain(args: string[], io: Io = processIo()): Promise<number> {
  return await runRole("hub", HUB_COMMANDS, ["fsck", ...args], io);
}

/** `veen retention show|set ...` in-process (`args` follow the word "retention"). */
export async function retentionMain(args: string[], io: Io = processIo()): Promise<number> {
  return await runRole("retention", RETENTION_COMMANDS, args, io);
}
