/**
 * One hub per data dir, with real processes: hubs started at the same moment on one dir (foreground and
 * detached), fsck against a running hub, and the lock dying with a `kill -9`ed hub.
 */
import assert from "node:assert/strict";
import { decodeReceipt } from "../core/mod.ts";
import { selfCommand } from "../hub/mod.ts";
import { submit, veen, Writer } from "./fixture.ts";

interface Foreground {
  child: Deno.ChildProcess;
  /** The hub's URL once it logs "hub listening"; undefined when its stderr ended first (it exited). */
  ready: Promise<string | undefined>;
  /** All of stderr, once the process closed it. */
  stderr: Promise<string>;
}

/** `veen hub start --foreground` as a subprocess; readiness is its "hub listening" log line. */
function foreground(dir: string): Foreground {
  const self = selfCommand();
  const child = new Deno.Command(self.cmd, {
    args: [...self.args, "hub", "start", "--foreground", "--data-dir", dir, "--listen", "127.0.0.1:0"],
    env: { VEEN_LOG_LEVEL: "info" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let onReady!: (url: string | undefined) => void;
  const ready = new Promise<string | undefined>((r) => (onReady = r));
  const stderr = (async () => {
    let all = "";
    let line = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      all += chunk;
      line += chunk;
      let nl;
      while ((nl = line.indexOf("\n")) >= 0) {
        const m = /"msg":"hub listening".*"url":"([^"]+)"/.exec(line.slice(0, nl));
        if (m) onReady(m[1]);
        line = line.slice(nl + 1);
      }
    }
    onReady(undefined);
    return all;
  })();
  return { child, ready, stderr };
}

async function kill(h: Foreground, signal: Deno.Signal): Promise<Deno.CommandStatus> {
  try {
    h.child.kill(signal);
  } catch { /* exited */ }
  await h.stderr;
  return await h.child.status;
}

Deno.test("two hubs started at the same moment on one data dir: one serves, the other exits non-zero naming the dir, no stream_seq is assigned twice", async () => {
  const dir = `${await Deno.makeTempDir()}/hub`;
  const hubs = [foreground(dir), foreground(dir)]; // no await between the two starts
  try {
    const urls = await Promise.all(hubs.map((h) => h.ready));
    // Submit through every hub that serves: two hubs on one log hand out the same stream_seqs.
    const writers = urls.map((_, i) => new Writer("lock/race", 1 + i)); // one client per hub, one label
    const seqs: number[] = [];
    for (let i = 0; i < 20; i++) {
      for (const [j, url] of urls.entries()) {
        if (url === undefined) continue;
        const r = await submit(url, writers[j]!.msg());
        assert.equal(r.status, 200);
        seqs.push(decodeReceipt(r.body).streamSeq);
      }
    }
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), "stream_seqs 1..n, none assigned twice");
    assert.equal(urls.filter((u) => u !== undefined).length, 1, "exactly one hub serves");
    const loser = hubs[urls.indexOf(undefined)]!;
    const st = await loser.child.status;
    assert.notEqual(st.code, 0);
    assert.match(
      await loser.stderr,
      new RegExp(`E\\.UNAVAILABLE: Data dir ${dir} is in use by another process`),
    );
    const winner = hubs[urls.findIndex((u) => u !== undefined)]!;
    assert.equal((await kill(winner, "SIGTERM")).code, 0);
    const f = await veen(["hub", "fsck", "--data-dir", dir]);
    assert.equal(f.code, 0, f.out + f.err);
  } finally {
    for (const h of hubs) await kill(h, "SIGKILL");
    await Deno.remove(dir.replace(/\/hub$/, ""), { recursive: true });
  }
});

Deno.test("fsck refuses while a hub holds the data dir lock (hub.pid or not); after kill -9 the lock is gone: fsck and a new hub succeed", async () => {
  const dir = await Deno.makeTempDir();
  let h = foreground(dir);
  try {
    const url = await h.ready;
    if (url === undefined) assert.fail(await h.stderr);
    assert.equal((await submit(url, new Writer("lock/fsck").msg())).status, 200);
    // The lock, not hub.pid, is what keeps fsck out (hub.pid is written late and can be lost).
    await Deno.remove(`${dir}/hub.pid`);
    let f = await veen(["hub", "fsck", "--data-dir", dir]);
    assert.equal(f.code, 4, f.out + f.err);
    assert.match(f.err, new RegExp(`Data dir ${dir} is in use by another process \\(pid ${h.child.pid}\\)`));
    f = await veen(["hub", "fsck", "--data-dir", dir, "--force"]);
    assert.equal(f.code, 0, f.out + f.err);
    assert.match(f.err, /warning: --force: checking without the data dir lock/);
    assert.equal((await kill(h, "SIGKILL")).signal, "SIGKILL");
    f = await veen(["hub", "fsck", "--data-dir", dir]);
    assert.equal(f.code, 0, f.out + f.err);
    h = foreground(dir);
    const again = await h.ready;
    if (again === undefined) assert.fail(await h.stderr);
    assert.equal(
      (await submit(again, new Writer("lock/fsck").msg({ clientSeq: 2, prevAck: 1 }))).status,
      200,
    );
    assert.equal((await kill(h, "SIGTERM")).code, 0);
  } finally {
    await kill(h, "SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two detached veen hub start at the same moment on one data dir: exactly one reports started", async () => {
  const dir = `${await Deno.makeTempDir()}/hub`;
  try {
    const start = () =>
      veen(["hub", "start", "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-level", "warn"]);
    const rs = await Promise.all([start(), start()]);
    const ok = rs.filter((r) => r.code === 0);
    assert.equal(ok.length, 1, rs.map((r) => r.out + r.err).join("\n"));
    const failed = rs.find((r) => r.code !== 0)!;
    assert.equal(failed.code, 2);
    assert.match(failed.err, new RegExp(`E\\.UNAVAILABLE: .*${dir}`));
    const pid = Number(/\(pid (\d+),/.exec(ok[0]!.out)?.[1]);
    assert.equal(
      Number((await Deno.readTextFile(`${dir}/hub.pid`)).trim()),
      pid,
      "the hub that reported runs",
    );
    // A third start while it runs fails before touching the dir's files.
    const third = await start();
    assert.equal(third.code, 2);
    assert.match(third.err, new RegExp(`Data dir ${dir} is in use by another process \\(pid ${pid}\\)`));
  } finally {
    assert.equal((await veen(["hub", "stop", "--data-dir", dir])).code, 0);
    await Deno.remove(dir.replace(/\/hub$/, ""), { recursive: true });
  }
});
