/**
 * scripts/install.sh in temporary roots: --dry-run changes nothing, a DESTDIR install lays out the documented
 * modes and symlinks and converges (a second run leaves the same tree and keeps an edited hub.toml), --systemd
 * rewrites the unit for the chosen paths, and the launcher install runs.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const SCRIPT = `${ROOT}scripts/install.sh`;

async function sh(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command("bash", { args: [SCRIPT, ...args], env, stdout: "piped", stderr: "piped" })
    .output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-install-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every path under `root` with its type, mode and symlink target or content digest. */
async function snapshot(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${root}${rel}`)) {
      const p = `${rel}/${e.name}`;
      const st = await Deno.lstat(`${root}${p}`);
      const mode = (st.mode! & 0o7777).toString(8).padStart(4, "0");
      if (st.isSymlink) out.push(`l ${p} -> ${await Deno.readLink(`${root}${p}`)}`);
      else if (st.isDirectory) {
        out.push(`d ${mode} ${p}`);
        await walk(p);
      } else {
        const h = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${root}${p}`));
        out.push(
          `f ${mode} ${p} ${
            Array.from(new Uint8Array(h).slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("")
          }`,
        );
      }
    }
  };
  await walk("");
  return out.sort();
}

async function fakeBinary(dir: string): Promise<string> {
  const p = `${dir}/veen-x86_64-linux`;
  await Deno.writeTextFile(p, '#!/bin/sh\necho fake-veen "$@"\n', { mode: 0o755 });
  return p;
}

Deno.test("install.sh --dry-run prints the plan and changes nothing", async () => {
  await withTemp(async (dir) => {
    const bin = await fakeBinary(dir);
    const target = `${dir}/target`;
    const r = await sh([
      "--dry-run",
      "--binary",
      bin,
      "--prefix",
      `${target}/usr/local`,
      "--sysconfdir",
      `${target}/etc/veen`,
      "--statedir",
      `${target}/var/lib/veen`,
      "--logdir",
      `${target}/var/log/veen`,
      "--systemd",
    ]);
    assert.equal(r.code, 0, r.err);
    const has = (line: string) =>
      assert.ok(r.out.split("\n").includes(line), `missing "${line}" in:\n${r.out}`);
    has(`+ install -d -m 0700 ${target}/var/lib/veen`);
    has(`+ install -d -m 0755 ${target}/etc/veen`);
    has(`+ install -d -m 0750 ${target}/var/log/veen`);
    has(`+ install -m 0755 ${bin} ${target}/usr/local/bin/.veen.new`);
    has(`+ mv -f ${target}/usr/local/bin/.veen.new ${target}/usr/local/bin/veen`);
    for (const role of ["veen-hub", "veen-bridge", "veen-selftest", "veen-cli"]) {
      has(`+ ln -sfn veen ${target}/usr/local/bin/${role}`);
    }
    has(`+ write ${target}/etc/veen/hub.toml (mode 0640)`);
    has("+ write /etc/systemd/system/veen-hub.service (mode 0644)");
    has("+ write /etc/systemd/system/veen-anchor@.service (mode 0644)");
    has("+ write /etc/systemd/system/veen-anchor@.timer (mode 0644)");
    has(`+ install -d -m 0700 ${target}/var/lib/veen-anchor`);
    has("install.sh: dry run: nothing was changed");
    // The service user is created unless it exists (both are fine on a test machine).
    assert.ok(
      /^\+ useradd --system --user-group .* veen$/m.test(r.out) || r.out.includes("user veen exists"),
      r.out,
    );
    assert.ok(r.out.includes(`+ chown veen:veen ${target}/var/lib/veen`));
    await assert.rejects(Deno.stat(target));
  });
});

Deno.test("install.sh into DESTDIR: documented modes, symlinks, config kept, idempotent", async () => {
  await withTemp(async (dir) => {
    const bin = await fakeBinary(dir);
    const root = `${dir}/root`;
    const first = await sh(["--binary", bin, "--systemd"], { DESTDIR: root, PATH: Deno.env.get("PATH")! });
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /not creating user veen/);
    const snap1 = await snapshot(root);
    const find = (p: string) => snap1.find((l) => l.split(" ").includes(p));
    assert.match(find("/var/lib/veen")!, /^d 0700 /);
    assert.match(find("/var/log/veen")!, /^d 0750 /);
    assert.match(find("/etc/veen")!, /^d 0755 /);
    assert.match(find("/etc/veen/hub.toml")!, /^f 0640 /);
    assert.match(find("/usr/local/bin/veen")!, /^f 0755 /);
    assert.match(find("/etc/systemd/system/veen-hub.service")!, /^f 0644 /);
    for (const role of ["veen-hub", "veen-bridge", "veen-selftest", "veen-cli"]) {
      assert.ok(snap1.includes(`l /usr/local/bin/${role} -> veen`), role);
    }
    const out = await new Deno.Command(`${root}/usr/local/bin/veen-hub`, { args: ["x"], stdout: "piped" })
      .output();
    assert.equal(new TextDecoder().decode(out.stdout), "fake-veen x\n");

    // Edit the config, run again: same tree except the kept config; no leftovers.
    await Deno.writeTextFile(`${root}/etc/veen/hub.toml`, '[hub]\nlisten = "0.0.0.0:37411"\n');
    const edited = await snapshot(root);
    const second = await sh(["--binary", bin, "--systemd", "--destdir", root]);
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /keeping existing \/etc\/veen\/hub.toml/);
    assert.deepEqual(await snapshot(root), edited);
    assert.equal(await Deno.readTextFile(`${root}/etc/veen/hub.toml`), '[hub]\nlisten = "0.0.0.0:37411"\n');

    const unit = await Deno.readTextFile(`${root}/etc/systemd/system/veen-hub.service`);
    assert.equal(unit, await Deno.readTextFile(`${ROOT}compile/veen-hub.service`));
    for (const u of ["veen-anchor@.service", "veen-anchor@.timer"]) {
      assert.equal(
        await Deno.readTextFile(`${root}/etc/systemd/system/${u}`),
        await Deno.readTextFile(`${ROOT}compile/${u}`),
        u,
      );
    }
  });
});

Deno.test("install.sh --prefix/--statedir/--user rewrite the systemd unit", async () => {
  await withTemp(async (dir) => {
    const bin = await fakeBinary(dir);
    const root = `${dir}/root`;
    const r = await sh([
      "--binary",
      bin,
      "--destdir",
      root,
      "--prefix",
      "/opt/veen",
      "--statedir",
      "/srv/veen",
      "--sysconfdir",
      "/etc/veen-a",
      "--user",
      "veenhub",
      "--systemd",
    ]);
    assert.equal(r.code, 0, r.err);
    const unit = await Deno.readTextFile(`${root}/etc/systemd/system/veen-hub.service`);
    assert.match(
      unit,
      /^ExecStart=\/opt\/veen\/bin\/veen hub start --foreground --data-dir \/srv\/veen --config \/etc\/veen-a\/hub.toml$/m,
    );
    assert.match(unit, /^ReadWritePaths=\/srv\/veen$/m);
    assert.match(unit, /^User=veenhub$/m);
    assert.match(unit, /^Group=veenhub$/m);
    assert.doesNotMatch(unit, /^StateDirectory=/m);
    assert.ok((await Deno.stat(`${root}/opt/veen/bin/veen`)).isFile);
    assert.equal((await Deno.stat(`${root}/srv/veen`)).mode! & 0o777, 0o700);
    const anchor = await Deno.readTextFile(`${root}/etc/systemd/system/veen-anchor@.service`);
    assert.match(
      anchor,
      /^ExecStart=\/opt\/veen\/bin\/veen anchor publish --stream %I --skip-anchored --hub-key \$\{VEEN_ANCHOR_HUB_KEY\}$/m,
    );
    assert.match(anchor, /^Environment=VEEN_ANCHOR_DIR=\/srv\/veen-anchor$/m);
    assert.match(anchor, /^ReadWritePaths=\/srv\/veen-anchor$/m);
    assert.match(anchor, /^EnvironmentFile=\/etc\/veen-a\/anchor.env$/m);
    assert.match(anchor, /^User=veenhub$/m);
    assert.doesNotMatch(anchor, /^StateDirectory=/m);
    assert.equal((await Deno.stat(`${root}/srv/veen-anchor`)).mode! & 0o777, 0o700);
  });
});

Deno.test("install.sh refuses bad arguments with exit 1", async () => {
  await withTemp(async (dir) => {
    for (
      const args of [
        ["--binary", `${dir}/missing`, "--destdir", dir],
        ["--bogus"],
        ["--prefix", "relative", "--dry-run"],
        ["--user", "Bad User", "--dry-run"],
        ["--prefix"],
      ]
    ) {
      const r = await sh(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.out}${r.err}`);
      assert.match(r.err, /^install\.sh: /m);
    }
    assert.equal((await sh(["--help"])).code, 0);
  });
});

Deno.test({
  name: "install.sh --launcher installs a wrapper that runs the launcher under every role name",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await withTemp(async (dir) => {
      const r = await sh(
        [
          "--launcher",
          "--prefix",
          `${dir}/usr`,
          "--sysconfdir",
          `${dir}/etc/veen`,
          "--statedir",
          `${dir}/var/lib/veen`,
          "--logdir",
          `${dir}/var/log/veen`,
          "--no-user",
          "--user",
          "veen-test-nonexistent",
        ],
        { VEEN_DENO: Deno.execPath(), PATH: Deno.env.get("PATH")! },
      );
      assert.equal(r.code, 0, r.err);
      const run = async (name: string, args: string[]) => {
        const o = await new Deno.Command(`${dir}/usr/bin/${name}`, { args, stdout: "piped", stderr: "piped" })
          .output();
        return { code: o.code, out: new TextDecoder().decode(o.stdout) };
      };
      const v = await run("veen", ["version"]);
      assert.equal(v.code, 0);
      assert.match(v.out, /^veen \d+\.\d+\.\d+ /);
      const h = await run("veen-hub", ["--help"]);
      assert.equal(h.code, 0);
      assert.match(h.out, /veen hub start/);
      assert.ok((await Deno.stat(`${dir}/usr/lib/veen/mod.ts`)).isFile);
      await assert.rejects(Deno.stat(`${dir}/usr/lib/veen/.git`));
    });
  },
});
