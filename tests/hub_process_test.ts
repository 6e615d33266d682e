/** The hub as users run it: `veen hub start` (detached and foreground), `veen hub stop`, files and modes. */
import assert from "node:assert/strict";
import { readState, selfCommand, STATE_FILE } from "../hub/mod.ts";
import { fileAppears, within } from "./util.ts";

async function veen(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const self = selfCommand();
  const r = await new Deno.Command(self.cmd, {
    args: [...self.args, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("veen hub start detaches, serves, keeps its key 0600 in a 0700 dir, stops gracefully and restarts on the same port", async () => {
  const dir = `${await Deno.makeTempDir()}/hub`;
  const port = freePort();
  try {
    let r = await veen([
      "hub",
      "start",
      "--data-dir",
      dir,
      "--listen",
      `127.0.0.1:${port}`,
      "--log-level",
      "warn",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /hub started: http:\/\/127\.0\.0\.1:\d+/);
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${dir}/hub_key`)).mode! & 0o777, 0o600);
    const key1 = await Deno.readFile(`${dir}/hub_key`);
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    assert.equal(health.ok, true);
    r = await veen(["hub", "start", "--data-dir", dir, "--listen", `127.0.0.1:${port}`]);
    assert.equal(r.code, 2, "a second hub on the same data dir is refused");
    assert.match(r.err, /is in use by another process/);
    r = await veen(["hub", "stop", "--data-dir", dir]);
    assert.equal(r.code, 0, r.err);
    await assert.rejects(() => Deno.stat(`${dir}/hub.pid`), "pid file removed");
    r = await veen(["hub", "stop", "--data-dir", dir]);
    assert.equal(r.code, 0, "a second stop exits 0");
    r = await veen([
      "hub",
      "start",
      "--data-dir",
      dir,
      "--listen",
      `127.0.0.1:${port}`,
      "--log-level",
      "warn",
    ]);
    assert.equal(r.code, 0, `restart on the same port: ${r.err}`);
    assert.deepEqual(await Deno.readFile(`${dir}/hub_key`), key1, "the hub key is never regenerated");
    assert.equal((await veen(["hub", "stop", "--data-dir", dir])).code, 0);
  } finally {
    await veen(["hub", "stop", "--data-dir", dir]);
    await Deno.remove(dir.replace(/\/hub$/, ""), { recursive: true });
  }
});

Deno.test("veen hub start --foreground exits 0 on SIGTERM after a final checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const self = selfCommand();
  const child = new Deno.Command(self.cmd, {
    args: [
      ...self.args,
      "hub",
      "start",
      "--foreground",
      "--data-dir",
      dir,
      "--listen",
      "127.0.0.1:0",
      "--log-level",
      "info",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    // The state file is written once the hub serves.
    await within(fileAppears(`${dir}/${STATE_FILE}`, child.status), 30_000, "the hub's state file");
    const url = (await readState(dir))?.url ?? "";
    assert.notEqual(url, "");
    child.kill("SIGTERM");
    const st = await child.status;
    assert.equal(st.code, 0);
    const log = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.match(log, /"msg":"hub stopped"/);
    for (const line of log.trim().split("\n")) {
      const o = JSON.parse(line);
      for (const k of ["ts", "level", "component", "role", "msg"]) {
        assert.ok(k in o, `log line has ${k}: ${line}`);
      }
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a data dir that cannot be used is a clear error naming the path", async () => {
  const file = await Deno.makeTempFile();
  try {
    const r = await veen(["hub", "start", "--foreground", "--data-dir", file, "--listen", "127.0.0.1:0"]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, new RegExp(`E\\.UNAVAILABLE: .*${file.replaceAll("/", "\\/")}`));
  } finally {
    await Deno.remove(file);
  }
  const r = await veen(["hub", "start", "--listen", "127.0.0.1:0"]);
  assert.equal(r.code, 1, "missing --data-dir is a usage error");
  assert.match(r.err, /data-dir/);
});

Deno.test("a listen port already in use is a clear error and leaves the data dir reusable", async () => {
  const dir = await Deno.makeTempDir();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (l.addr as Deno.NetAddr).port;
    const r = await veen([
      "hub",
      "start",
      "--foreground",
      "--data-dir",
      dir,
      "--listen",
      `127.0.0.1:${port}`,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /in use|AddrInUse/i);
    l.close();
    const again = await veen(["hub", "start", "--data-dir", dir, "--listen", `127.0.0.1:${port}`]);
    assert.equal(again.code, 0, again.err);
  } finally {
    try {
      l.close();
    } catch { /* closed */ }
    await veen(["hub", "stop", "--data-dir", dir]);
    await Deno.remove(dir, { recursive: true });
  }
});
