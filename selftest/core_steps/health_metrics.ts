/**
 * Observability (CORE-GOALS 1.1, 1.8; OBS0): `hub health` and `hub metrics` keys, JSON submit log lines with their
 * fields, and the run's plaintext marker nowhere in the hub's data directory or logs.
 */
import { popcount } from "../../core/mod.ts";
import { check, short } from "../harness.ts";
import { type CoreStep, num } from "./context.ts";

export const healthMetrics: CoreStep = {
  name: "health-metrics",
  goal: "hub health, hub metrics (OBS0); JSON submit logs without plaintext (1.1, 1.8)",
  async run(ctx, ev) {
    const { h } = ctx;
    const url = ctx.url;
    const hh = await h.ok(["hub", "health", "--hub", url]);
    const health = hh as Record<string, unknown>;
    check(health.ok === true, `hub health: ok ${health.ok}`);
    for (const k of ["ok", "profile_id", "peaks_count", "last_stream_seq", "last_mmr_root"]) {
      check(k in health, `/healthz lacks ${k}`);
    }
    ev.push(
      `hub health: ok, profile_id ${short(health.profile_id)}, last_stream_seq ${health.last_stream_seq}`,
    );
    if (ctx.open) {
      const stream = ctx.S("core/resync");
      const hs = await h.ok(["hub", "health", "--hub", url, "--stream", stream]);
      const lh = hs as Record<string, unknown>;
      const n = num(lh.last_stream_seq, "last_stream_seq");
      check(lh.peaks_count === popcount(n), `peaks_count ${lh.peaks_count} is not popcount(${n})`);
      ev.push(
        `hub health --stream ${stream}: last_stream_seq ${n}, peaks_count ${lh.peaks_count} = popcount(${n})`,
      );
    }
    const m = await h.ok(["hub", "metrics", "--hub", url]);
    const counters = m.counters as Record<string, number>;
    const hist = m.histograms as Record<string, { count: number }>;
    check(counters.veen_submit_ok_total !== undefined, "metrics lack veen_submit_ok_total");
    if (ctx.open) {
      check(counters.veen_submit_ok_total > 0, "veen_submit_ok_total is 0 after this run's sends");
    }
    const errs = Object.entries(counters).filter(([k]) => k.startsWith("veen_submit_err_total{"));
    check(errs.length > 0, "no veen_submit_err_total{code} counters");
    for (const name of ["veen_verify_latency_ms", "veen_commit_latency_ms", "veen_end_to_end_latency_ms"]) {
      check(hist[name] !== undefined, `metrics lack the ${name} histogram`);
    }
    ev.push(
      `hub metrics: veen_submit_ok_total ${counters.veen_submit_ok_total}, ${
        errs.map(([k, v]) => `${k.replace("veen_submit_err_total", "err")} ${v}`).join(", ")
      }; latency histograms present`,
    );
    if (ctx.main === undefined) {
      ev.push("logs: not checked (a deployed hub's logs are not readable from here)");
      return;
    }
    const log = await Deno.readTextFile(`${ctx.main.dir}/hub.log`);
    const submits = log.split("\n").filter((l) => l.includes('"msg":"submit"')).map((l) => JSON.parse(l));
    check(submits.length > 0, "hub.log has no submit lines");
    const need = [
      "label",
      "client_id_prefix",
      "stream_seq",
      "leaf_hash_prefix",
      "code",
      "bytes_in",
      "bytes_out",
      "verify_ms",
      "commit_ms",
    ];
    for (const k of need) check(k in submits[0], `submit log lines lack ${k}`);
    const refused = submits.filter((s) => s.code !== null).length;
    ev.push(
      `hub.log: ${submits.length} JSON submit lines (${refused} with a code) with ${need.join(", ")}`,
    );
    const hit = await dirContains(ctx.main.dir, new TextEncoder().encode(ctx.marker));
    check(hit === undefined, `plaintext marker found in the hub's data: ${hit}`);
    ev.push(`plaintext marker "${ctx.marker}" appears nowhere in the hub's data dir or logs`);
  },
};

/** Every byte of every file under `dir` (small data directories only). */
async function dirContains(dir: string, needle: Uint8Array): Promise<string | undefined> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) {
      const hit = await dirContains(p, needle);
      if (hit !== undefined) return hit;
    } else if (e.isFile) {
      const b = await Deno.readFile(p).catch(() => new Uint8Array(0));
      outer: for (let i = 0; i + needle.length <= b.length; i++) {
        for (let j = 0; j < needle.length; j++) if (b[i + j] !== needle[j]) continue outer;
        return p;
      }
    }
  }
  return undefined;
}
