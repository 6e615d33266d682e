/**
 * `veen hub metrics --hub H [--raw]` (CLI-GOALS-1 §13.2): GET /metrics; `--raw` prints the Prometheus text,
 * otherwise a summary of the OBS0 counters and, per histogram, its count and mean.
 */
import { type Command, connectFromFlags, HUB_DATA_DIR_FLAG, HUB_FLAG } from "../context.ts";

export interface MetricsSummary {
  counters: Record<string, number>;
  histograms: Record<string, { count: number; mean_ms: number | null }>;
}

/** Summarizes Prometheus text: plain samples become counters; `_sum`/`_count` pairs become histogram means. */
export function summarizeMetrics(text: string): MetricsSummary {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)$/.exec(line.trim());
    if (m === null || line.startsWith("#")) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) samples.set(m[1]!, v);
  }
  const counters: Record<string, number> = {};
  const histograms: MetricsSummary["histograms"] = {};
  for (const [name, v] of samples) {
    if (name.includes("_bucket")) continue;
    const h = /^(.*)_(sum|count)$/.exec(name);
    if (h !== null && (samples.has(`${h[1]}_sum`) && samples.has(`${h[1]}_count`))) {
      const base = h[1]!;
      const count = samples.get(`${base}_count`)!;
      histograms[base] = {
        count,
        mean_ms: count > 0 ? Math.round((samples.get(`${base}_sum`)! / count) * 1000) / 1000 : null,
      };
      continue;
    }
    counters[name] = v;
  }
  return { counters, histograms };
}

export const hubMetrics: Command = {
  path: ["hub", "metrics"],
  summary: "show a hub's metrics (summary, or --raw Prometheus text)",
  usage: "veen hub metrics (--hub H | --data-dir DIR) [--raw]",
  flags: [HUB_FLAG, HUB_DATA_DIR_FLAG, { name: "raw", arity: 0, help: "print the raw Prometheus text" }],
  async run(ctx) {
    const s = await connectFromFlags(ctx);
    const text = await s.http.metrics();
    if (ctx.flags.bool("raw")) {
      ctx.out.result({ raw: text }, [text.replace(/\n$/, "")]);
      return 0;
    }
    const sum = summarizeMetrics(text);
    ctx.out.result({ ...sum }, [
      ...Object.entries(sum.counters).map(([k, v]) => `${k} ${v}`),
      ...Object.entries(sum.histograms).map(([k, h]) => `${k} count ${h.count} mean_ms ${h.mean_ms ?? "-"}`),
    ]);
    return 0;
  },
};
