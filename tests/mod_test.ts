import assert from "node:assert/strict";
import { main } from "../mod.ts";
import { withHub } from "./fixture.ts";

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const log = console.log;
  const err = console.error;
  console.log = () => {};
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.error = err;
  }
}

Deno.test("veen version and --help exit 0; an unknown command exits 1", async () => {
  assert.equal(await quietly(() => main(["version"])), 0);
  assert.equal(await quietly(() => main(["--help"])), 0);
  assert.equal(await quietly(() => main(["no-such-command"])), 1);
});

Deno.test("--env FILE --hub-name NAME stands in for --hub; an unknown hub name is a usage error", async () => {
  await withHub({}, async (hub) => {
    const dir = await Deno.makeTempDir();
    try {
      assert.equal(
        await quietly(() =>
          main(["env", "init", "--root", dir, "--name", "t", "--cluster-context", "c", "--namespace", "n"])
        ),
        0,
      );
      const env = `${dir}/t.env.json`;
      const pid = "1db91032b4bf4cd8b9f56a782b299458e6f782d3a1276f04c50c7b02651038ca";
      assert.equal(
        await quietly(() =>
          main([
            "env",
            "add-hub",
            "--env",
            env,
            "--hub-name",
            "primary",
            "--service-url",
            hub.url,
            "--profile-id",
            pid,
          ])
        ),
        0,
      );
      assert.equal(await quietly(() => main(["hub", "status", "--env", env, "--hub-name", "primary"])), 0);
      assert.equal(await quietly(() => main(["hub", "status", "--env", env, "--hub-name", "other"])), 1);
      assert.equal(
        await quietly(() => main(["hub", "status", "--env", env, "--hub-name", "other", "--hub", hub.url])),
        0,
        "an explicit --hub wins",
      );
      // The descriptor's profile_id comes along for send (CLI-GOALS-3 §4): a hub serving another one is refused.
      const other = "ab".repeat(32);
      const addOther = ["env", "add-hub", "--env", env, "--hub-name", "other", "--service-url", hub.url];
      assert.equal(await quietly(() => main([...addOther, "--profile-id", other])), 0);
      assert.equal(await quietly(() => main(["keygen", "--out", `${dir}/c`])), 0);
      const send = ["send", "--client", `${dir}/c`, "--stream", "s", "--body", "{}", "--env", env];
      assert.equal(await quietly(() => main([...send, "--hub-name", "other"])), 4, "E.PROFILE");
      assert.equal(await quietly(() => main([...send, "--hub-name", "primary"])), 0);
      // A command that reads the descriptor itself keeps --env (without it, audit summary needs --stream: exit 1).
      const audit = ["audit", "summary", "--client", `${dir}/c`, "--env", env, "--hub-name", "primary"];
      assert.equal(await quietly(() => main(audit)), 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
