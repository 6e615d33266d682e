/**
 * A cluster for `veen kube` tests: the fake `kubectl` (fake_kubectl.ts) first on PATH, its state file and its argv
 * log in a temp dir, and `run` calling `veen kube` in-process with that environment.
 */
import { captureIo } from "../io.ts";
import { runKube } from "../kube.ts";

const FAKE = new URL("./fake_kubectl.ts", import.meta.url).pathname;

export interface Cluster {
  dir: string;
  run(args: string[]): Promise<{ code: number; out: string; err: string }>;
  calls(): string[][];
  // deno-lint-ignore no-explicit-any
  state(): any;
  // deno-lint-ignore no-explicit-any
  patch(p: Record<string, any>): void;
  reset(): void;
}

export async function withCluster(
  // deno-lint-ignore no-explicit-any
  initial: Record<string, any>,
  fn: (c: Cluster) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-kubectl-" });
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/kubectl`,
    `#!/bin/sh\nexec "${Deno.execPath()}" run -A --no-config --no-lock --quiet "${FAKE}" "$@"\n`,
    { mode: 0o755 },
  );
  const statePath = `${dir}/state.json`;
  const logPath = `${dir}/argv.log`;
  await Deno.writeTextFile(statePath, JSON.stringify({ namespaces: ["default"], ...initial }));
  await Deno.writeTextFile(logPath, "");
  const env = {
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    FAKE_KUBE_STATE: statePath,
    FAKE_KUBECTL_LOG: logPath,
  };
  const c: Cluster = {
    dir,
    async run(args) {
      const io = captureIo(env);
      const code = await runKube(args, io);
      return { code, out: io.stdout(), err: io.stderr() };
    },
    calls: () =>
      Deno.readTextFileSync(logPath).split("\n").filter((l) => l !== "").map((l) =>
        JSON.parse(l) as string[]
      ),
    state: () => JSON.parse(Deno.readTextFileSync(statePath)),
    patch(p) {
      Deno.writeTextFileSync(statePath, JSON.stringify({ ...c.state(), ...p }));
    },
    reset: () => Deno.writeTextFileSync(logPath, ""),
  };
  try {
    await fn(c);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
