/**
 * Hub inspection from the client side (CLI-GOALS-1 §2.3, §3.1, §13.1): `hub status`, `hub key`, `hub health`.
 * They read GET /info and GET /healthz and take the hub as `--hub` or, for a hub running here, `--data-dir`;
 * `hub health` exits 4 (E.UNAVAILABLE) when the hub reports ok: false.
 */
import { EXIT, toHex } from "../../core/mod.ts";
import {
  type Command,
  type CommandContext,
  connectFromFlags,
  HUB_DATA_DIR_FLAG,
  HUB_FLAG,
} from "../context.ts";
import { type HubSession, streamTarget } from "../hub_session.ts";

const LABEL_STREAM_FLAG = {
  name: "stream",
  metavar: "NAME",
  help: "report this stream's label (default: the hub's last written label)",
};

function labelOf(ctx: CommandContext, s: HubSession): Uint8Array | undefined {
  const name = ctx.flags.str("stream");
  return name === undefined ? undefined : streamTarget(s, name).label;
}

export const hubStatus: Command = {
  path: ["hub", "status"],
  summary: "show a hub's role, profile and log head",
  usage: "veen hub status (--hub H | --data-dir DIR) [--stream NAME]",
  flags: [HUB_FLAG, HUB_DATA_DIR_FLAG, LABEL_STREAM_FLAG],
  async run(ctx) {
    const s = await connectFromFlags(ctx);
    const { health } = await s.http.healthzRaw(labelOf(ctx, s));
    const raw = s.info.raw;
    const json: Record<string, unknown> = {
      url: s.address.url,
      role: typeof raw.role === "string" ? raw.role : "standalone",
      hub_id: toHex(s.hubId),
      profile_id: toHex(s.profileId),
      version: s.info.version,
      admission: s.info.admission,
      pow: typeof raw.pow_difficulty === "number" && raw.pow_difficulty > 0,
      pow_difficulty: typeof raw.pow_difficulty === "number" ? raw.pow_difficulty : 0,
      hub_ok: health.ok === true,
      peaks_count: health.peaks_count ?? null,
      last_stream_seq: health.last_stream_seq ?? null,
      last_mmr_root: health.last_mmr_root ?? null,
      uptime_sec: raw.uptime_sec ?? null,
      equivocations_proven: typeof raw.equivocations === "number" ? raw.equivocations : null,
      data_dir: raw.data_dir ?? s.address.dataDir ?? null,
    };
    ctx.out.result(json, Object.entries(json).map(([k, v]) => `${k}: ${v === null ? "unknown" : String(v)}`));
    return 0;
  },
};

export const hubKey: Command = {
  path: ["hub", "key"],
  summary: "show a hub's public key, hub id and profile id",
  usage: "veen hub key (--hub H | --data-dir DIR)",
  flags: [HUB_FLAG, HUB_DATA_DIR_FLAG],
  async run(ctx) {
    const s = await connectFromFlags(ctx);
    const json = { hub_pk: toHex(s.hubPk), hub_id: toHex(s.hubId), profile_id: toHex(s.profileId) };
    ctx.out.fields(json);
    return 0;
  },
};

export const hubHealth: Command = {
  path: ["hub", "health"],
  summary: "print GET /healthz (OBS0.3; exit 4 when the hub is not ok)",
  usage: "veen hub health (--hub H | --data-dir DIR) [--stream NAME]",
  details:
    "Text mode prints one `key: value` line per /healthz field; --json prints the /healthz object itself, " +
    "exactly its OBS0.3 keys.",
  flags: [HUB_FLAG, HUB_DATA_DIR_FLAG, LABEL_STREAM_FLAG],
  async run(ctx) {
    const s = await connectFromFlags(ctx);
    const { health } = await s.http.healthzRaw(labelOf(ctx, s));
    ctx.out.document(health, Object.entries(health).map(([k, v]) => `${k}: ${String(v)}`));
    if (health.ok === true) return 0;
    // The answer above is the whole report (also under --json); the failure adds only its stderr line.
    ctx.io.writeErr("E.UNAVAILABLE: The hub reports ok: false\n");
    return EXIT.CHECK;
  },
};
