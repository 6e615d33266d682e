/** Runs a test body against a fresh real hub (testing/real_hub.ts) in a temporary directory. */
import { type RealHub, startRealHub } from "./real_hub.ts";
import { type CliRun, tempDir } from "./run.ts";

export async function withRealHub(
  opts: Parameters<typeof startRealHub>[1],
  f: (hub: RealHub, root: string) => Promise<void>,
): Promise<void> {
  const t = await tempDir();
  try {
    const hub = await startRealHub(`${t.path}/hub`, opts);
    try {
      await f(hub, t.path);
    } finally {
      await hub.close();
    }
  } finally {
    await t.cleanup();
  }
}

/** Throws with the command's output unless it exited 0. */
export function ok(r: CliRun): CliRun {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
