import assert from "node:assert/strict";
import {
  PID_FILE,
  processAlive,
  readState,
  removeHubState,
  runningPid,
  STATE_FILE,
  stateUrl,
  writeHubState,
} from "./hub_state.ts";

Deno.test("hub state: written 0600 with the pid file, read back, removed; a stale pid is no running hub", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await readState(dir), undefined);
    assert.equal(await runningPid(dir), undefined);
    const st = { listen: "127.0.0.1:1", url: "http://127.0.0.1:1", pid: Deno.pid, hub_pk: "ab" };
    await writeHubState(dir, st);
    assert.deepEqual(await readState(dir), st);
    assert.equal((await Deno.stat(`${dir}/${STATE_FILE}`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/${PID_FILE}`)).mode! & 0o777, 0o600);
    assert.equal(await runningPid(dir), Deno.pid);
    assert.equal(processAlive(Deno.pid), true);
    await Deno.writeTextFile(`${dir}/${PID_FILE}`, "999999999\n");
    assert.equal(await runningPid(dir), undefined);
    await removeHubState(dir);
    await removeHubState(dir);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stateUrl() takes url, else http:// + listen with 0.0.0.0 read as loopback", () => {
  assert.equal(stateUrl({ url: "https://h:1", listen: "0.0.0.0:2" }), "https://h:1");
  assert.equal(stateUrl({ listen: "0.0.0.0:2" }), "http://127.0.0.1:2");
  assert.equal(stateUrl({ pid: 1 }), undefined);
  assert.equal(stateUrl("x"), undefined);
});
