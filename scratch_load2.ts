import { presign, runLoad } from "./selftest/load.ts";
const url = Deno.args[0]!;
const o = { url, clients: 32, labels: 4, count: 10000, maxSeconds: 60 };
const w = { ...o, count: 1000, streamPrefix: "w" };
await runLoad(w, presign(w));
const r = await runLoad(o, presign(o));
console.log(Math.round(r.perSec), "p50", r.p50.toFixed(1), "p99", r.p99.toFixed(1), JSON.stringify(r.errors));
const m = await (await fetch(url + "/metrics")).text();
console.log(m.split("\n").filter((l) => /commit_latency_ms_(sum|count)|verify_latency_ms_(sum|count)|end_to_end_latency_ms_(sum|count)|submit_ok/.test(l)).join("\n"));
