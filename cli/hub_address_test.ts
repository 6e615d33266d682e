import assert from "node:assert/strict";
import { CommandError } from "../cmd/mod.ts";
import { hubAddressKey, resolveHub } from "./hub_address.ts";
import { tempDir } from "./testing/run.ts";

const noEnv = () => undefined;

Deno.test("resolveHub() normalizes http(s) URLs and uses VEEN_HUB by default", async () => {
  assert.deepEqual(await resolveHub("http://127.0.0.1:8080/", noEnv), {
    url: "http://127.0.0.1:8080",
    key: "http://127.0.0.1:8080",
  });
  const env = (k: string) => (k === "VEEN_HUB" ? "https://hub.example/base/" : undefined);
  assert.equal((await resolveHub(undefined, env)).url, "https://hub.example/base");
  await assert.rejects(
    () => resolveHub(undefined, noEnv),
    (e: unknown) => e instanceof CommandError && e.kind === "usage",
  );
  await assert.rejects(
    () => resolveHub("http://h/?x=1", noEnv),
    (e: unknown) => e instanceof CommandError && e.kind === "usage",
  );
});

Deno.test("resolveHub() reads hub.state.json of a data directory or file:// URI; none is a transport error", async () => {
  const t = await tempDir();
  try {
    await assert.rejects(
      () => resolveHub(t.path, noEnv),
      (e: unknown) => e instanceof CommandError && e.kind === "transport",
    );
    await Deno.writeTextFile(
      `${t.path}/hub.state.json`,
      JSON.stringify({ listen: "127.0.0.1:4242", url: "http://127.0.0.1:4242", pid: 1 }),
    );
    const a = await resolveHub(t.path, noEnv);
    const b = await resolveHub(`file://${t.path}/`, noEnv);
    assert.equal(a.url, "http://127.0.0.1:4242");
    assert.equal(a.key, b.key);
    assert.equal(a.key, hubAddressKey(t.path));
    assert.equal(a.dataDir, t.path);
    await Deno.writeTextFile(`${t.path}/hub.state.json`, JSON.stringify({ listen: "0.0.0.0:5555" }));
    assert.equal((await resolveHub(t.path, noEnv)).url, "http://127.0.0.1:5555");
  } finally {
    await t.cleanup();
  }
});

Deno.test("resolveHub() refuses a URL scheme other than http, https or file as a usage error naming it", async () => {
  for (const v of ["ftp://x", "FTP://x/y", "ws://127.0.0.1:1"]) {
    const scheme = v.slice(0, v.indexOf(":"));
    await assert.rejects(
      () => resolveHub(v, noEnv),
      (e: unknown) => e instanceof CommandError && e.kind === "usage" && e.message.includes(`"${scheme}"`),
    );
    assert.throws(() => hubAddressKey(v), (e: unknown) => e instanceof CommandError && e.kind === "usage");
  }
  // A bare relative path still names a data directory (no running hub there: a transport error).
  await assert.rejects(
    () => resolveHub("no-such-hub-dir", noEnv),
    (e: unknown) => e instanceof CommandError && e.kind === "transport",
  );
});
