/**
 * `veen hub admission` and `veen hub admission-log` (CLI-GOALS-2 §5.1, §5.4): the hub's SH1+ stage pipeline
 * with its limits and recent error rates (GET /admission), and its recent refused submissions (GET
 * /admission/log); docs/protocol.md "Admission stages" defines both answers.
 */
import { malformedError, usageError } from "../../cmd/mod.ts";
import { type Command, connectFromFlags, HUB_DATA_DIR_FLAG, HUB_FLAG } from "../context.ts";

type Row = Record<string, unknown>;
const rows = (v: unknown, what: string): Row[] => {
  if (!Array.isArray(v)) throw malformedError(`Hub answered ${what} without a list`);
  return v as Row[];
};
const rate = (v: unknown) => v === null || v === undefined ? "-" : String(v);

export const hubAdmission: Command = {
  path: ["hub", "admission"],
  summary: "show the hub's admission stages, their queue limits and recent error rates",
  usage: "veen hub admission (--hub H | --data-dir DIR)",
  details: "recent_err_rates: per code, the share of submissions received in the last 60 s that this stage " +
    "refused with it (null when none were received).",
  flags: [HUB_FLAG, HUB_DATA_DIR_FLAG],
  async run(ctx) {
    const s = await connectFromFlags(ctx);
    const a = await s.http.admissionJson("/admission");
    const stages = rows(a.stages, "GET /admission");
    const lines: string[] = [];
    for (const st of stages) {
      lines.push(
        `stage: ${st.name}`,
        `  enabled: ${st.enabled}`,
        `  queue_depth: ${st.queue_depth} (max ${st.max_queue_depth})`,
        `  responsibilities: ${(st.responsibilities as string[]).join("; ")}`,
        `  recent_err_rates: ${
          Object.entries(st.recent_err_rates as Row).map(([k, v]) => `${k} ${rate(v)}`).join(", ")
        }`,
      );
    }
    ctx.out.result({ stages }, lines);
    return 0;
  },
};

export const hubAdmissionLog: Command = {
  path: ["hub", "admission-log"],
  summary: "show recent refused submissions (stage, code, label and client_id prefixes, detail)",
  usage: "veen hub admission-log (--hub H | --data-dir DIR) [--limit N] [--codes E.X,E.Y]",
  details: "The hub keeps the last 1024 refusals in memory (no payloads); oldest first.",
  flags: [
    HUB_FLAG,
    HUB_DATA_DIR_FLAG,
    { name: "limit", metavar: "N", help: "most recent N events (1..1024, default 100)" },
    { name: "codes", metavar: "CODES", help: "only these codes, comma separated (e.g. E.SIZE,E.AUTH)" },
  ],
  async run(ctx) {
    const limit = ctx.flags.int("limit", { min: 1, max: 1024 });
    const codes = ctx.flags.str("codes");
    if (codes !== undefined && !/^E\.[A-Z_]+(,E\.[A-Z_]+)*$/.test(codes)) {
      throw usageError(`--codes must be E.* codes separated by commas, not "${codes}"`);
    }
    const s = await connectFromFlags(ctx);
    const log = await s.http.admissionJson("/admission/log", { limit, codes });
    const events = rows(log.events, "GET /admission/log");
    ctx.out.result(
      { events },
      events.length === 0
        ? ["no refused submissions"]
        : events.map((e) =>
          `ts: ${e.ts} code: ${e.code} stage: ${e.stage} label_prefix: ${e.label_prefix ?? "-"} ` +
          `client_id_prefix: ${e.client_id_prefix ?? "-"} detail: ${e.detail}`
        ),
    );
    return 0;
  },
};
