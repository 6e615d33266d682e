/**
 * Label classes (LCLASS0, spec 002 §6; CLI-GOALS-2 §6; overlay decisions "LCLASS0 and META0+"):
 * - `label-class set`: publishes `veen.label.class.v1` on the realm's stream_label_class as the admin client, then
 *   prints the classification the hub now applies (GET /admin/label-class);
 * - `label-class show`: the hub's effective classification of one label ("unset" when it has none);
 * - `label-class list`: every classified label, optionally of one class.
 * `--stream NAME` maps to the label exactly as `veen send` does (cli/hub_session.ts streamTarget).
 */
import { toHex } from "../../core/mod.ts";
import { parseHex32, parseUint, usageError } from "../../cmd/mod.ts";
import { LABEL_CLASS } from "../../overlays/mod.ts";
import { ADMIN_CAP_FLAG, adminDir, publishAdminRecord, REALM_FLAG, SIGNER_FLAG } from "../admin.ts";
import {
  type Command,
  type CommandContext,
  connectFromFlags,
  HUB_FLAG,
  HUB_KEY_FLAG,
  PASSPHRASE_FLAG,
} from "../context.ts";
import { type HubSession, streamTarget } from "../hub_session.ts";
import { pinnedSession } from "../overlay_io.ts";

const LABEL_FLAG = { name: "label", metavar: "HEX32", help: "the label (give --label or --stream)" };
const STREAM_NAME_FLAG = {
  name: "stream",
  metavar: "NAME",
  help: "a stream name (or 64-hex stream_id), mapped to its label as `veen send` does",
};
const SENSITIVITIES = ["low", "medium", "high"];

/** The label of `--label HEX32` or `--stream NAME` (exactly one of them). */
function labelOf(ctx: CommandContext, session: HubSession): Uint8Array {
  const hex = ctx.flags.str("label");
  const stream = ctx.flags.str("stream");
  if ((hex === undefined) === (stream === undefined)) {
    throw usageError("Give exactly one of --label and --stream");
  }
  return hex !== undefined ? parseHex32(hex, "--label") : streamTarget(session, stream!).label;
}

/** The effective classification as `label-class show` prints it: "unset", "none" and 0 when absent. */
async function effective(
  session: HubSession,
  label: Uint8Array,
): Promise<{ json: Record<string, unknown>; lines: string[] }> {
  const r = await session.http.json("/admin/label-class", { label: toHex(label) });
  const json: Record<string, unknown> = {
    label: toHex(label),
    class: r.class ?? "unset",
    sensitivity: r.sensitivity ?? "none",
    retention_hint: r.retention_hint ?? 0,
    pad_block_effective: r.pad_block_effective,
    retention_policy: r.retention_policy,
    rate_policy: r.rate_policy,
    classified: r.class !== null && r.class !== undefined,
    stream_seq: r.stream_seq ?? null,
  };
  const shown = [
    "label",
    "class",
    "sensitivity",
    "retention_hint",
    "pad_block_effective",
    "retention_policy",
    "rate_policy",
  ];
  return { json, lines: shown.map((k) => `${k}: ${json[k]}`) };
}

export const labelClassSet: Command = {
  path: ["label-class", "set"],
  summary: "classify a label (veen.label.class.v1): class, sensitivity, retention hint",
  usage:
    "veen label-class set --hub H (--label HEX32 | --stream NAME) --class TEXT [--sensitivity low|medium|high] " +
    "[--retention-hint SEC] --signer DIR [--realm R] [--cap FILE]",
  flags: [
    HUB_FLAG,
    LABEL_FLAG,
    STREAM_NAME_FLAG,
    {
      name: "class",
      metavar: "TEXT",
      required: true,
      help: "e.g. user, wallet, log, admin, bulk, long_term",
    },
    { name: "sensitivity", metavar: "low|medium|high", help: "sensitivity hint" },
    { name: "retention-hint", metavar: "SEC", help: "keep the label's entries at least this long" },
    SIGNER_FLAG,
    REALM_FLAG,
    ADMIN_CAP_FLAG,
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const dir = adminDir(ctx, "signer");
    const cls = ctx.flags.req("class");
    const sensitivity = ctx.flags.str("sensitivity");
    if (sensitivity !== undefined && !SENSITIVITIES.includes(sensitivity)) {
      throw usageError(`--sensitivity must be one of ${SENSITIVITIES.join(", ")}, got "${sensitivity}"`);
    }
    const hintFlag = ctx.flags.str("retention-hint");
    const hint = hintFlag === undefined ? undefined : parseUint(hintFlag, "--retention-hint");
    const label = labelOf(ctx, await pinnedSession(ctx, dir));
    const body = { label, class: cls, sensitivity, retention_hint: hint };
    const { res, session } = await publishAdminRecord(ctx, dir, "label_class", LABEL_CLASS, body);
    const e = await effective(session, label);
    ctx.out.result(
      { ...e.json, record_stream_seq: res.receipt.streamSeq, msg_id: toHex(res.msgId) },
      e.lines,
    );
    return 0;
  },
};

export const labelClassShow: Command = {
  path: ["label-class", "show"],
  summary: "show the hub's classification of a label (class, pad_block, retention and rate policy)",
  usage: "veen label-class show --hub H (--label HEX32 | --stream NAME)",
  flags: [HUB_FLAG, LABEL_FLAG, STREAM_NAME_FLAG, HUB_KEY_FLAG],
  async run(ctx) {
    const session = await connectFromFlags(ctx);
    const e = await effective(session, labelOf(ctx, session));
    ctx.out.result(e.json, e.lines);
    return 0;
  },
};

export const labelClassList: Command = {
  path: ["label-class", "list"],
  summary: "list the hub's label classifications",
  usage: "veen label-class list --hub H [--class TEXT]",
  flags: [HUB_FLAG, { name: "class", metavar: "TEXT", help: "only labels of this class" }, HUB_KEY_FLAG],
  async run(ctx) {
    const session = await connectFromFlags(ctx);
    const r = await session.http.json("/admin/label-classes", { class: ctx.flags.str("class") });
    const list = (Array.isArray(r.label_classes) ? r.label_classes as Record<string, unknown>[] : []).map((
      x,
    ) => ({
      label: x.label,
      class: x.class,
      sensitivity: x.sensitivity ?? null,
      retention_hint: x.retention_hint ?? null,
    }));
    ctx.out.result(
      { label_classes: list },
      list.length === 0
        ? ["no label classifications"]
        : list.map((x) =>
          `${x.label} class=${x.class} sensitivity=${x.sensitivity ?? "none"} retention_hint=${
            x.retention_hint ?? 0
          }`
        ),
    );
    return 0;
  },
};

export const LABEL_CLASS_COMMANDS: readonly Command[] = [labelClassSet, labelClassShow, labelClassList];
