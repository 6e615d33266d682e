/**
 * Docker, Compose and systemd cannot run in the development sandbox, so compile/ is checked structurally: the
 * Dockerfile's stages and directives, the Compose document, the unit file, the compile task, and that every hub
 * flag these files pass is one `veen hub start` accepts.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { captureIo } from "../ops/io.ts";
import { runKube } from "../ops/kube.ts";
import { GLIBC_TUNABLES } from "../runtime.ts";
import { anchorPublish } from "../cli/commands/anchor.ts";
import { DEFAULT_LISTEN } from "../hub/config.ts";
import { HUB_COMMANDS } from "../hub/commands.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const read = (p: string) => Deno.readTextFileSync(`${ROOT}${p}`);

interface Instr {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string;
  instrs: Instr[];
}

/** Dockerfile → stages of instructions (comments dropped, continuation lines joined). */
function parseDockerfile(text: string): { globals: Instr[]; stages: Stage[] } {
  const logical: string[] = [];
  let cur = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (cur === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (cur !== "" && line.trimStart().startsWith("#")) continue;
    if (line.endsWith("\\")) {
      cur += line.slice(0, -1) + " ";
      continue;
    }
    logical.push((cur + line).trim());
    cur = "";
  }
  const globals: Instr[] = [];
  const stages: Stage[] = [];
  for (const l of logical) {
    const sp = l.indexOf(" ");
    const op = l.slice(0, sp).toUpperCase();
    const args = l.slice(sp + 1).trim().replace(/\s+/g, " ");
    if (op === "FROM") {
      const m = /^(\S+)(?: AS (\S+))?$/i.exec(args);
      assert.ok(m, `bad FROM ${args}`);
      stages.push({ from: m[1]!, name: m[2] ?? "", instrs: [] });
    } else if (stages.length === 0) globals.push({ op, args });
    else stages[stages.length - 1]!.instrs.push({ op, args });
  }
  return { globals, stages };
}

const KNOWN_OPS = new Set([
  "ARG",
  "ENV",
  "RUN",
  "COPY",
  "ADD",
  "WORKDIR",
  "USER",
  "VOLUME",
  "EXPOSE",
  "HEALTHCHECK",
  "ENTRYPOINT",
  "CMD",
  "LABEL",
  "SHELL",
  "STOPSIGNAL",
  "ONBUILD",
]);

/** The option names `veen hub start` accepts, from its command table entry. */
const HUB_START_FLAGS: Set<string> = new Set(
  HUB_COMMANDS.find((c) => c.path.join(" ") === "hub start")!.flags.map((f) => `--${f.name}`),
);

function assertHubArgs(args: string[], where: string): void {
  assert.deepEqual(args.slice(0, 2), ["hub", "start"], where);
  for (const a of args.slice(2)) {
    if (a.startsWith("--")) assert.ok(HUB_START_FLAGS.has(a), `${where}: veen hub start has no ${a}`);
  }
  assert.ok(args.includes("--foreground"), `${where}: the hub must stay in the foreground`);
}

Deno.test("compile/Dockerfile: runtime (default) and launcher targets, non-root, one entrypoint, volume, port, healthcheck", () => {
  const { globals, stages } = parseDockerfile(read("compile/Dockerfile"));
  for (const s of stages) {
    for (const i of s.instrs) assert.ok(KNOWN_OPS.has(i.op), `unknown directive ${i.op}`);
  }
  const denoVersion = /VEEN_DENO_VERSION:-([0-9.]+)/.exec(read("scripts/ensure-deno.sh"))![1];
  assert.ok(
    globals.some((g) => g.op === "ARG" && g.args === `DENO_VERSION=${denoVersion}`),
    "Deno version pinned like ensure-deno.sh",
  );
  assert.deepEqual(stages.map((s) => s.name), ["compile", "dist", "binary", "launcher", "runtime"]);
  assert.equal(
    stages.at(-1)!.name,
    "runtime",
    "docker build without --target builds the compiled-binary image",
  );
  const byName = Object.fromEntries(stages.map((s) => [s.name, s]));
  assert.match(byName.compile!.from, /^denoland\/deno:\$\{DENO_VERSION\}$/);
  assert.ok(
    byName.compile!.instrs.some((i) =>
      i.op === "RUN" &&
      /deno compile --allow-all --unstable-kv --no-check --include hub\/crypto_worker\.ts --output \/out\/veen mod\.ts/
        .test(i.args)
    ),
  );
  assert.ok(
    byName.dist!.instrs.some((i) => i.op === "COPY" && i.args === "dist/veen-${VEEN_ARCH}-linux /out/veen"),
  );
  assert.equal(byName.binary!.from, "${BINARY_FROM}");
  assert.equal(byName.runtime!.from, "debian:bookworm-slim");
  assert.match(byName.launcher!.from, /^denoland\/deno:/);

  for (const name of ["runtime", "launcher"]) {
    const s = byName[name]!;
    const one = (op: string) => {
      const all = s.instrs.filter((i) => i.op === op);
      assert.equal(all.length, 1, `${name}: one ${op}`);
      return all[0]!.args;
    };
    assert.equal(one("USER"), "veen:veen");
    assert.equal(one("ENTRYPOINT"), '["veen"]');
    assert.equal(one("VOLUME"), '["/var/lib/veen"]');
    assert.equal(one("EXPOSE"), "37411");
    assert.match(
      one("HEALTHCHECK"),
      /CMD \["veen", "hub", "health", "--hub", "http:\/\/127\.0\.0\.1:37411"\]$/,
    );
    assertHubArgs(JSON.parse(one("CMD")), `${name} CMD`);
    assert.ok(JSON.parse(one("CMD")).includes("0.0.0.0:37411"));
    const runs = s.instrs.filter((i) => i.op === "RUN").map((i) => i.args).join(" ");
    assert.match(runs, /useradd --system --uid 65532 --gid veen/);
    assert.match(runs, /install -d -m 0700 -o veen -g veen \/var\/lib\/veen/);
    for (const role of ["veen-hub", "veen-bridge", "veen-selftest", "veen-cli"]) {
      assert.ok(runs.includes(role), `${name}: ${role} alias`);
    }
  }
  assert.ok(
    byName.runtime!.instrs.some((i) =>
      i.op === "COPY" && /--from=binary .*\/out\/veen \/usr\/local\/bin\/veen/.test(i.args)
    ),
  );
  const ignore = read("compile/Dockerfile.dockerignore").split("\n");
  assert.ok(ignore.includes(".git") && ignore.includes("node_modules") && !ignore.includes("dist"));
});

Deno.test("compile/compose.yaml: service hub on 37411 with a named volume and the health check", () => {
  // deno-lint-ignore no-explicit-any
  const doc: any = parseYaml(read("compile/compose.yaml"));
  assert.deepEqual(Object.keys(doc.services), ["hub"]);
  const hub = doc.services.hub;
  assert.deepEqual(hub.ports, ["${HUB_PORT:-37411}:37411"]);
  assert.deepEqual(hub.volumes, ["veen-data:/var/lib/veen"]);
  assert.ok("veen-data" in doc.volumes, "named volume declared");
  assert.equal(hub.build.context, "..");
  assert.equal(hub.build.dockerfile, "compile/Dockerfile");
  assert.ok(Deno.statSync(`${ROOT}compile/../${hub.build.dockerfile}`).isFile);
  const stages = parseDockerfile(read("compile/Dockerfile")).stages.map((s) => s.name);
  assert.ok(stages.includes(hub.build.target));
  assertHubArgs(hub.command, "compose command");
  assert.deepEqual(hub.healthcheck.test, ["CMD", "veen", "hub", "health", "--hub", "http://127.0.0.1:37411"]);
  assert.equal(hub.user, "65532:65532");
  assert.equal(hub.read_only, true);
  assert.equal(hub.restart, "unless-stopped");
  for (const k of Object.keys(hub.environment)) assert.match(k, /^VEEN_(LOG_LEVEL|ADMISSION)$/);
});

/** A systemd unit file's sections: key -> every value given (comments and blank lines skipped). */
function unitSections(path: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let cur = "";
  for (const raw of read(path).split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      cur = sec[1]!;
      sections[cur] = {};
      continue;
    }
    const eq = line.indexOf("=");
    assert.ok(eq > 0 && cur !== "", `bad line ${line}`);
    (sections[cur]![line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return sections;
}

/** The single value of `k` in a unit section. */
function one(s: Record<string, string[]>, k: string): string {
  assert.equal(s[k]?.length, 1, k);
  return s[k]![0]!;
}

const HARDENING = [
  ["NoNewPrivileges", "true"],
  ["ProtectSystem", "strict"],
  ["PrivateTmp", "true"],
  ["ProtectHome", "true"],
  ["PrivateDevices", "true"],
  ["ProtectKernelTunables", "true"],
  ["ProtectKernelModules", "true"],
  ["ProtectControlGroups", "true"],
  ["RestrictSUIDSGID", "true"],
  ["LockPersonality", "true"],
  ["CapabilityBoundingSet", ""],
];

Deno.test("compile/veen-hub.service: simple foreground hub as user veen, restart on failure, hardened", () => {
  const sections = unitSections("compile/veen-hub.service");
  assert.deepEqual(Object.keys(sections), ["Unit", "Service", "Install"]);
  const s = sections.Service!;
  assert.equal(one(s, "Type"), "simple");
  assert.equal(
    one(s, "ExecStart"),
    "/usr/local/bin/veen hub start --foreground --data-dir /var/lib/veen --config /etc/veen/hub.toml",
  );
  assertHubArgs(one(s, "ExecStart").split(" ").slice(1), "ExecStart");
  assert.equal(one(s, "Restart"), "on-failure");
  assert.equal(one(s, "User"), "veen");
  assert.equal(one(s, "Group"), "veen");
  for (
    const [k, v] of [
      ...HARDENING,
      ["ReadWritePaths", "/var/lib/veen"],
      ["StateDirectoryMode", "0700"],
      ["KillSignal", "SIGTERM"],
    ]
  ) assert.equal(one(s, k!), v, k);
  assert.equal(s.MemoryDenyWriteExecute, undefined, "V8 needs W+X pages");
  assert.ok(s.Environment?.includes(`GLIBC_TUNABLES=${GLIBC_TUNABLES}`), "malloc tunables");
  assert.deepEqual(sections.Install!.WantedBy, ["multi-user.target"]);
});

Deno.test("deno task compile builds both linux targets with everything embedded", () => {
  const task: string = JSON.parse(read("deno.json")).tasks.compile;
  for (
    const [target, out] of [["x86_64-unknown-linux-gnu", "dist/veen-x86_64-linux"], [
      "aarch64-unknown-linux-gnu",
      "dist/veen-aarch64-linux",
    ]]
  ) {
    assert.ok(
      task.includes(
        `deno compile --allow-all --unstable-kv --no-check --include hub/crypto_worker.ts --target ${target} --output ${out} mod.ts`,
      ),
      `${target} in: ${task}`,
    );
  }
  // Role modules are loaded with literal specifiers, which deno compile embeds.
  for (const m of read("mod.ts").matchAll(/import\(([^)]*)\)/g)) {
    assert.match(m[1]!, /^"\.\/[a-z]+\/mod\.ts"$/);
  }
});

/** The hub Deployment or StatefulSet of `veen kube render ARGS --json`. */
// deno-lint-ignore no-explicit-any
async function renderedWorkload(args: string[]): Promise<any> {
  const io = captureIo();
  assert.equal(await runKube(["render", ...args, "--json"], io), 0, io.stderr());
  // deno-lint-ignore no-explicit-any
  return JSON.parse(io.stdout()).find((o: any) => o.kind === "Deployment" || o.kind === "StatefulSet");
}

Deno.test("the hub command of the Kubernetes manifests uses only flags veen hub start accepts", async () => {
  for (const layout of [["--namespace", "n", "--name", "a", "--data-pvc", "d"], ["--profile", "authority"]]) {
    const c = (await renderedWorkload([...layout, "--image", "veen:1"])).spec.template.spec.containers[0];
    assert.deepEqual(c.command, ["veen"]);
    assertHubArgs(c.args, `kube render ${layout.join(" ")}`);
  }
});

Deno.test("every way of running the hub sets the measured glibc malloc tunables", async () => {
  const env = (instrs: Instr[]) => instrs.filter((i) => i.op === "ENV").map((i) => i.args).join(" ");
  const { stages } = parseDockerfile(read("compile/Dockerfile"));
  for (const name of ["launcher", "runtime"]) {
    const st = stages.find((s) => s.name === name);
    assert.ok(st, name);
    assert.ok(env(st.instrs).includes(`GLIBC_TUNABLES=${GLIBC_TUNABLES}`), `Dockerfile stage ${name}`);
  }
  // The launcher's own line, run by bash without the variable set, exports exactly the constant.
  const shown = await new Deno.Command("env", {
    args: [
      "-u",
      "GLIBC_TUNABLES",
      "bash",
      "-c",
      `eval "$(grep '^export GLIBC_TUNABLES=' "$0")"; echo "$GLIBC_TUNABLES"`,
      `${ROOT}veen`,
    ],
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(shown.stdout).trim(), GLIBC_TUNABLES);
  const workload = await renderedWorkload(["--profile", "authority", "--image", "veen:1"]);
  const vars = workload.spec.template.spec.containers[0].env as { name: string; value: string }[];
  assert.equal(vars.find((v) => v.name === "GLIBC_TUNABLES")?.value, GLIBC_TUNABLES);
});

Deno.test("compile/veen-anchor@.service and .timer: a hardened oneshot publish of the instance's stream every 10 min", () => {
  const unit = unitSections("compile/veen-anchor@.service");
  assert.deepEqual(Object.keys(unit), ["Unit", "Service"]);
  const s = unit.Service!;
  assert.equal(one(s, "Type"), "oneshot");
  assert.equal(one(s, "User"), "veen");
  assert.equal(one(s, "EnvironmentFile"), "/etc/veen/anchor.env", "required: it pins the hub key");
  const exec = one(s, "ExecStart").split(" ");
  assert.deepEqual(exec.slice(0, 3), ["/usr/local/bin/veen", "anchor", "publish"]);
  assert.deepEqual(exec.slice(3), [
    "--stream",
    "%I",
    "--skip-anchored",
    "--hub-key",
    "${VEEN_ANCHOR_HUB_KEY}",
  ]);
  const declared = new Set(anchorPublish.flags.map((f) => `--${f.name}`));
  for (const a of exec.slice(3)) if (a.startsWith("--")) assert.ok(declared.has(a), `${a} is a publish flag`);
  for (const e of [`VEEN_HUB=http://${DEFAULT_LISTEN}`, "VEEN_ANCHOR_DIR=/var/lib/veen-anchor"]) {
    assert.ok(s.Environment?.includes(e), e);
  }
  for (
    const [k, v] of [...HARDENING, ["ReadWritePaths", "/var/lib/veen-anchor"], [
      "StateDirectory",
      "veen-anchor",
    ]]
  ) {
    assert.equal(one(s, k!), v, k);
  }

  const timer = unitSections("compile/veen-anchor@.timer");
  assert.deepEqual(Object.keys(timer), ["Unit", "Timer", "Install"]);
  assert.equal(one(timer.Timer!, "OnUnitActiveSec"), "10min");
  assert.equal(one(timer.Timer!, "OnActiveSec"), "1min");
  assert.deepEqual(timer.Install!.WantedBy, ["timers.target"]);
});
