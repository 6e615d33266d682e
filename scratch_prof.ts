import { presign } from "./selftest/load.ts";
import { decodeMsg, verifyMsgSig, ctHashMatches, leafHash, signReceipt, encodeReceipt, MmrAccumulator } from "./core/mod.ts";
import { defaultConfig, Logger, startHub } from "./hub/mod.ts";
import { MemoryStore } from "./hub/memory_store.ts";
const msgs = presign({ url: "", clients: 32, labels: 4, count: 20000, maxSeconds: 1 }).flat();
let t = performance.now();
for (const b of msgs) decodeMsg(b);
console.log("decode µs", ((performance.now() - t) * 1000 / msgs.length).toFixed(1));
const ds = msgs.map((b) => decodeMsg(b));
t = performance.now();
for (const m of ds) ctHashMatches(m);
console.log("cthash µs", ((performance.now() - t) * 1000 / msgs.length).toFixed(1));
t = performance.now();
for (const m of ds) verifyMsgSig(m);
console.log("verify µs", ((performance.now() - t) * 1000 / msgs.length).toFixed(1));
t = performance.now();
const acc = new MmrAccumulator();
const k = new Uint8Array(32).fill(3);
for (const m of ds) { const a = acc.append(leafHash(m)); encodeReceipt(signReceipt({ ver: 1, label: m.label, streamSeq: a.seq, leafHash: leafHash(m), mmrRoot: a.root, hubTs: 1 }, k)); acc.peaks(); }
console.log("append+sign+encode µs", ((performance.now() - t) * 1000 / msgs.length).toFixed(1));
// full in-process path without HTTP
const dir = await Deno.makeTempDir();
const hub = await startHub({ ...defaultConfig(dir), listen: "127.0.0.1:0", logLevel: "error" }, { store: new MemoryStore(), logger: new Logger("error", "x", "y", () => {}) });
const msgs2 = presign({ url: "", clients: 32, labels: 4, count: 20000, maxSeconds: 1, streamPrefix: "b" });
t = performance.now();
await Promise.all(msgs2.map(async (list) => { for (const b of list) { const r = await fetch(hub.url + "/submit", { method: "POST", body: b }); await r.arrayBuffer(); } }));
console.log("in-process http total µs/req", ((performance.now() - t) * 1000 / 20000).toFixed(1));
await hub.close();
