import assert from "node:assert/strict";
import { rejectsCode } from "../tests/util.ts";
import { quietLogger, testConfig } from "../tests/fixture.ts";
import { LOCK_FILE, lockDataDir, lockHolder } from "./data_dir_lock.ts";
import { startHub } from "./hub.ts";

Deno.test("lockDataDir() refuses a second holder naming the dir and the holder's pid, until released", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await lockDataDir(dir);
    assert.equal((await Deno.stat(`${dir}/${LOCK_FILE}`)).mode! & 0o777, 0o600);
    assert.equal(await lockHolder(dir), Deno.pid);
    // flock(2) locks belong to the open file: a second open in the same process is refused too.
    const e = await rejectsCode(() => lockDataDir(dir), "E.UNAVAILABLE");
    assert.equal(e.detail, `Data dir ${dir} is in use by another process (pid ${Deno.pid})`);
    a.release();
    a.release(); // idempotent
    const b = await lockDataDir(dir);
    b.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockDataDir() on a missing dir is E.UNAVAILABLE naming the lock file", async () => {
  const dir = `${await Deno.makeTempDir()}/missing`;
  const e = await rejectsCode(() => lockDataDir(dir), "E.UNAVAILABLE");
  assert.match(e.detail, new RegExp(`${dir}/${LOCK_FILE}`));
  await Deno.remove(dir.replace(/\/missing$/, ""), { recursive: true });
});

Deno.test("startHub() holds the data dir lock until close(): a second hub on the dir is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const hub = await startHub(testConfig(dir), { logger: quietLogger(), retentionIntervalMs: 0 });
    let closed = false;
    try {
      const e = await rejectsCode(
        () => startHub(testConfig(dir), { logger: quietLogger(), retentionIntervalMs: 0 }),
        "E.UNAVAILABLE",
      );
      assert.match(e.detail, /is in use by another process/);
      await rejectsCode(() => lockDataDir(dir), "E.UNAVAILABLE");
      await hub.close();
      closed = true;
      const again = await startHub(testConfig(dir), { logger: quietLogger(), retentionIntervalMs: 0 });
      await again.close();
    } finally {
      if (!closed) await hub.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockDataDir() that cannot write its pid gives the lock back (no descriptor left holding it)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A lock file whose pid cannot be written: every write to /dev/full fails (ENOSPC), truncate too.
    await Deno.symlink("/dev/full", `${dir}/${LOCK_FILE}`);
    const e = await rejectsCode(() => lockDataDir(dir), "E.UNAVAILABLE");
    assert.match(e.detail, /Cannot write lock file/);
    // Nothing in this process may still hold the lock it took before the write failed.
    const f = await Deno.open("/dev/full", { read: true });
    try {
      assert.equal(await f.tryLock(true), true, "the failed lockDataDir() left the lock held");
      await f.unlock();
    } finally {
      f.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
