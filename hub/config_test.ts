import assert from "node:assert/strict";
import { admissionRequired, applyEnv, applyToml, defaultConfig, validateConfig } from "./config.ts";
import { buildConfig } from "./main.ts";
import { rejectsCode, throwsCode } from "../tests/util.ts";

Deno.test("defaults listen on 127.0.0.1:37411 with admission open on loopback", () => {
  const c = defaultConfig("/d");
  assert.equal(c.listen, "127.0.0.1:37411");
  assert.equal(admissionRequired(c), false);
  assert.equal(admissionRequired({ ...c, listen: "0.0.0.0:37411" }), true);
  assert.equal(admissionRequired({ ...c, admission: "on" }), true);
  assert.equal(admissionRequired({ ...c, listen: "0.0.0.0:1", admission: "off" }), false);
});

Deno.test("flags override env, which overrides the TOML file", async () => {
  const file = await Deno.makeTempFile({ suffix: ".toml" });
  await Deno.writeTextFile(
    file,
    `[hub]\nlisten = "127.0.0.1:1"\nbatch_max = 7\nqueue_max = 9\nmax_msg_bytes = 4096\n`,
  );
  const c = await buildConfig({ config: file, listen: "127.0.0.1:3", "data-dir": "/x" }, {
    VEEN_LISTEN: "127.0.0.1:2",
    VEEN_QUEUE_MAX: "11",
  });
  assert.equal(c.listen, "127.0.0.1:3");
  assert.equal(c.batchMax, 7);
  assert.equal(c.queueMax, 11);
  assert.equal(c.limits.maxMsgBytes, 4096);
  await Deno.remove(file);
});

Deno.test("bad config values are refused with a message naming the key", async () => {
  const c = defaultConfig("/d");
  throwsCode(() => applyToml(c, "nope = 1", "f.toml"), "E.SIZE");
  throwsCode(() => applyToml(c, "batch_max = -1", "f.toml"), "E.SIZE");
  throwsCode(() => applyEnv(c, { VEEN_BATCH_MAX: "many" }), "E.SIZE");
  throwsCode(() => validateConfig({ ...c, listen: "nowhere" }), "E.SIZE");
  throwsCode(() => validateConfig({ ...c, profileIdHex: "00".repeat(32) }), "E.PROFILE");
  throwsCode(() => validateConfig({ ...c, dataDir: "" }), "E.SIZE");
  await rejectsCode(() => buildConfig({ config: "/nonexistent.toml", "data-dir": "/x" }, {}), "E.NOT_FOUND");
});

Deno.test("body-read and /stream page bounds: production defaults, set by env, 0 and oversized pages refused", () => {
  const c = defaultConfig("/d");
  assert.deepEqual(
    [c.bodyIdleTimeoutMs, c.bodyTimeoutMs, c.maxBodyReads, c.maxBodyReadsPerPeer, c.maxBodyBufferBytes],
    [15_000, 120_000, 512, 64, 256 * 1024 * 1024],
  );
  assert.equal(c.streamPageBytes, 4 * 1024 * 1024);
  validateConfig(c);
  applyEnv(c, {
    VEEN_BODY_IDLE_TIMEOUT_MS: "500",
    VEEN_MAX_BODY_READS_PER_PEER: "3",
    VEEN_STREAM_PAGE_BYTES: "9",
  });
  assert.deepEqual([c.bodyIdleTimeoutMs, c.maxBodyReadsPerPeer, c.streamPageBytes], [500, 3, 9]);
  const e = throwsCode(() => validateConfig({ ...c, maxBodyReads: 0 }), "E.SIZE");
  assert.match(e.detail, /max_body_reads must be at least 1/);
  throwsCode(() => validateConfig({ ...c, bodyTimeoutMs: 0 }), "E.SIZE");
  throwsCode(() => validateConfig({ ...c, streamPageBytes: 64 * 1024 * 1024 }), "E.SIZE");
});
