import assert from "node:assert/strict";
import { admissionRequired, applyEnv, applyToml, defaultConfig, validateConfig } from "./config.ts";
import { hubMain } from "./commands.ts";
import { buildConfig } from "./main.ts";
import { CommandError } from "../cmd/mod.ts";

/** A config problem is a usage-class error (exit 1) with code E.CONFIG, never a wire code. */
function throwsCode(fn: () => unknown, code: "E.CONFIG" | "E.USAGE"): CommandError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CommandError && e.kind === "usage", `expected a config error, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

async function rejectsCode(fn: () => Promise<unknown>, code: "E.CONFIG" | "E.USAGE"): Promise<CommandError> {
  let thrown: unknown;
  await fn().catch((e) => (thrown = e));
  return throwsCode(() => {
    if (thrown !== undefined) throw thrown;
  }, code);
}

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
  throwsCode(() => applyToml(c, "nope = 1", "f.toml"), "E.CONFIG");
  throwsCode(() => applyToml(c, "batch_max = -1", "f.toml"), "E.CONFIG");
  throwsCode(() => applyEnv(c, { VEEN_BATCH_MAX: "many" }), "E.CONFIG");
  for (const v of ["0x10", "1e3", "1.5", " 5", "-1"]) {
    throwsCode(() => applyEnv(c, { VEEN_QUEUE_MAX: v }), "E.CONFIG");
  }
  throwsCode(() => validateConfig({ ...c, listen: "nowhere" }), "E.CONFIG");
  throwsCode(() => validateConfig({ ...c, profileIdHex: "00".repeat(32) }), "E.CONFIG");
  throwsCode(() => validateConfig({ ...c, dataDir: "" }), "E.USAGE");
  await rejectsCode(() => buildConfig({ config: "/nonexistent.toml", "data-dir": "/x" }, {}), "E.CONFIG");
});

Deno.test("admission off on a non-loopback address is refused unless allow_open_public is set", async () => {
  const c = defaultConfig("/d");
  for (const listen of ["0.0.0.0:37411", "[::]:37411", "192.0.2.1:1"]) {
    const e = throwsCode(() => validateConfig({ ...c, listen, admission: "off" }), "E.CONFIG");
    assert.match(e.detail, /allow_open_public/);
    validateConfig({ ...c, listen, admission: "off", allowOpenPublic: true });
    validateConfig({ ...c, listen, admission: "auto" });
  }
  validateConfig({ ...c, listen: "127.0.0.1:1", admission: "off" });
  const flags = { "data-dir": "/x", listen: "0.0.0.0:1", admission: "off" };
  await rejectsCode(() => buildConfig(flags, {}), "E.CONFIG");
  assert.equal((await buildConfig({ ...flags, "allow-open-public": true }, {})).allowOpenPublic, true);
  assert.equal((await buildConfig(flags, { VEEN_ALLOW_OPEN_PUBLIC: "1" })).allowOpenPublic, true);
  // `veen hub start` exits 1 (usage) before it binds anything.
  const dir = await Deno.makeTempDir();
  try {
    const args = ["start", "--foreground", "--data-dir", dir, "--listen", "0.0.0.0:0", "--admission", "off"];
    assert.equal(await hubMain(args), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a [hub] table takes every key: keys beside it, bad values included, are errors naming the key", () => {
  const c = defaultConfig("/d");
  for (
    const text of ['batch_max = -1\n[hub]\nlisten = "127.0.0.1:1"', "queue_max = 5\n[hub]\nbatch_max = 2"]
  ) {
    const e = throwsCode(() => applyToml(c, text, "f.toml"), "E.CONFIG");
    assert.match(e.detail, /"(batch_max|queue_max)" in f\.toml is outside the \[hub\] table/);
  }
  throwsCode(() => applyToml(c, "[hub]\nbatch_max = 2\n[other]\nx = 1", "f.toml"), "E.CONFIG");
  throwsCode(() => applyToml(c, 'hub = "yes"', "f.toml"), "E.CONFIG");
  throwsCode(() => applyToml(c, "[hub]\nnope = 1", "f.toml"), "E.CONFIG");
  throwsCode(() => applyToml(c, "[hub.inner]\nbatch_max = 1", "f.toml"), "E.CONFIG");
  throwsCode(() => applyToml(c, "[other]\nbatch_max = 1", "f.toml"), "E.CONFIG");
  const ok = defaultConfig("/d");
  applyToml(ok, "[hub]\nbatch_max = 3", "f.toml");
  applyToml(ok, "queue_max = 4", "g.toml");
  assert.deepEqual([ok.batchMax, ok.queueMax], [3, 4]);
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
  const e = throwsCode(() => validateConfig({ ...c, maxBodyReads: 0 }), "E.CONFIG");
  assert.match(e.detail, /max_body_reads must be at least 1/);
  throwsCode(() => validateConfig({ ...c, bodyTimeoutMs: 0 }), "E.CONFIG");
  throwsCode(() => validateConfig({ ...c, streamPageBytes: 64 * 1024 * 1024 }), "E.CONFIG");
});

Deno.test("max_msg_bytes and max_attachment_bytes stay within what a client and a log frame can hold", () => {
  const c = defaultConfig("/d");
  validateConfig({ ...c, limits: { ...c.limits, maxMsgBytes: 32 * 1024 * 1024 } });
  // A 300 MiB MSG would be a frame recovery refuses (hub/frame.ts MAX_FRAME_BODY) and a page no client reads.
  const e = throwsCode(
    () => validateConfig({ ...c, limits: { ...c.limits, maxMsgBytes: 300 * 1024 * 1024 } }),
    "E.CONFIG",
  );
  assert.match(e.detail, /max_msg_bytes must be at most 33554432/);
  validateConfig({ ...c, limits: { ...c.limits, maxAttachmentBytes: 64 * 1024 * 1024 } });
  throwsCode(
    () => validateConfig({ ...c, limits: { ...c.limits, maxAttachmentBytes: 64 * 1024 * 1024 + 1 } }),
    "E.CONFIG",
  );
});

Deno.test("SH1+ keys: --pow-difficulty and pow_difficulty up to 64, CIDR lists, stage2_queue_max at least 1", async () => {
  const base = { "data-dir": "/x" };
  assert.equal(defaultConfig("/d").powDifficulty, 0);
  assert.equal((await buildConfig({ ...base, "pow-difficulty": "12" }, {})).powDifficulty, 12);
  assert.equal((await buildConfig(base, { VEEN_POW_DIFFICULTY: "64" })).powDifficulty, 64);
  assert.equal(
    (await buildConfig({ ...base, "pow-difficulty": "3" }, { VEEN_POW_DIFFICULTY: "9" })).powDifficulty,
    3,
  );
  await rejectsCode(() => buildConfig({ ...base, "pow-difficulty": "65" }, {}), "E.CONFIG");
  await rejectsCode(() => buildConfig({ ...base, "pow-difficulty": "-1" }, {}), "E.CONFIG");
  const c = await buildConfig(base, { VEEN_IP_ALLOW: "10.0.0.0/8, ::1", VEEN_IP_DENY: "10.0.0.1" });
  assert.deepEqual([c.ipAllow, c.ipDeny], [["10.0.0.0/8", "::1"], ["10.0.0.1"]]);
  const e = await rejectsCode(() => buildConfig(base, { VEEN_IP_DENY: "10.0.0.0/33" }), "E.CONFIG");
  assert.match(e.detail, /ip_deny: "10\.0\.0\.0\/33" is not an IPv4 or IPv6 CIDR block/);
  await rejectsCode(() => buildConfig(base, { VEEN_STAGE2_QUEUE_MAX: "0" }), "E.CONFIG");
  assert.equal((await buildConfig(base, { VEEN_STAGE2_QUEUE_MAX: "1" })).stage2QueueMax, 1);
});

Deno.test("KEX1+ settings and client_id_deny: unset by default, from TOML and env, 0 or default > max refused", () => {
  const c = defaultConfig("/d");
  const bounds = () => [
    c.maxClientIdLifetimeSec,
    c.maxMsgsPerClientIdPerLabel,
    c.defaultCapTtlSec,
    c.maxCapTtlSec,
    c.rotationWindowSec,
  ];
  assert.deepEqual(bounds(), [null, null, null, null, null]);
  assert.deepEqual([c.realm, c.clientIdDeny], ["default", []]);
  const key = "ab".repeat(32);
  applyToml(
    c,
    `max_client_id_lifetime_sec = 86400\nmax_msgs_per_client_id_per_label = 65536\nclient_id_deny = ["${key}"]\n` +
      `realm = "acme"`,
    "t.toml",
  );
  applyEnv(c, {
    VEEN_DEFAULT_CAP_TTL_SEC: "3600",
    VEEN_MAX_CAP_TTL_SEC: "7200",
    VEEN_ROTATION_WINDOW_SEC: "0",
    VEEN_MAX_MSGS_PER_CLIENT_ID_PER_LABEL: "",
  });
  validateConfig(c);
  assert.deepEqual(
    bounds(),
    [86400, 65536, 3600, 7200, 0],
  );
  assert.deepEqual([c.realm, c.clientIdDeny], ["acme", [key]]);
  const env = (e: Record<string, string>) => {
    const d = defaultConfig("/d");
    applyEnv(d, e);
    validateConfig(d);
  };
  env({ VEEN_CLIENT_ID_DENY: `${key},${"cd".repeat(32)}` });
  assert.match(
    throwsCode(() => env({ VEEN_MAX_MSGS_PER_CLIENT_ID_PER_LABEL: "0" }), "E.CONFIG").message,
    /at least 1/,
  );
  assert.match(throwsCode(() => env({ VEEN_MAX_CAP_TTL_SEC: "-1" }), "E.CONFIG").message, /max_cap_ttl_sec/);
  assert.match(
    throwsCode(() => env({ VEEN_DEFAULT_CAP_TTL_SEC: "10", VEEN_MAX_CAP_TTL_SEC: "9" }), "E.CONFIG").message,
    /default_cap_ttl_sec 10 exceeds max_cap_ttl_sec 9/,
  );
  assert.match(throwsCode(() => env({ VEEN_CLIENT_ID_DENY: "abcd" }), "E.CONFIG").message, /client_id_deny/);
  const emptyRealm = () => {
    const d = defaultConfig("/d");
    applyToml(d, `realm = ""`, "t.toml");
    validateConfig(d);
  };
  assert.match(throwsCode(emptyRealm, "E.CONFIG").message, /realm/);
});

Deno.test("role and unspecified_policy: --role over VEEN_ROLE; bad values and label_epochs with a federated role are refused", async () => {
  const c = await buildConfig({ role: "replica", "data-dir": "/x" }, { VEEN_ROLE: "primary" });
  assert.equal(c.role, "replica");
  assert.equal((await buildConfig({ "data-dir": "/x" }, { VEEN_ROLE: "primary" })).role, "primary");
  assert.equal(defaultConfig("/d").role, "standalone");
  const d = defaultConfig("/d");
  validateConfig({ ...d, unspecifiedPolicy: "reject" });
  validateConfig({ ...d, labelEpochs: true });
  for (const role of ["authority", "tenant"]) validateConfig({ ...d, role, labelEpochs: true }); // veen kube render
  throwsCode(() => validateConfig({ ...d, role: "observer" }), "E.CONFIG");
  throwsCode(() => validateConfig({ ...d, unspecifiedPolicy: "maybe" }), "E.CONFIG");
  for (const role of ["primary", "replica"]) {
    const e = throwsCode(() => validateConfig({ ...d, role, labelEpochs: true }), "E.CONFIG");
    assert.match(e.message, /label_epochs cannot be on with role/);
  }
  await rejectsCode(() => buildConfig({ role: "boss", "data-dir": "/x" }, {}), "E.CONFIG");
});

Deno.test("admin_source and admin_source_key: from VEEN_ADMIN_SOURCE; an http(s) URL, a 32-byte key that needs the URL", async () => {
  const c = await buildConfig({ "data-dir": "/x" }, { VEEN_ADMIN_SOURCE: "http://127.0.0.1:9" });
  assert.equal(c.adminSource, "http://127.0.0.1:9");
  const d = defaultConfig("/d");
  validateConfig({ ...d, adminSource: "https://authority.example", adminSourceKey: "ab".repeat(32) });
  const bad = [
    [{ adminSource: "authority:37411" }, /admin_source "authority:37411" must be an http\(s\) URL/],
    [{ adminSourceKey: "ab".repeat(32) }, /admin_source_key needs admin_source/],
    [{ adminSource: "http://a", adminSourceKey: "ab" }, /admin_source_key/],
    [{ adminSourcePollMs: 500 }, /admin_source_poll_ms needs admin_source/],
  ] as const;
  for (const [o, re] of bad) {
    assert.match(throwsCode(() => validateConfig({ ...d, ...o }), "E.CONFIG").message, re);
  }
});

Deno.test("hub.yaml is read like the TOML file (spec 000 /etc/veen/hub.yaml); its errors name the file", async () => {
  const dir = await Deno.makeTempDir();
  const yaml = `${dir}/hub.yaml`;
  await Deno.writeTextFile(
    yaml,
    `hub:\n  listen: "127.0.0.1:5"\n  batch_max: 9\n  admin_keys:\n    - "${"ab".repeat(32)}"\n` +
      `  profile: tenant\n  authority_url: http://authority:8080\n`,
  );
  const c = await buildConfig({ config: yaml, "data-dir": "/x" }, {});
  assert.equal(c.listen, "127.0.0.1:5");
  assert.equal(c.batchMax, 9);
  assert.deepEqual(c.adminKeys, ["ab".repeat(32)]);
  assert.equal(c.profile, "tenant");
  await Deno.writeTextFile(yaml, "hub:\n  nope: 1\n");
  const e = await rejectsCode(() => buildConfig({ config: yaml, "data-dir": "/x" }, {}), "E.CONFIG");
  assert.match(e.message, /Unknown config key "nope" in .*hub\.yaml/);
  await Deno.writeTextFile(yaml, "hub: [1, 2\n");
  await rejectsCode(() => buildConfig({ config: yaml, "data-dir": "/x" }, {}), "E.CONFIG");
  await Deno.writeTextFile(yaml, "hub:\n  listen: a\nother: 1\n");
  await rejectsCode(() => buildConfig({ config: yaml, "data-dir": "/x" }, {}), "E.CONFIG");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("profile: tenant takes authority_url as its role and admin_source; bad combinations are refused", async () => {
  const c = await buildConfig({ "data-dir": "/x", profile: "tenant" }, {
    VEEN_AUTHORITY_URL: "http://veen-authority.veen-system.svc.cluster.local:8080",
  });
  assert.equal(c.role, "tenant");
  assert.equal(c.adminSource, "http://veen-authority.veen-system.svc.cluster.local:8080");
  const own = await buildConfig({ "data-dir": "/x" }, {
    VEEN_PROFILE: "tenant",
    VEEN_AUTHORITY_URL: "http://a:1",
    VEEN_ADMIN_SOURCE: "http://b:2",
  });
  assert.equal(own.adminSource, "http://b:2", "an explicit admin_source is kept");
  const auth = await buildConfig({ "data-dir": "/x", profile: "authority" }, {});
  assert.deepEqual([auth.role, auth.adminSource], ["authority", ""]);
  await rejectsCode(() => buildConfig({ "data-dir": "/x", profile: "tenant" }, {}), "E.CONFIG");
  await rejectsCode(() => buildConfig({ "data-dir": "/x", profile: "edge" }, {}), "E.CONFIG");
  await rejectsCode(
    () => buildConfig({ "data-dir": "/x", profile: "authority", "authority-url": "http://a:1" }, {}),
    "E.CONFIG",
  );
  await rejectsCode(() => buildConfig({ "data-dir": "/x", "authority-url": "nope" }, {}), "E.CONFIG");
  await rejectsCode(
    () => buildConfig({ "data-dir": "/x", profile: "authority", role: "replica" }, {}),
    "E.CONFIG",
  );
});
