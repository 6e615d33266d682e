/** Test helpers: run the CLI in-process with captured output, and make temporary directories. */
import { cliMain } from "../mod.ts";
import { captureIo } from "../../cmd/mod.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document (throws if it is not). */
  json(): Record<string, unknown>;
}

/** Runs `veen ARGS` in-process; `env` replaces the process environment. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  opts: { isTty?: boolean } = {},
): Promise<CliRun> {
  const io = captureIo(env, opts);
  const code = await cliMain(args, io);
  const stdout = io.stdout();
  return { code, stdout, stderr: io.stderr(), json: () => JSON.parse(stdout) as Record<string, unknown> };
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(
  prefix = "veen-cli-test-",
): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, cleanup: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

/** `veen keygen --out <root>/<name>`; returns the client directory. */
export async function newClient(
  root: string,
  name: string,
  env: Record<string, string> = {},
): Promise<string> {
  const dir = `${root}/${name}`;
  const r = await runCli(["keygen", "--out", dir], env);
  if (r.code !== 0) throw new Error(`keygen failed: ${r.stderr}`);
  return dir;
}

/** A temporary workspace with a running fake hub (data dir `<root>/hub`) and helpers to run the CLI in it. */
export interface Scenario {
  root: string;
  hub: import("./fake_hub.ts").FakeHub;
  hubDir: string;
  /** `veen keygen --out <root>/<name>`; returns the client directory. */
  client(name: string, env?: Record<string, string>): Promise<string>;
}

export async function withScenario(
  opts: import("./fake_hub.ts").FakeHubOptions,
  f: (s: Scenario) => Promise<void>,
): Promise<void> {
  const { startFakeHub } = await import("./fake_hub.ts");
  const t = await tempDir();
  const hubDir = `${t.path}/hub`;
  const hub = await startFakeHub({ dataDir: hubDir, ...opts });
  try {
    await f({
      root: t.path,
      hub,
      hubDir,
      client: (name, env) => newClient(t.path, name, env),
    });
  } finally {
    await hub.close();
    await t.cleanup();
  }
}
