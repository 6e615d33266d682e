/** Test helper: a real hub whose admin_keys hold a keygen'd admin client, on a clock the test moves, restartable. */
import type { HubConfig } from "../../hub/mod.ts";
import { type RealHub, startRealHub } from "./real_hub.ts";
import { runCli, tempDir } from "./run.ts";

export interface AdminHub {
  /** The hub's data dir (what `--hub` takes). */
  hub: string;
  root: string;
  /** The admin client's directory and client_id. */
  admin: string;
  adminId: string;
  /** Hub time in seconds. */
  clock: { t: number };
  url(): string;
  /** One retention pass at the hub's clock. */
  retentionPass(): Promise<void>;
  /** `veen send --json` as client `dir` on `stream` with `body` (and further flags). */
  send(dir: string, stream: string, body?: string, ...more: string[]): ReturnType<typeof runCli>;
  /** A keygen'd client `ROOT/name`; returns its directory. */
  client(name: string): Promise<string>;
  /** Stops the hub and starts it again on the same data dir (after `between`, e.g. deleting views.kv). */
  restart(between?: () => Promise<void>): Promise<void>;
}

/** Runs `f` against such a hub (`config` adds hub settings); stops it and removes everything afterwards. */
export async function withAdminHub(
  f: (h: AdminHub) => Promise<void>,
  config: Partial<HubConfig> = {},
): Promise<void> {
  const t = await tempDir();
  const newClient = async (name: string) => {
    const dir = `${t.path}/${name}`;
    const r = await runCli(["keygen", "--out", dir]);
    if (r.code !== 0) throw new Error(`keygen failed: ${r.stderr}`);
    return dir;
  };
  let hub: RealHub | undefined;
  try {
    const admin = await newClient("admin");
    const adminId = (await runCli(["id", "show", "--client", admin, "--json"])).json().client_id as string;
    const clock = { t: Math.floor(Date.now() / 1000) };
    const dataDir = `${t.path}/hub`;
    const start = () =>
      startRealHub(dataDir, { config: { adminKeys: [adminId], ...config }, now: () => clock.t * 1000 });
    hub = await start();
    await f({
      hub: dataDir,
      root: t.path,
      admin,
      adminId,
      clock,
      url: () => hub!.url,
      retentionPass: () => hub!.retentionPass(),
      client: newClient,
      send: (dir, stream, body = "{}", ...more) =>
        runCli([
          "send",
          "--hub",
          dataDir,
          "--client",
          dir,
          "--stream",
          stream,
          "--body",
          body,
          "--json",
          ...more,
        ]),
      restart: async (between) => {
        await hub!.close();
        hub = undefined;
        await between?.();
        hub = await start();
      },
    });
  } finally {
    await hub?.close();
    await t.cleanup();
  }
}

/** Deletes `DIR/views.kv` and its SQLite side files (-wal, -shm): the next start rebuilds the views. */
export async function removeViews(dataDir: string): Promise<void> {
  for await (const e of Deno.readDir(dataDir)) {
    if (e.name.startsWith("views.kv")) await Deno.remove(`${dataDir}/${e.name}`);
  }
}
